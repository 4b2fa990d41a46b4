/* Image references: each rule of NORMALIZATION.md at its boundary, the exact
 * error words, familiar forms, round trips and idempotence. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "util.h"

Suite *ref_suite(void);

/* Long inputs are written as templates: "{a*247}" is 247 'a's, "{hex:64}"
 * 64 lower-case hex digits, "{HEX:64}" 64 upper-case ones. */
static char *
expand(const char *t)
{
  struct buf b = BUF_INIT;

  buf_addstr(&b, "");
  while (*t) {
    const char *close;
    const char *digits = NULL;
    const char *alphabet = NULL;
    char c = 0;
    uint64_t n = 0;
    char *num;

    if (*t != '{' || (close = strchr(t, '}')) == NULL) {
      buf_add(&b, t++, 1);
      continue;
    }
    if (str_has_prefix(t, "{hex:")) {
      digits = t + 5;
      alphabet = "0123456789abcdef";
    } else if (str_has_prefix(t, "{HEX:")) {
      digits = t + 5;
      alphabet = "0123456789ABCDEF";
    } else if (t[1] != '\0' && t[2] == '*') {
      digits = t + 3;
      c = t[1];
    } else {
      buf_add(&b, t++, 1);
      continue;
    }
    num = xstrndup(digits, (size_t)(close - digits));
    ck_assert_int_eq(parse_uint64(num, 10, &n), 0);
    free(num);
    for (uint64_t i = 0; i < n; i++) {
      char ch = alphabet ? alphabet[(i * 7 + 3) % 16] : c;
      buf_add(&b, &ch, 1);
    }
    t = close + 1;
  }
  return buf_steal(&b);
}

/* ParseDockerRef. want is the normalized string, or NULL and err the whole
 * error message. */
