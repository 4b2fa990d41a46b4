/* The image documents: index, manifest and config, and platform choice. */
#include <check.h>

#include "image.h"
#include "spec.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

struct doc_case {
  const char *json;
  int rv;          /* 0 or -1 */
  const char *why; /* part of the error when -1 */
  size_t n;        /* children / layers when 0 */
};

static const struct doc_case indexes[] = {
    {"{\"manifests\":[]}", 0, NULL, 0},
    {"{\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" D1 "\",\"size\":5,\"platform\":{"
     "\"os\":\"linux\",\"architecture\":\"amd64\"}},{\"digest\":\"" D2 "\",\"size\":0}]}",
     0, NULL, 2},
    {"", -1, "malformed JSON", 0},
    {"[]", -1, "not a JSON object", 0},
    {"{}", -1, "no manifests", 0},
    {"{\"manifests\":{}}", -1, "no manifests", 0},
    {"{\"manifests\":[],\"layers\":[]}", -1, "as a manifest would", 0},
    {"{\"manifests\":[],\"config\":{}}", -1, "as a manifest would", 0},
    {"{\"manifests\":[1]}", -1, "not a descriptor", 0},
    {"{\"manifests\":[{\"digest\":\"sha256:abc\",\"size\":1}]}", -1, "valid digest", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\"}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":\"5\"}]}", -1, "size", 0},
    {"{\"manifests\":[{\"digest\":5,\"size\":5}]}", -1, "valid digest", 0},
};

START_TEST(index_shapes)
{
  const struct doc_case *c = &indexes[_i];
  struct image_index ix = {0};
  struct error *err = NULL;
  int rv = image_parse_index(c->json, strlen(c->json), &ix, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0)
    ck_assert_uint_eq(ix.n, c->n);
  else
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  image_index_release(&ix);
  error_free(err);
}
END_TEST

static const struct doc_case manifests[] = {
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[]}", 0, NULL, 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[{\"digest\":\"" D2
     "\",\"size\":9},{\"digest\":\"" D3 "\",\"size\":1}]}",
     0, NULL, 2},
    {"{\"layers\":[]}", -1, "not a descriptor", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3}}", -1, "no layers", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[],\"manifests\":[]}", -1,
     "as an index would", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[{\"size\":1}]}", -1,
     "valid digest", 0},
    {"{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[\"x\"]}", -1, "not a descriptor",
     0},
    {"not json", -1, "malformed JSON", 0},
};

START_TEST(manifest_shapes)
{
  const struct doc_case *c = &manifests[_i];
  struct image_manifest m = {0};
  struct error *err = NULL;
  int rv = image_parse_manifest(c->json, strlen(c->json), &m, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0) {
    ck_assert_uint_eq(m.n_layers, c->n);
    ck_assert_str_eq(m.config.digest, D1);
  } else {
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  }
  image_manifest_release(&m);
  error_free(err);
}
END_TEST

static const struct doc_case configs[] = {
    {"{\"rootfs\":{\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}", 0, NULL, 2},
    {"{\"rootfs\":{\"type\":\"layers\"}}", 0, NULL, 0},
    {"{}", 0, NULL, 0},
    {"{\"rootfs\":{\"diff_ids\":\"x\"}}", -1, "not a list", 0},
    {"{\"rootfs\":{\"diff_ids\":[3]}}", -1, "not a digest", 0},
    {"{\"rootfs\":{\"diff_ids\":[\"sha256:zz\"]}}", -1, "not a digest", 0},
    {"\"text\"", -1, "malformed JSON", 0},
};

START_TEST(config_shapes)
{
  const struct doc_case *c = &configs[_i];
  struct strv ids = STRV_INIT;
  struct error *err = NULL;
  int rv = image_parse_config(c->json, strlen(c->json), &ids, &err);

  ck_assert_msg(rv == c->rv, "%s: %d %s", c->json, rv, err ? err->msg : "");
  if (rv == 0)
    ck_assert_uint_eq(ids.n, c->n);
  else
    ck_assert_msg(strstr(err->msg, c->why) != NULL, "%s: %s", c->json, err->msg);
  strv_release(&ids);
  error_free(err);
}
END_TEST

/* containerd's manifest limit, stated here and not taken from the code under
 * test: MaxManifestSize = 4 * 1048 * 1048 in containerd's
 * remotes/docker/resolver.go (1.6 and later; "1048", not 1024, upstream). */
#define CONTAINERD_MAX_MANIFEST 4393216u

