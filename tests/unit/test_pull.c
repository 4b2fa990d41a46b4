/* The steps of a pull that decide without I/O: which layer downloads a blob,
 * which layer can be unpacked, what can be pulled at all, the source label. */
#include <check.h>

#include "image.h"
#include "pull_internal.h"
#include "util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER "application/vnd.docker.distribution.manifest.v2+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"

/* Layers by digest: blob is the first index listing the same digest, and
 * the downloads are the layers that own their blob, in order. */
static const struct {
  const char *digests[5];
  size_t n;
  size_t blob[5];
  size_t downloads[5];
  size_t n_downloads;
} shares[] = {
    {{NULL}, 0, {0}, {0}, 0},
    {{D1}, 1, {0}, {0}, 1},
    {{D1, D2, D3}, 3, {0, 1, 2}, {0, 1, 2}, 3},
    {{D1, D1}, 2, {0, 0}, {0}, 1},
    {{D1, D2, D1, D2, D3}, 5, {0, 1, 0, 1, 4}, {0, 1, 4}, 3},
    {{D2, D1, D1, D1}, 4, {0, 1, 1, 1}, {0, 1}, 2},
};

START_TEST(layers_share_blobs)
{
  struct pull_layer l[5] = {0};
  size_t n = shares[_i].n, got = 0;

  for (size_t i = 0; i < n; i++)
    l[i].desc.digest = (char *)shares[_i].digests[i];
  pull_layers_share_blobs(l, n);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(l[i].blob, shares[_i].blob[i]);
  for (size_t next = pull_next_download(l, n, 0); next < n;
       next = pull_next_download(l, n, next + 1)) {
    ck_assert_uint_lt(got, shares[_i].n_downloads);
    ck_assert_uint_eq(next, shares[_i].downloads[got]);
    got++;
  }
  ck_assert_uint_eq(got, shares[_i].n_downloads);
  ck_assert_uint_eq(pull_next_download(l, n, n), n);
}
END_TEST

/* D1 D2 D1 D3: layer 2 is ready when layer 0's download is in, whatever
 * its own flag says; layer 3 only when its own download is. */
static const struct {
  bool done[4];
  bool ready[4];
} readiness[] = {
    {{false, false, false, false}, {false, false, false, false}},
    {{true, false, false, false}, {true, false, true, false}},
    {{false, true, false, true}, {false, true, false, true}},
    {{true, true, false, true}, {true, true, true, true}},
};

START_TEST(unpack_ready)
{
  static const char *const digests[] = {D1, D2, D1, D3};
  struct pull_layer l[4] = {0};

  for (size_t i = 0; i < 4; i++)
    l[i].desc.digest = (char *)digests[i];
  pull_layers_share_blobs(l, 4);
  for (size_t i = 0; i < 4; i++)
    l[i].done = readiness[_i].done[i];
  for (size_t i = 0; i < 4; i++)
    ck_assert_msg(pull_unpack_ready(l, i) == readiness[_i].ready[i], "case %d layer %zu", _i, i);
}
END_TEST

struct check_case {
  const char *media_type;
  const char *digest;
  int64_t size;
  bool keep;
  const char *why; /* NULL: accepted */
  int code;
};

#define MAXDOC ((int64_t)OCI_MAX_DOCUMENT)

static const struct check_case roots[] = {
    {MT_INDEX, D1, 10, false, NULL, 0},
    {MT_LIST, D1, 10, false, NULL, 0},
    {MT_MANIFEST, D1, MAXDOC, false, NULL, 0},
    {MT_DOCKER, D1, 10, false, NULL, 0},
    {MT_MANIFEST, D1, MAXDOC + 1, false, "manifest of 4393217 bytes is larger than 4393216",
     ERR_EXHAUSTED},
    {MT_CONFIG, D1, 10, false, "unsupported media type " MT_CONFIG, ERR_INVALID},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", D1, 10, false,
     "unsupported media type", ERR_INVALID},
    {"", D1, 10, false, "unsupported media type", ERR_INVALID},
};

static const struct check_case children[] = {
    {MT_MANIFEST, D1, 10, false, NULL, 0},
    {MT_INDEX, D1, MAXDOC, false, NULL, 0},
    {MT_DOCKER, D1, MAXDOC + 1, false, D1 " of 4393217 bytes is over the 4393216 byte limit",
     ERR_EXHAUSTED},
    {MT_LAYER, D1, 10, false, "unsupported media type " MT_LAYER " in index", ERR_INVALID},
    {"", D1, 10, false, "unsupported media type  in index", ERR_INVALID},
};

static const struct check_case blobs[] = {
    {MT_LAYER, D1, 1, false, NULL, 0},
    {MT_LAYER, D1, MAXDOC * 100, false, NULL, 0},
    {MT_CONFIG, D1, MAXDOC, true, NULL, 0},
    {MT_CONFIG, D1, MAXDOC + 1, true,
     "config " D1 " of 4393217 bytes is over the 4393216 byte limit", ERR_EXHAUSTED},
    {MT_MANIFEST, D1, MAXDOC + 1, true, "manifest " D1 " of", ERR_EXHAUSTED},
    {MT_LAYER, D1, 0, false, "blob " D1 " reports content size of zero", ERR_INVALID},
    {MT_LAYER, D1, -1, false, "reports content size of zero", ERR_INVALID},
    {MT_LAYER, "sha512:abcd", 10, false, "blob sha512:abcd: only sha256 digests are supported",
     ERR_INVALID},
};