static const struct {
  const char *in;
  const char *want;
  const char *err;
} docker_cases[] = {
    /* official images and the docker.io defaults */
    {"nginx", "docker.io/library/nginx:latest", NULL},
    {"nginx:alpine", "docker.io/library/nginx:alpine", NULL},
    {"nginx:latest", "docker.io/library/nginx:latest", NULL},
    {"library/nginx", "docker.io/library/nginx:latest", NULL},
    {"docker.io/nginx", "docker.io/library/nginx:latest", NULL},
    {"docker.io/library/nginx", "docker.io/library/nginx:latest", NULL},
    {"docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25", NULL},
    {"index.docker.io/nginx", "docker.io/library/nginx:latest", NULL},
    {"index.docker.io/library/nginx:1", "docker.io/library/nginx:1", NULL},
    {"index.docker.io/user/app", "docker.io/user/app:latest", NULL},
    {"user/app", "docker.io/user/app:latest", NULL},
    {"bitnami/redis:7.2", "docker.io/bitnami/redis:7.2", NULL},
    {"library/foo/bar", "docker.io/library/foo/bar:latest", NULL},
    {"docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", NULL},
    {"a/b/c/d", "docker.io/a/b/c/d:latest", NULL},
    {"docker.io/localhost/foo", "docker.io/localhost/foo:latest", NULL},
    {"docker.io/foo.bar/baz", "docker.io/foo.bar/baz:latest", NULL},
    {"docker.io/a_b.c/d:1", "docker.io/a_b.c/d:1", NULL},
    {"docker.io/library/a.b", "docker.io/library/a.b:latest", NULL},
    {"my_registry/foo", "docker.io/my_registry/foo:latest", NULL},
    /* other registries never get library/ */
    {"gcr.io/busybox", "gcr.io/busybox:latest", NULL},
    {"gcr.io/google-containers/pause:3.9", "gcr.io/google-containers/pause:3.9", NULL},
    {"registry.example.com/x:1", "registry.example.com/x:1", NULL},
    {"quay.io/library/foo", "quay.io/library/foo:latest", NULL},
    {"localhost/foo", "localhost/foo:latest", NULL},
    {"localhost/library/foo", "localhost/library/foo:latest", NULL},
    {"localhost:5000/foo", "localhost:5000/foo:latest", NULL},
    {"localhost:5000/foo/bar:tag", "localhost:5000/foo/bar:tag", NULL},
    {"127.0.0.1:5000/app", "127.0.0.1:5000/app:latest", NULL},
    {"999.999.999.999/x", "999.999.999.999/x:latest", NULL},
    {"foo:5000/bar", "foo:5000/bar:latest", NULL},
    {"host:0/x", "host:0/x:latest", NULL},
    {"host:99999999/x", "host:99999999/x:latest", NULL},
    {"ho-st.com/x", "ho-st.com/x:latest", NULL},
    {"ho--st.com/x", "ho--st.com/x:latest", NULL},
    {"a.b.c.d.e/x", "a.b.c.d.e/x:latest", NULL},
    {"1.com/x", "1.com/x:latest", NULL},
    {"docker.io:443/nginx", "docker.io:443/nginx:latest", NULL},
    {"registry-1.docker.io/nginx", "registry-1.docker.io/nginx:latest", NULL},
    {"index.docker.io:443/nginx", "index.docker.io:443/nginx:latest", NULL},
    {"DOCKER.IO/nginx", "DOCKER.IO/nginx:latest", NULL},
    /* without a '/', what looks like a host is an official image */
    {"localhost", "docker.io/library/localhost:latest", NULL},
    {"localhost:5000", "docker.io/library/localhost:5000", NULL},
    {"example.com:5000", "docker.io/library/example.com:5000", NULL},
    {"192.168.1.1:5000", "docker.io/library/192.168.1.1:5000", NULL},
    {"test.com", "docker.io/library/test.com:latest", NULL},
    {"localhost:8080@sha256:{hex:64}", "docker.io/library/localhost@sha256:{hex:64}", NULL},
    /* IPv6 */
    {"[::1]:5000/foo", "[::1]:5000/foo:latest", NULL},
    {"[::1]/foo", "[::1]/foo:latest", NULL},
    {"[fe80::1]:5000/x:y", "[fe80::1]:5000/x:y", NULL},
    {"[FE80::1]:5000/x", "[FE80::1]:5000/x:latest", NULL},
    {"[fd00123123123]:5000/x", "[fd00123123123]:5000/x:latest", NULL},
    /* no '.' or ':' in the brackets: not taken for a domain, then not a path */
    {"[fd00123123123]/x", NULL, "invalid reference format"},
    {"[2001:db8::1]:443/a/b", "[2001:db8::1]:443/a/b:latest", NULL},
    {"[::1]:5000/foo:bar@sha256:{hex:64}", "[::1]:5000/foo@sha256:{hex:64}", NULL},
    {"[::1]", NULL, "invalid reference format"},
    {"[::1]:5000", NULL, "invalid reference format"},
    {"::1/foo", NULL, "invalid reference format"},
    {"[::1%eth0]:5000/x", NULL, "invalid reference format"},
    {"[::ffff:1.2.3.4]/x", NULL, "invalid reference format"},
    {"[]/x", NULL, "invalid reference format"},
    {"[::g]/x", NULL, "invalid reference format"},
    {"[::1/x", NULL, "invalid reference format"},
    {"[::1]:/x", NULL, "invalid reference format"},
    /* ports and host labels */
    {"host:/x", NULL, "invalid reference format"},
    {"host:80a/x", NULL, "invalid reference format"},
    {"foo:bar/baz", NULL, "invalid reference format"},
    {"host:5000:6000/x", NULL, "invalid reference format"},
    {"-host.com/x", NULL, "invalid reference format"},
    {"host-.com/x", NULL, "invalid reference format"},
    {"host..com/x", NULL, "invalid reference format"},
    {".host.com/x", NULL, "invalid reference format"},
    {"host.com./x", NULL, "invalid reference format"},
    {"my_registry.com/foo", "my_registry.com/foo:latest", NULL},
    {"my_registry.com:5000/foo", NULL, "invalid reference format"},
    /* upper case: a domain when first, an error in the path */
    {"Foo/bar", "Foo/bar:latest", NULL},
    {"User/repo", "User/repo:latest", NULL},
    {"LOCALDOMAIN/x", "LOCALDOMAIN/x:latest", NULL},
    {"Uppercase/lowercase:tag", "Uppercase/lowercase:tag", NULL},
    {"foo/Bar", NULL, "invalid reference format: repository name (foo/Bar) must be lowercase"},
    {"Foo/Bar", NULL, "invalid reference format: repository name (Bar) must be lowercase"},
    {"Nginx", NULL, "invalid reference format: repository name (library/Nginx) must be lowercase"},
    {"NGINX:latest", NULL,
     "invalid reference format: repository name (library/NGINX) must be lowercase"},
    {"docker.io/Nginx", NULL,
     "invalid reference format: repository name (library/Nginx) must be lowercase"},
    {"localhost/Foo", NULL, "invalid reference format: repository name (Foo) must be lowercase"},
    {"nginx:LATEST", "docker.io/library/nginx:LATEST", NULL},
    {"nginx@SHA256:{hex:64}", NULL,
     "invalid reference format: repository name (library/nginx@SHA256) must be lowercase"},
    {"A_B/foo", NULL, "repository name must be lowercase"},
    {"EXAMPLE_X.com/foo", NULL, "repository name must be lowercase"},
    /* tags */
    {"nginx:{a*128}", "docker.io/library/nginx:{a*128}", NULL},
    {"nginx:{a*129}", NULL, "invalid reference format"},
    {"nginx:{A*128}", "docker.io/library/nginx:{A*128}", NULL},
    {"nginx:_tag", "docker.io/library/nginx:_tag", NULL},
    {"nginx:9", "docker.io/library/nginx:9", NULL},
    {"nginx:t-a.g_1", "docker.io/library/nginx:t-a.g_1", NULL},
    {"nginx:a..--__", "docker.io/library/nginx:a..--__", NULL},
    {"nginx:.tag", NULL, "invalid reference format"},
    {"nginx:-tag", NULL, "invalid reference format"},
    {"nginx:", NULL, "invalid reference format"},
    {"nginx:a:b", NULL, "invalid reference format"},
    {"nginx:a/b", NULL, "invalid reference format"},
    {"nginx:a+b", NULL, "invalid reference format"},
    {"nginx:t\xc3\xa4g", NULL, "invalid reference format"},
    {"localhost:5000/foo:{a*128}", "localhost:5000/foo:{a*128}", NULL},
    {"localhost:5000/foo:{a*129}", NULL, "invalid reference format"},
    /* digests */
    {"nginx@sha256:{hex:64}", "docker.io/library/nginx@sha256:{hex:64}", NULL},
    {"nginx:1.25@sha256:{hex:64}", "docker.io/library/nginx@sha256:{hex:64}", NULL},
    {"busybox:latest@sha256:{hex:64}", "docker.io/library/busybox@sha256:{hex:64}", NULL},
    {"gcr.io/a/b@sha256:{hex:64}", "gcr.io/a/b@sha256:{hex:64}", NULL},
    {"nginx@sha256:{hex:63}", NULL, "invalid checksum digest length"},
    {"nginx@sha256:{hex:65}", NULL, "invalid checksum digest length"},
    {"nginx@sha256:{hex:32}", NULL, "invalid checksum digest length"},
    {"nginx@sha256:{hex:31}", NULL, "invalid reference format"},
    {"nginx@sha256:{HEX:64}", NULL, "invalid checksum digest format"},
    {"nginx@sha256:{HEX:63}", NULL, "invalid checksum digest length"},
    {"nginx@sha384:{hex:96}", "docker.io/library/nginx@sha384:{hex:96}", NULL},
    {"nginx@sha384:{hex:64}", NULL, "invalid checksum digest length"},
    {"nginx@sha384:{hex:97}", NULL, "invalid checksum digest length"},
    {"nginx@sha512:{hex:128}", "docker.io/library/nginx@sha512:{hex:128}", NULL},
    {"nginx@sha512:{hex:127}", NULL, "invalid checksum digest length"},
    {"nginx@sha512:{HEX:128}", NULL, "invalid checksum digest format"},
    {"nginx@md5:{hex:32}", NULL, "unsupported digest algorithm"},
    {"nginx@sha256+b64:{hex:64}", NULL, "unsupported digest algorithm"},
    {"nginx@sha-256:{hex:64}", NULL, "invalid reference format"},
    {"nginx@a.b_c+d-e:{hex:64}", NULL, "unsupported digest algorithm"},
    {"nginx:1@SHA256:{hex:64}", NULL, "invalid checksum digest format"},
    {"nginx:1@Sha256:{hex:64}", NULL, "invalid checksum digest format"},
    {"nginx@sha256-:{hex:64}", NULL, "invalid reference format"},
    {"nginx@1sha256:{hex:64}", NULL, "invalid reference format"},
    {"nginx@sha256:{hex:64}g", NULL, "invalid reference format"},
    {"nginx@sha256:{hex:64}:", NULL, "invalid reference format"},
    {"nginx@", NULL, "invalid reference format"},
    {"nginx@sha256:", NULL, "invalid reference format"},
    {"nginx@@sha256:{hex:64}", NULL, "invalid reference format"},
    {"nginx@sha256:{hex:64}@sha256:{hex:64}", NULL, "invalid reference format"},
    {"@sha256:{hex:64}", NULL, "invalid reference format"},
    {"nginx@sha256:{hex:64}:tag", NULL, "invalid reference format"},
    /* the image-ID guard */
    {"{hex:64}", NULL,
     "invalid repository name ({hex:64}), cannot specify 64-byte hexadecimal strings"},
    {"{hex:63}", "docker.io/library/{hex:63}:latest", NULL},
    {"{hex:65}", "docker.io/library/{hex:65}:latest", NULL},
    {"{HEX:64}", NULL,
     "invalid reference format: repository name (library/{HEX:64}) must be lowercase"},
    {"{hex:64}:latest", "docker.io/library/{hex:64}:latest", NULL},
    {"docker.io/{hex:64}", "docker.io/library/{hex:64}:latest", NULL},
    {"library/{hex:64}", "docker.io/library/{hex:64}:latest", NULL},
    {"sha256:{hex:64}", "docker.io/library/sha256:{hex:64}", NULL},
    /* 255 characters of path, the domain not counted */
    {"{a*247}", "docker.io/library/{a*247}:latest", NULL},
    {"{a*248}", NULL, "repository name must not be more than 255 characters"},
    {"library/{a*247}", "docker.io/library/{a*247}:latest", NULL},
    {"library/{a*248}", NULL, "repository name must not be more than 255 characters"},
    {"docker.io/{a*247}", "docker.io/library/{a*247}:latest", NULL},
    {"foo/{a*251}", "docker.io/foo/{a*251}:latest", NULL},
    {"foo/{a*252}", NULL, "repository name must not be more than 255 characters"},
    {"example.com/{a*255}", "example.com/{a*255}:latest", NULL},
    {"example.com/{a*256}", NULL, "repository name must not be more than 255 characters"},
    {"example.com/{a*255}:{b*128}", "example.com/{a*255}:{b*128}", NULL},
    {"{a*248}:{b*129}", NULL, "invalid reference format"},
    /* path components and their separators */
    {"a", "docker.io/library/a:latest", NULL},
    {"0", "docker.io/library/0:latest", NULL},
    {"a.b", "docker.io/library/a.b:latest", NULL},
    {"a_b", "docker.io/library/a_b:latest", NULL},
    {"a__b", "docker.io/library/a__b:latest", NULL},
    {"a-b", "docker.io/library/a-b:latest", NULL},
    {"a--b", "docker.io/library/a--b:latest", NULL},
    {"a-----b", "docker.io/library/a-----b:latest", NULL},
    {"a.b_c__d-e--f", "docker.io/library/a.b_c__d-e--f:latest", NULL},
    {"a/b_c/d__e/f-g/h.i", "docker.io/a/b_c/d__e/f-g/h.i:latest", NULL},
    {"a___b", NULL, "invalid reference format"},
    {"foo___bar", NULL, "invalid reference format"},
    {"a..b", NULL, "invalid reference format"},
    {"a._b", NULL, "invalid reference format"},
    {"a_.b", NULL, "invalid reference format"},
    {"a_-b", NULL, "invalid reference format"},
    {"a-_b", NULL, "invalid reference format"},
    {"a.-b", NULL, "invalid reference format"},
    {"a-.b", NULL, "invalid reference format"},
    {"_a", NULL, "invalid reference format"},
    {"a_", NULL, "invalid reference format"},
    {".a", NULL, "invalid reference format"},
    {"a.", NULL, "invalid reference format"},
    {"-a", NULL, "invalid reference format"},
    {"a-", NULL, "invalid reference format"},
    {"a/-b", NULL, "invalid reference format"},
    {"a/b-", NULL, "invalid reference format"},
    {"a//b", NULL, "invalid reference format"},
    {"/a", NULL, "invalid reference format"},
    {"a/", NULL, "invalid reference format"},
    {"/", NULL, "invalid reference format"},
    {"localhost/", NULL, "invalid reference format"},
    {"gcr.io/a//b", NULL, "invalid reference format"},
    /* empty, blanks and other bytes */
    {"", NULL, "invalid reference format"},
    {" ", NULL, "invalid reference format"},
    {"nginx ", NULL, "invalid reference format"},
    {" nginx", NULL, "invalid reference format"},
    {"nginx\n", NULL, "invalid reference format"},
    {"nginx:1\n", NULL, "invalid reference format"},
    {"ng inx", NULL, "invalid reference format"},
    {":", NULL, "invalid reference format"},
    {":tag", NULL, "invalid reference format"},
    {"@", NULL, "invalid reference format"},
    {"a@b", NULL, "invalid reference format"},
    {"nginx\xc3\xa9", NULL, "invalid reference format"},
    {"\xc3\xa9/foo", NULL, "invalid reference format"},
    {"nginx\xc3\x89", NULL,
     "invalid reference format: repository name (library/nginx\xc3\x89) must be lowercase"},
    {"nginx\xff", NULL,
     "invalid reference format: repository name (library/nginx\xff) must be lowercase"},
    {"\xc4\xb0/foo", NULL, "repository name must be lowercase"},
    {"\xe2\x84\xaa/foo", NULL, "repository name must be lowercase"},
};

