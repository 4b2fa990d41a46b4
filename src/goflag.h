/* Go's flag package syntax, as ctr reads its command line (urfave/cli hands
 * each command's words to Go's FlagSet.Parse): one dash or two, a value after
 * the first '=' that is not the name's first character, parsing stops at the
 * first word that is not a flag or after "--". Pure: no I/O. */
#ifndef CTRX_GOFLAG_H
#define CTRX_GOFLAG_H

#include <stdbool.h>
#include <stddef.h>

enum goflag_kind {
  GOFLAG_NONE, /* not a flag ("x", "-", ""): the positionals start here */
  GOFLAG_END,  /* "--": the positionals start after it */
  GOFLAG_BAD,  /* "---x", "-=x", "--=x": Go's "bad flag syntax" */
  GOFLAG_FLAG, /* -name, --name, -name=value, --name=value */
};

struct goflag {
  const char *name;  /* points into the word, after the dashes */
  size_t len;        /* of the name, without "=value" */
  const char *value; /* after the '=', NULL without one */
};

/* What the word arg is, as Go's FlagSet.parseOne sees it; for GOFLAG_FLAG,
 * *f says which flag and its inline value. */
enum goflag_kind goflag_split(const char *arg, struct goflag *f);
/* "1 t T TRUE true True" and "0 f F FALSE false False", as Go's
 * strconv.ParseBool; -1 for anything else. */
int goflag_parse_bool(const char *s, bool *out);
/* name[0, len) is one of the space-separated words of list. */
bool goflag_name_in(const char *list, const char *name, size_t len);

#endif