static void
check_one(const struct check_case *c, int (*fn)(const struct check_case *, struct error **))
{
  struct error *err = NULL;
  int rv = fn(c, &err);

  if (c->why == NULL) {
    ck_assert_msg(rv == 0, "%s %s %jd: %s", c->media_type, c->digest, (intmax_t)c->size,
                  err ? err->msg : "");
    ck_assert_ptr_null(err);
    return;
  }
  ck_assert_int_eq(rv, -1);
  ck_assert_ptr_nonnull(err);
  ck_assert_msg(strstr(err->msg, c->why) != NULL, "'%s' lacks '%s'", err->msg, c->why);
  ck_assert_int_eq(err->code, c->code);
  error_free(err);
}

static int
root_fn(const struct check_case *c, struct error **err)
{
  struct oci_desc d = {(char *)c->media_type, (char *)c->digest, c->size};
  return pull_check_root(&d, err);
}

static int
child_fn(const struct check_case *c, struct error **err)
{
  struct oci_desc d = {(char *)c->media_type, (char *)c->digest, c->size};
  return pull_check_index_child(&d, err);
}

static int
blob_fn(const struct check_case *c, struct error **err)
{
  struct oci_desc d = {(char *)c->media_type, (char *)c->digest, c->size};
  return pull_check_blob(&d, c->keep, err);
}

START_TEST(root_check)
{
  check_one(&roots[_i], root_fn);
}
END_TEST

START_TEST(child_check)
{
  check_one(&children[_i], child_fn);
}
END_TEST

START_TEST(blob_check)
{
  check_one(&blobs[_i], blob_fn);
}
END_TEST

static const struct {
  const char *domain, *key;
} source_keys[] = {
    {"docker.io", "containerd.io/distribution.source.docker.io"},
    {"localhost:5000", "containerd.io/distribution.source.localhost"},
    {"[::1]:5000", "containerd.io/distribution.source.[::1]"},
    {"[::1]", "containerd.io/distribution.source.[::1]"},
    {"reg.example:443", "containerd.io/distribution.source.reg.example"},
};

START_TEST(source_key)
{
  cleanup_free char *k = pull_source_key(source_keys[_i].domain);

  ck_assert_str_eq(k, source_keys[_i].key);
}
END_TEST

#define KEY "containerd.io/distribution.source.docker.io"

static const struct {
  const char *labels[4];
  const char *repo;
  const char *want; /* NULL: already there, nothing to set */
} source_values[] = {
    {{NULL}, "library/busybox", "library/busybox"},
    {{KEY "=library/busybox"}, "library/busybox", NULL},
    {{KEY "=library/alpine"}, "library/busybox", "library/alpine,library/busybox"},
    {{KEY "=z/z,a/a"}, "m/m", "a/a,m/m,z/z"},
    {{KEY "=a/a,m/m,a/a"}, "m/m", NULL},
    {{KEY "=b/b,a/a,b/b"}, "c/c", "a/a,b/b,c/c"},
    /* other keys and other hosts are left alone */
    {{KEY "x=a/a", "containerd.io/distribution.source.quay.io=q/q", "other=1"},
     "library/busybox",
     "library/busybox"},
    {{"containerd.io/gc.ref.content.l.0=" D1, KEY "=x/y"}, "a/b", "a/b,x/y"},
};

START_TEST(source_value)
{
  cleanup_strv struct strv labels = STRV_INIT;
  cleanup_free char *v = NULL;

  for (size_t i = 0; i < ARRAY_SIZE(source_values[_i].labels) && source_values[_i].labels[i]; i++)
    strv_push(&labels, source_values[_i].labels[i]);
  v = pull_source_value(&labels, KEY, source_values[_i].repo);
  if (source_values[_i].want == NULL)
    ck_assert_ptr_null(v);
  else
    ck_assert_str_eq(v, source_values[_i].want);
}
END_TEST

static const struct {
  const char *msg, *base, *want;
} reasons[] = {
    {"fetch \"r@" D1 "\": http://a/v2: connection refused", "http://a/v2", "connection refused"},
    {"fetch \"r@" D1 "\": http://a/v2 refused", "http://a/v2",
     "fetch \"r@" D1 "\": http://a/v2 refused"},
    {"short body: 3 of 5 bytes", "http://a/v2", "short body: 3 of 5 bytes"},
    {"fetch \"r@" D1 "\": http://b/v2: gone", "http://a/v2",
     "fetch \"r@" D1 "\": http://b/v2: gone"},
};

START_TEST(fetch_reason)
{
  ck_assert_str_eq(pull_fetch_reason(reasons[_i].msg, reasons[_i].base), reasons[_i].want);
}
END_TEST