static void
check_error(struct error *err, const char *want)
{
  cleanup_free char *msg = expand(want);

  ck_assert_ptr_nonnull(err);
  ck_assert_str_eq(err->msg, msg);
  ck_assert_int_eq(err->code, ERR_INVALID);
}

START_TEST(test_docker)
{
  cleanup_free char *in = expand(docker_cases[_i].in);
  cleanup_ref struct ref r = {0};
  struct error *err = NULL;
  int rv = ref_parse_docker(in, &r, &err);

  if (docker_cases[_i].want) {
    cleanup_free char *want = expand(docker_cases[_i].want);
    cleanup_free char *got = NULL;
    cleanup_free char *again = NULL;

    ck_assert_msg(rv == 0, "%s: %s", in, err ? err->msg : "?");
    got = ref_string(&r);
    ck_assert_str_eq(got, want);
    /* exactly one of tag and digest */
    ck_assert((r.tag == NULL) != (r.digest == NULL));
    ck_assert_ptr_nonnull(r.domain);
    ck_assert_ptr_nonnull(r.path);
    /* idempotent on its own output */
    again = ref_normalize(got, &err);
    ck_assert_ptr_nonnull(again);
    ck_assert_str_eq(again, got);
  } else {
    ck_assert_msg(rv == -1, "%s: accepted", in);
    check_error(err, docker_cases[_i].err);
    ck_assert_ptr_null(r.domain);
    ck_assert_ptr_null(r.path);
    ck_assert_ptr_null(r.tag);
    ck_assert_ptr_null(r.digest);
  }
  error_free(err);
}
END_TEST

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