/* A valid document of exactly n bytes: the JSON, then spaces. */
static char *
padded(const char *json, size_t n)
{
  char *b = xmalloc(n);

  memset(b, ' ', n);
  memcpy(b, json, strlen(json));
  return b;
}

/* Each kind at exactly the limit parses; one byte more is refused. */
START_TEST(document_limits)
{
  static const char *const docs[] = {
      "{\"manifests\":[]}",
      "{\"config\":{\"digest\":\"" D1 "\",\"size\":3},\"layers\":[]}",
      "{\"rootfs\":{\"diff_ids\":[]}}",
  };
  for (size_t n = CONTAINERD_MAX_MANIFEST; n <= CONTAINERD_MAX_MANIFEST + 1; n++) {
    char *doc = padded(docs[_i], n);
    struct image_index ix = {0};
    struct image_manifest m = {0};
    struct strv ids = STRV_INIT;
    struct error *err = NULL;
    int rv = _i == 0   ? image_parse_index(doc, n, &ix, &err)
             : _i == 1 ? image_parse_manifest(doc, n, &m, &err)
                       : image_parse_config(doc, n, &ids, &err);

    if (n == CONTAINERD_MAX_MANIFEST) {
      ck_assert_msg(rv == 0, "%zu bytes: %s", n, err ? err->msg : "");
    } else {
      ck_assert_int_eq(rv, -1);
      ck_assert(error_is(err, ERR_EXHAUSTED));
      ck_assert_msg(strstr(err->msg, "over the 4393216 byte limit") != NULL, "%s", err->msg);
    }
    image_index_release(&ix);
    image_manifest_release(&m);
    strv_release(&ids);
    error_free(err);
    free(doc);
  }
}
END_TEST

/* A config pull accepts, run accepts too: one between 4 MiB and containerd's
 * limit used to pull and then fail in the spec. */
START_TEST(config_that_pulls_also_runs)
{
  size_t n = CONTAINERD_MAX_MANIFEST;
  char *doc = padded("{\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"diff_ids\":[]}}", n);
  struct strv ids = STRV_INIT;
  struct spec_opts o;
  struct error *err = NULL;
  char *json = NULL;

  ck_assert_int_gt(n, 4u * 1024u * 1024u);
  ck_assert_int_eq(image_parse_config(doc, n, &ids, &err), 0);
  memset(&o, 0, sizeof(o));
  o.ns = "default";
  o.id = "c1";
  o.image_config = doc;
  o.image_config_len = n;
  o.host_hostname = "h";
  ck_assert_msg(spec_build(&o, &json, &err) == 0, "%s", err ? err->msg : "");
  free(json);
  strv_release(&ids);
  free(doc);
}
END_TEST

/* Digests as containerd (go-digest) validates them: a known algorithm and
 * exactly its length of lowercase hex. Checked directly and through a
 * descriptor, since every descriptor a registry or mirror sends goes there. */