static const struct {
  const char *version;
  int major, minor;
  bool two; /* 2.x: all metadata and snapshot.ref labels */
} lines[] = {
    {"1.6.20~ds1", 1, 6, false}, {"1.7.29", 1, 7, false}, {"v1.7.0-beta.0", 1, 7, false},
    {"2.1.5", 2, 1, true},       {"v2.0.0", 2, 0, true},  {"2.2.0-rc.1", 2, 2, true},
    {"3.0.0", 3, 0, true},       {"12.4", 12, 4, true},   {"2", 2, 0, true},
    {"2.", 2, 0, true},          {"", 0, 0, false},       {NULL, 0, 0, false},
    {"dev", 0, 0, false},        {"v", 0, 0, false},      {"-2.1.5", 0, 0, false},
};

START_TEST(line_of)
{
  struct pull_line l;

  pull_line_of(lines[_i].version, &l);
  ck_assert_int_eq(l.major, lines[_i].major);
  ck_assert_int_eq(l.minor, lines[_i].minor);
  ck_assert_int_eq(l.all_metadata, lines[_i].two);
  ck_assert_int_eq(l.snapshot_ref, lines[_i].two);
}
END_TEST

static const struct {
  const char *base;
  int skip_verify;
  const char *ca[3];
  const char *cert, *key;
  const char *headers[3];
  const char *want;
} tomls[] = {
    {"http://127.0.0.1:5000/v2",
     -1,
     {NULL},
     NULL,
     NULL,
     {NULL},
     "server = \"http://127.0.0.1:5000\"\ncapabilities = [\"pull\", \"resolve\"]\n"},
    /* a mirror under a path of its own: used as it is */
    {"https://mirror.example/v2/dockerhub",
     0,
     {NULL},
     NULL,
     NULL,
     {NULL},
     "server = \"https://mirror.example/v2/dockerhub\"\ncapabilities = [\"pull\", "
     "\"resolve\"]\noverride_path = true\nskip_verify = false\n"},
    {"https://r.example/v2",
     1,
     {"/etc/a.pem", "/x/\"q\".pem"},
     "/c.pem",
     "/c.key",
     {"X-Token: a b", "X-Empty:"},
     "server = \"https://r.example\"\ncapabilities = [\"pull\", \"resolve\"]\n"
     "skip_verify = true\nca = [\"/etc/a.pem\", \"/x/\\\"q\\\".pem\"]\n"
     "client = [[\"/c.pem\", \"/c.key\"]]\n[header]\n  \"X-Token\" = [\"a b\"]\n"
     "  \"X-Empty\" = [\"\"]\n"},
    {"https://r.example/v2",
     -1,
     {NULL},
     "/both.pem",
     NULL,
     {NULL},
     "server = \"https://r.example\"\ncapabilities = [\"pull\", \"resolve\"]\n"
     "client = [[\"/both.pem\"]]\n"},
};

START_TEST(transfer_hosts_toml)
{
  struct registry_ep ep = {0};
  cleanup_free char *got = NULL;

  ep.base = (char *)tomls[_i].base;
  ep.skip_verify = tomls[_i].skip_verify;
  ep.client_cert = (char *)tomls[_i].cert;
  ep.client_key = (char *)tomls[_i].key;
  for (size_t i = 0; tomls[_i].ca[i]; i++)
    strv_push(&ep.ca_files, tomls[_i].ca[i]);
  for (size_t i = 0; tomls[_i].headers[i]; i++)
    strv_push(&ep.headers, tomls[_i].headers[i]);
  got = pull_transfer_hosts_toml(&ep);
  ck_assert_str_eq(got, tomls[_i].want);
  strv_release(&ep.ca_files);
  strv_release(&ep.headers);
}
END_TEST

Suite *
pull_suite(void)
{
  Suite *s = suite_create("pull");
  TCase *t = tcase_create("steps");

  tcase_add_loop_test(t, layers_share_blobs, 0, (int)ARRAY_SIZE(shares));
  tcase_add_loop_test(t, unpack_ready, 0, (int)ARRAY_SIZE(readiness));
  tcase_add_loop_test(t, root_check, 0, (int)ARRAY_SIZE(roots));
  tcase_add_loop_test(t, child_check, 0, (int)ARRAY_SIZE(children));
  tcase_add_loop_test(t, blob_check, 0, (int)ARRAY_SIZE(blobs));
  tcase_add_loop_test(t, source_key, 0, (int)ARRAY_SIZE(source_keys));
  tcase_add_loop_test(t, source_value, 0, (int)ARRAY_SIZE(source_values));
  tcase_add_loop_test(t, fetch_reason, 0, (int)ARRAY_SIZE(reasons));
  tcase_add_loop_test(t, line_of, 0, (int)ARRAY_SIZE(lines));
  tcase_add_loop_test(t, transfer_hosts_toml, 0, (int)ARRAY_SIZE(tomls));
  suite_add_tcase(s, t);
  return s;
}
