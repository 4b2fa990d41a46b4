/* libFuzzer target for the reference parser: no crash, no leak, and the
 * properties NORMALIZATION.md promises: the raw parse gives its input back,
 * normalization is idempotent, and re-normalizing the familiar form gives the
 * same reference except where the doc (and 4.4 of it) says it cannot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
require(bool ok)
{
  if (!ok)
    abort();
}

static bool
ref_empty(const struct ref *r)
{
  return r->domain == NULL && r->path == NULL && r->tag == NULL && r->digest == NULL;
}

/* Three kinds of docker.io names familiarize into something that normalizes
 * differently: docker.io/library/<hex64> into an image ID, which is refused;
 * docker.io/localhost/x and docker.io/a.b/x into "localhost/x" and "a.b/x",
 * whose first component then reads as a domain. */
static bool
familiar_round_trips(const struct ref *r)
{
  const char *first_end;

  if (!str_eq(r->domain, "docker.io"))
    return true;
  if (str_has_prefix(r->path, "library/") && strchr(r->path + 8, '/') == NULL)
    return !(ref_is_identifier(r->path + 8) && r->tag == NULL && r->digest == NULL);
  first_end = strchr(r->path, '/');
  return !(first_end != NULL && (memchr(r->path, '.', (size_t)(first_end - r->path)) != NULL ||
                                 str_has_prefix(r->path, "localhost/")));
}

/* parse(string(r)) gives r's string again, and parse(familiar(r)) does
 * exactly when familiar_round_trips() says so. */
static void
check_stable(const struct ref *r, int (*parse)(const char *, struct ref *, struct error **))
{
  cleanup_free char *s = ref_string(r);
  cleanup_free char *f = ref_familiar(r);
  cleanup_ref struct ref again = {0};
  cleanup_ref struct ref back = {0};

  require(parse(s, &again, NULL) == 0);
  {
    cleanup_free char *s2 = ref_string(&again);
    require(strcmp(s, s2) == 0);
  }
  if (parse(f, &back, NULL) == 0) {
    cleanup_free char *s3 = ref_string(&back);
    require(familiar_round_trips(r) == (strcmp(s, s3) == 0));
  } else {
    require(!familiar_round_trips(r));
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  cleanup_free char *s = xstrndup((const char *)data, size);
  cleanup_ref struct ref raw = {0};
  cleanup_ref struct ref named = {0};
  cleanup_ref struct ref docker = {0};
  struct error *err = NULL;
  int rn, rd;

  /* Parse is lossless: the pieces put together are the input */
  if (ref_parse(s, &raw, &err) == 0) {
    cleanup_free char *back = ref_string(&raw);
    require(strcmp(back, s) == 0);
  } else {
    require(err != NULL && err->msg != NULL && ref_empty(&raw));
  }
  error_freep(&err);

  rn = ref_parse_normalized(s, &named, &err);
  error_freep(&err);
  rd = ref_parse_docker(s, &docker, &err);
  require(rn == rd);
  if (rd < 0) {
    require(err != NULL && ref_empty(&docker) && ref_empty(&named));
    require(ref_normalize(s, NULL) == NULL);
    error_freep(&err);
    return 0;
  }
  require(err == NULL);
  require(strlen(docker.path) <= 255);
  require((docker.tag == NULL) != (docker.digest == NULL));
  check_stable(&named, ref_parse_normalized);
  check_stable(&docker, ref_parse_docker);
  {
    cleanup_free char *once = ref_normalize(s, NULL);
    cleanup_free char *twice = NULL;
    require(once != NULL);
    twice = ref_normalize(once, NULL);
    require(twice != NULL && strcmp(once, twice) == 0);
  }
  return 0;
}