struct digest_case {
  const char *digest;
  bool valid;
};

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct digest_case digests[] = {
    {"sha256:" HEX64, true},
    {"sha256:" HEX64 "0", false},   /* 65 digits */
    {"sha256:" HEX64 HEX64, false}, /* 128 digits on sha256 */
    {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false}, /* 63 */
    {"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false},
    {"sha256:0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef", false},
    {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde ", false},
    {"sha256:" HEX64 "\n", false},
    {"sha512:" HEX64 HEX64, true},
    {"sha512:" HEX64, false},
    {"sha512:" HEX64 HEX64 "0", false},
    {"sha384:" HEX64 "0123456789abcdef0123456789abcdef", true},
    {"SHA256:" HEX64, false},
    {"md5:0123456789abcdef0123456789abcdef", false},
    {"sha256+b64u:" HEX64, false}, /* the OCI grammar allows it; containerd does not know it */
    {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TUBDTeT4WhAP9BJvJ5p", false},
    {"sha256:", false},
    {"sha256", false},
    {":" HEX64, false},
    {HEX64, false},
    {"", false},
};

START_TEST(digest_grammar)
{
  const struct digest_case *c = &digests[_i];
  cleanup_free char *doc =
      xasprintf("{\"config\":{\"digest\":\"%s\",\"size\":3},\"layers\":[]}", c->digest);
  struct image_manifest m = {0};
  struct error *err = NULL;

  ck_assert_msg(oci_digest_valid(c->digest) == c->valid, "%s", c->digest);
  ck_assert_msg((image_parse_manifest(doc, strlen(doc), &m, &err) == 0) == c->valid, "%s",
                c->digest);
  image_manifest_release(&m);
  error_free(err);
}
END_TEST

struct plat_case {
  const char *want, *os, *arch, *variant;
  bool match;
};

static const struct plat_case plats[] = {
    {"linux/amd64", "linux", "amd64", NULL, true},
    {"linux/amd64", "linux", "arm64", NULL, false},
    {"linux/amd64", "windows", "amd64", NULL, false},
    {"linux/arm64/v8", "linux", "arm64", NULL, true},
    {"linux/arm64", "linux", "arm64", "v8", true},
    {"linux/arm64/v8", "linux", "arm64", "v9", false},
    {"linux/arm/v7", "linux", "arm", "v7", true},
    {"linux/arm/v7", "linux", "arm", "v6", true},
    {"linux/arm/v6", "linux", "arm", "v7", false},
    {"linux/arm/v7", "linux", "arm", NULL, true},
    {"linux", "linux", "amd64", NULL, false},
    {"linux/amd64", NULL, "amd64", NULL, false},
};

START_TEST(platforms)
{
  const struct plat_case *c = &plats[_i];
  ck_assert_msg(image_platform_matches(c->want, c->os, c->arch, c->variant) == c->match, "%s",
                c->want);
}
END_TEST

START_TEST(select_child)
{
  const char *doc =
      "{\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1},"
      "{\"digest\":\"" D2 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
      "\"arm64\"}},"
      "{\"digest\":\"" D3 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
      "\"amd64\"}}]}";
  struct image_index ix = {0};

  ck_assert_int_eq(image_parse_index(doc, strlen(doc), &ix, NULL), 0);
  ck_assert_int_eq(image_index_select(&ix, "linux/amd64"), 2);
  ck_assert_int_eq(image_index_select(&ix, "linux/arm64/v8"), 1);
  ck_assert_int_eq(image_index_select(&ix, "linux/s390x"), -1);
  image_index_release(&ix);
}
END_TEST

/* A nested index without a platform is followed when no child matches (as
 * containerd keeps it and sorts it last); a manifest without one is not. */
START_TEST(select_nested_index)
{
  const char *doc = "{\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                    "\"digest\":\"" D1 "\",\"size\":1},"
                    "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" D2
                    "\",\"size\":1},"
                    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3
                    "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
  struct image_index ix = {0};

  ck_assert_int_eq(image_parse_index(doc, strlen(doc), &ix, NULL), 0);
  ck_assert_int_eq(image_index_select(&ix, "linux/arm64"), 2);
  ck_assert_int_eq(image_index_select(&ix, "linux/amd64"), 1);
  image_index_release(&ix);
}
END_TEST

/* Platform choice over indexes, for hosts of every kind: containerd's
 * platforms.Only (compare.go platformVector, database.go normalizeArch). Each
 * index lists "os/arch[/variant][@os.version]" entries; "-" is a child
 * without a platform. pick is the child chosen, -1 none. */
struct select_case {
  const char *host;
  const char *children[6];
  ssize_t pick;
};

static const struct select_case selects[] = {
    /* exact matches */
    {"linux/amd64", {"linux/arm64", "linux/amd64"}, 1},
    {"linux/arm/v7", {"linux/arm/v6", "linux/arm/v7"}, 1},
    {"linux/arm/v6", {"linux/arm/v7", "linux/arm/v6"}, 1},
    /* an older arm variant runs on a newer arm; never the other way */
    {"linux/arm/v7", {"linux/arm/v6"}, 0},
    {"linux/arm/v7", {"linux/arm/v5", "linux/arm/v6"}, 1},
    {"linux/arm/v6", {"linux/arm/v7"}, -1},
    {"linux/arm/v5", {"linux/arm/v6", "linux/arm/v7"}, -1},
    /* arm without a variant is v7, for the host and for the child */
    {"linux/arm", {"linux/arm/v6", "linux/arm/v7"}, 1},
    {"linux/arm/v7", {"linux/arm"}, 0},
    {"linux/arm/v6", {"linux/arm"}, -1},
    {"linux/arm/7", {"linux/arm/v7"}, 0},
    {"linux/armhf", {"linux/arm/v6", "linux/arm/v7"}, 1},
    {"linux/armel", {"linux/arm/v7", "linux/arm/v6"}, 1},
    /* arm64 implies v8, and runs 32-bit arm v8 … v5 after it */
    {"linux/arm64", {"linux/arm64/v8"}, 0},
    {"linux/arm64/v8", {"linux/arm64"}, 0},
    {"linux/aarch64", {"linux/arm64"}, 0},
    {"linux/arm64/v8", {"linux/arm/v7", "linux/arm64"}, 1},
    {"linux/arm64/v8", {"linux/arm/v6", "linux/arm/v7"}, 1},
    {"linux/arm64/v8", {"linux/arm64/v9"}, -1},
    {"linux/arm64/v9", {"linux/arm64/v8"}, -1},
    /* amd64: variants down to v1, then 386 */
    {"linux/amd64", {"linux/386"}, 0},
    {"linux/amd64", {"linux/386", "linux/amd64"}, 1},
    {"linux/amd64/v3", {"linux/amd64/v2", "linux/amd64/v3", "linux/386"}, 1},
    {"linux/amd64/v3", {"linux/386", "linux/amd64/v2"}, 1},
    {"linux/amd64/v2", {"linux/amd64/v3"}, -1},
    {"linux/x86_64", {"linux/amd64"}, 0},
    {"linux/386", {"linux/amd64"}, -1},
    /* os must match; case does not matter; os.version does not count on Linux */
    {"linux/amd64", {"windows/amd64", "linux/amd64"}, 1},
    {"linux/amd64", {"windows/amd64"}, -1},
    {"linux/amd64", {"Linux/AMD64"}, 0},
    {"linux/amd64", {"linux/amd64@10.0.17763"}, 0},
    {"darwin/arm64", {"macos/arm64"}, 0},
    /* children without a platform are not chosen; first of equals wins */
    {"linux/amd64", {"-", "linux/amd64"}, 1},
    {"linux/amd64", {"-"}, -1},
    {"linux/amd64", {"linux/amd64", "linux/amd64"}, 0},
    {"linux/s390x", {"linux/amd64", "linux/arm64"}, -1},
};

START_TEST(select_by_platform)
{
  const struct select_case *c = &selects[_i];
  struct buf doc = BUF_INIT;
  struct image_index ix = {0};
  struct error *err = NULL;

  buf_addstr(&doc, "{\"manifests\":[");
  for (size_t i = 0; i < ARRAY_SIZE(c->children) && c->children[i]; i++) {
    cleanup_free char *p = xstrdup(c->children[i]);
    char *ver = strchr(p, '@');
    char *arch = strchr(p, '/');
    char *variant = arch ? strchr(arch + 1, '/') : NULL;

    buf_addf(&doc, "%s{\"digest\":\"sha256:%064zx\",\"size\":1", i ? "," : "", i);
    if (ver)
      *ver++ = '\0';
    if (variant)
      *variant++ = '\0';
    if (arch) {
      *arch++ = '\0';
      buf_addf(&doc, ",\"platform\":{\"os\":\"%s\",\"architecture\":\"%s\"", p, arch);
      if (variant)
        buf_addf(&doc, ",\"variant\":\"%s\"", variant);
      if (ver)
        buf_addf(&doc, ",\"os.version\":\"%s\"", ver);
      buf_addstr(&doc, "}");
    }
    buf_addstr(&doc, "}");
  }
  buf_addstr(&doc, "]}");
  ck_assert_msg(image_parse_index(doc.data, doc.len, &ix, &err) == 0, "%s: %s", doc.data,
                err ? err->msg : "");
  ck_assert_msg(image_index_select(&ix, c->host) == c->pick, "host %s in %s: got %zd, want %zd",
                c->host, doc.data, image_index_select(&ix, c->host), c->pick);
  image_index_release(&ix);
  buf_release(&doc);
}
END_TEST

Suite *
image_suite(void)
{
  Suite *s = suite_create("image");
  TCase *t = tcase_create("documents");

  tcase_add_loop_test(t, index_shapes, 0, (int)ARRAY_SIZE(indexes));
  tcase_add_loop_test(t, manifest_shapes, 0, (int)ARRAY_SIZE(manifests));
  tcase_add_loop_test(t, config_shapes, 0, (int)ARRAY_SIZE(configs));
  tcase_add_loop_test(t, document_limits, 0, 3);
  tcase_add_loop_test(t, digest_grammar, 0, (int)ARRAY_SIZE(digests));
  tcase_add_test(t, config_that_pulls_also_runs);
  tcase_add_loop_test(t, platforms, 0, (int)ARRAY_SIZE(plats));
  tcase_add_test(t, select_child);
  tcase_add_loop_test(t, select_by_platform, 0, (int)ARRAY_SIZE(selects));
  tcase_add_test(t, select_nested_index);
  suite_add_tcase(s, t);
  return s;
}