/* The indices of the docker_cases that parse: the round trips run over
 * these alone (test_docker checks the refusals), so that each of their
 * iterations asserts something. */
static size_t accepted[ARRAY_SIZE(docker_cases)];
static int n_accepted;

START_TEST(test_docker_round_trip)
{
  size_t c = accepted[_i];
  cleanup_free char *in = expand(docker_cases[c].in);
  cleanup_ref struct ref r = {0};
  cleanup_ref struct ref n = {0};
  cleanup_free char *full = NULL;
  cleanup_free char *familiar = NULL;
  cleanup_free char *back = NULL;
  cleanup_free char *named = NULL;
  cleanup_free char *named_back = NULL;

  ck_assert_ptr_nonnull(docker_cases[c].want);
  ck_assert_int_eq(ref_parse_docker(in, &r, NULL), 0);
  full = ref_string(&r);
  familiar = ref_familiar(&r);
  back = ref_normalize(familiar, NULL);
  if (familiar_round_trips(&r)) {
    ck_assert_msg(back != NULL, "%s -> %s does not parse", full, familiar);
    ck_assert_str_eq(back, full);
  } else {
    ck_assert(back == NULL || strcmp(back, full) != 0);
  }

  /* the same through ParseNormalizedNamed, which keeps tag+digest and adds
   * no tag */
  ck_assert_int_eq(ref_parse_normalized(in, &n, NULL), 0);
  named = ref_familiar(&n);
  if (familiar_round_trips(&n)) {
    cleanup_ref struct ref again = {0};
    cleanup_free char *s1 = ref_string(&n);
    ck_assert_int_eq(ref_parse_normalized(named, &again, NULL), 0);
    named_back = ref_string(&again);
    ck_assert_str_eq(named_back, s1);
  }
}
END_TEST

