/* Docker image references: the grammar and normalization of
 * distribution/reference (ParseNormalizedNamed, ParseDockerRef,
 * FamiliarString). Pure: no I/O. */
#ifndef CTRX_REF_H
#define CTRX_REF_H

#include <stdbool.h>

#include "error.h"

struct ref {
  char *domain; /* "docker.io", "localhost:5000", "[::1]:5000"; "" when the
                 * name has none ("my_registry.com/foo", NORMALIZATION.md 4.4c) */
  char *path;   /* "library/nginx" */
  char *tag;    /* NULL when the reference has none */
  char *digest; /* "sha256:<hex>", NULL when none */
};

/* Parse: the grammar alone, no defaults ("a/b" is domain "a", path "b").
 * On failure *out is zeroed. */
int ref_parse(const char *s, struct ref *out, struct error **err);
/* ParseNormalizedNamed: adds docker.io and library/ where Docker does, keeps
 * both tag and digest, adds no tag. On failure returns -1 with a message that
 * says what is wrong (e.g. "repository name must be lowercase"). */
int ref_parse_normalized(const char *s, struct ref *out, struct error **err);
/* ParseDockerRef: normalized, then ":latest" when neither tag nor digest, and
 * only the digest when both are present. */
int ref_parse_docker(const char *s, struct ref *out, struct error **err);

/* Full string: domain/path[:tag][@digest]. Caller frees. */
char *ref_string(const struct ref *r);
/* Name without tag or digest: domain/path. Caller frees. */
char *ref_name(const struct ref *r);
/* FamiliarString: "nginx:latest", "bitnami/redis", "localhost:5000/app". Caller frees. */
char *ref_familiar(const struct ref *r);
/* FamiliarName: as ref_familiar without tag or digest. Caller frees. */
char *ref_familiar_name(const struct ref *r);
/* True when s is exactly 64 lower-case hex digits: an image ID, which
 * ref_parse_normalized refuses as a name. */
bool ref_is_identifier(const char *s);
/* Normalize s (as ref_parse_docker) into a newly allocated string. */
char *ref_normalize(const char *s, struct error **err);
/* Frees the fields and zeroes *r; NULL is fine. */
void ref_release(struct ref *r);
#define cleanup_ref __attribute__((cleanup(ref_release)))

#endif
