/* What the parts of the spec module (spec.c, spec_user.c, spec_host.c) share
 * and nothing else uses. */
#ifndef CTRX_SPEC_INTERNAL_H
#define CTRX_SPEC_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

/* process.user: uid, gid and additionalGids (gids owned, freed by
 * spec_user_release). */
struct spec_user {
  uint32_t uid, gid;
  uint32_t *gids;
  size_t n_gids;
};

void spec_user_release(struct spec_user *u);
#define cleanup_spec_user __attribute__((cleanup(spec_user_release)))

/* ctr's WithUserConfig (the image config's User, image_user, may be NULL)
 * and then WithUser/WithAdditionalGIDs for --user, against o->passwd and
 * o->group. *u starts zeroed. */
int spec_user_resolve(const struct spec_opts *o, const char *image_user, struct spec_user *u,
                      struct error **err);

/* process.user as runtime-spec JSON (a new reference). */
json_t *spec_user_json(const struct spec_user *u);

/* The next '\n'-terminated line of the NUL-terminated text at *p: false at
 * the end; else line and len give the line without its '\n', and *p moves
 * past it. */
bool spec_next_line(const char **p, const char **line, size_t *len);

#endif