/* ParseNormalizedNamed: defaults, but tag and digest as given. */
static const struct {
  const char *in;
  const char *domain, *path, *tag, *digest;
} normalized_cases[] = {
    {"nginx", "docker.io", "library/nginx", NULL, NULL},
    {"nginx:1", "docker.io", "library/nginx", "1", NULL},
    {"nginx@sha256:{hex:64}", "docker.io", "library/nginx", NULL, "sha256:{hex:64}"},
    {"nginx:1@sha256:{hex:64}", "docker.io", "library/nginx", "1", "sha256:{hex:64}"},
    {"user/app", "docker.io", "user/app", NULL, NULL},
    {"index.docker.io/user/app:v2", "docker.io", "user/app", "v2", NULL},
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL},
    {"localhost:5000/a/b", "localhost:5000", "a/b", NULL, NULL},
    {"[::1]:5000/foo:bar@sha256:{hex:64}", "[::1]:5000", "foo", "bar", "sha256:{hex:64}"},
    {"my_registry.com/foo", "", "my_registry.com/foo", NULL, NULL},
    {"my_registry.com/foo:1", "", "my_registry.com/foo", "1", NULL},
    {"Foo/bar", "Foo", "bar", NULL, NULL},
    {"sha256:{hex:64}", "docker.io", "library/sha256", "{hex:64}", NULL},
    {"docker.io:443/nginx", "docker.io:443", "nginx", NULL, NULL},
};

static void
assert_field(const char *got, const char *tmpl)
{
  cleanup_free char *want = NULL;

  if (tmpl == NULL) {
    ck_assert_ptr_null(got);
    return;
  }
  want = expand(tmpl);
  ck_assert_ptr_nonnull(got);
  ck_assert_str_eq(got, want);
}

START_TEST(test_normalized)
{
  cleanup_free char *in = expand(normalized_cases[_i].in);
  cleanup_ref struct ref r = {0};
  struct error *err = NULL;

  ck_assert_msg(ref_parse_normalized(in, &r, &err) == 0, "%s: %s", in, err ? err->msg : "");
  assert_field(r.domain, normalized_cases[_i].domain);
  assert_field(r.path, normalized_cases[_i].path);
  assert_field(r.tag, normalized_cases[_i].tag);
  assert_field(r.digest, normalized_cases[_i].digest);
}
END_TEST

/* Parse: the grammar alone. */
static const struct {
  const char *in;
  const char *domain, *path, *tag, *digest;
  const char *err;
} raw_cases[] = {
    {"a/a/a", "a", "a/a", NULL, NULL, NULL},
    {"nginx", "", "nginx", NULL, NULL, NULL},
    {"test.com:5000", "", "test.com", "5000", NULL, NULL},
    {"test.com/x:5000", "test.com", "x", "5000", NULL, NULL},
    {"my_registry.com/foo", "", "my_registry.com/foo", NULL, NULL, NULL},
    {"localhost:5000/x:y@sha256:{hex:64}", "localhost:5000", "x", "y", "sha256:{hex:64}", NULL},
    {"Foo/bar", "Foo", "bar", NULL, NULL, NULL},
    {"[::1]/x", "[::1]", "x", NULL, NULL, NULL},
    {"[fd00123123123]/x", "[fd00123123123]", "x", NULL, NULL, NULL},
    {"{a*256}", NULL, NULL, NULL, NULL, "repository name must not be more than 255 characters"},
    {"example.com/{a*255}", "example.com", "{a*255}", NULL, NULL, NULL},
    {"", NULL, NULL, NULL, NULL, "repository name must have at least one component"},
    {"Foo", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {"foo/Bar", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {"foo/bar:tag@SHA256:{hex:64}", NULL, NULL, NULL, NULL, "invalid checksum digest format"},
    {"Foo/Bar", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {"foo bar", NULL, NULL, NULL, NULL, "invalid reference format"},
    {"foo@sha512:{hex:128}", "", "foo", NULL, "sha512:{hex:128}", NULL},
};

START_TEST(test_raw)
{
  cleanup_free char *in = expand(raw_cases[_i].in);
  cleanup_ref struct ref r = {0};
  struct error *err = NULL;
  int rv = ref_parse(in, &r, &err);

  if (raw_cases[_i].err) {
    ck_assert_int_eq(rv, -1);
    check_error(err, raw_cases[_i].err);
    error_free(err);
    return;
  }
  ck_assert_msg(rv == 0, "%s: %s", in, err ? err->msg : "");
  assert_field(r.domain, raw_cases[_i].domain);
  assert_field(r.path, raw_cases[_i].path);
  assert_field(r.tag, raw_cases[_i].tag);
  assert_field(r.digest, raw_cases[_i].digest);
}
END_TEST

/* FamiliarString and FamiliarName of the ParseNormalizedNamed result. */
static const struct {
  const char *in;
  const char *familiar;
  const char *familiar_name;
} familiar_cases[] = {
    {"nginx", "nginx", "nginx"},
    {"nginx:latest", "nginx:latest", "nginx"},
    {"docker.io/library/nginx:latest", "nginx:latest", "nginx"},
    {"docker.io/user/app", "user/app", "user/app"},
    {"docker.io/library/foo/bar", "library/foo/bar", "library/foo/bar"},
    {"docker.io:443/nginx", "docker.io:443/nginx", "docker.io:443/nginx"},
    {"localhost/foo", "localhost/foo", "localhost/foo"},
    {"localhost:5000/app:v1", "localhost:5000/app:v1", "localhost:5000/app"},
    {"Foo/bar", "Foo/bar", "Foo/bar"},
    {"busybox:latest@sha256:{hex:64}", "busybox:latest@sha256:{hex:64}", "busybox"},
    {"index.docker.io/library/nginx@sha256:{hex:64}", "nginx@sha256:{hex:64}", "nginx"},
    {"my_registry.com/foo", "my_registry.com/foo", "my_registry.com/foo"},
    {"[::1]:5000/foo:bar", "[::1]:5000/foo:bar", "[::1]:5000/foo"},
    {"gcr.io/library/busybox", "gcr.io/library/busybox", "gcr.io/library/busybox"},
    {"docker.io/localhost/foo", "localhost/foo", "localhost/foo"},
    {"docker.io/foo.bar/baz:1", "foo.bar/baz:1", "foo.bar/baz"},
    {"docker.io/library/a.b", "a.b", "a.b"},
    {"docker.io/{hex:64}", "{hex:64}", "{hex:64}"},
    {"library/libraryx", "libraryx", "libraryx"},
};

START_TEST(test_familiar)
{
  cleanup_free char *in = expand(familiar_cases[_i].in);
  cleanup_free char *want = expand(familiar_cases[_i].familiar);
  cleanup_free char *want_name = expand(familiar_cases[_i].familiar_name);
  cleanup_ref struct ref r = {0};
  cleanup_free char *got = NULL;
  cleanup_free char *got_name = NULL;

  ck_assert_int_eq(ref_parse_normalized(in, &r, NULL), 0);
  got = ref_familiar(&r);
  got_name = ref_familiar_name(&r);
  ck_assert_str_eq(got, want);
  ck_assert_str_eq(got_name, want_name);
}
END_TEST

START_TEST(test_names_and_helpers)
{
  cleanup_ref struct ref r = {0};
  cleanup_free char *name = NULL;
  cleanup_free char *hex = expand("{hex:64}");
  cleanup_free char *hex_upper = expand("{HEX:64}");
  struct error *err = NULL;
  char *s;

  ck_assert_int_eq(ref_parse_docker("my_registry.com/foo", &r, NULL), 0);
  name = ref_name(&r);
  ck_assert_str_eq(name, "my_registry.com/foo");
  ck_assert_str_eq(r.domain, "");

  ck_assert(ref_is_identifier(hex));
  ck_assert(!ref_is_identifier(hex_upper));
  ck_assert(!ref_is_identifier(""));
  ck_assert(!ref_is_identifier("abc"));

  s = ref_normalize("nginx", &err);
  ck_assert_str_eq(s, "docker.io/library/nginx:latest");
  free(s);
  ck_assert_ptr_null(ref_normalize("Nginx", &err));
  ck_assert_ptr_nonnull(err);
  error_free(err);
  ck_assert_ptr_null(ref_normalize("Nginx", NULL));

  ref_release(NULL);
}
END_TEST

Suite *
ref_suite(void)
{
  Suite *s = suite_create("ref");
  TCase *tc = tcase_create("ref");

  tcase_add_loop_test(tc, test_docker, 0, ARRAY_SIZE(docker_cases));
  n_accepted = 0;
  for (size_t i = 0; i < ARRAY_SIZE(docker_cases); i++)
    if (docker_cases[i].want != NULL)
      accepted[n_accepted++] = i;
  tcase_add_loop_test(tc, test_docker_round_trip, 0, n_accepted);
  tcase_add_loop_test(tc, test_normalized, 0, ARRAY_SIZE(normalized_cases));
  tcase_add_loop_test(tc, test_raw, 0, ARRAY_SIZE(raw_cases));
  tcase_add_loop_test(tc, test_familiar, 0, ARRAY_SIZE(familiar_cases));
  tcase_add_test(tc, test_names_and_helpers);
  suite_add_tcase(s, tc);
  return s;
}
