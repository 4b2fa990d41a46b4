/* Pull parity per containerd line: whatever line the test bed runs, ctrx's
 * pull leaves the image record, content (digests and labels) and snapshots
 * (names, parents, kinds and labels) that this line's own ctr leaves with its
 * defaults. On 1.6 and 1.7 that is the client pull; on 2.x the Transfer
 * service, which keeps every platform's manifest and config and labels each
 * snapshot with containerd.io/snapshot.ref. */
#include <jansson.h>

#include "e2e.h"
#include "util.h"

/* An OCI index, a Docker manifest list, a single manifest, an index in an
 * index, and a three-layer chain. */
static const char *const fixtures[] = {"test/multi:oci", "test/multi:docker", "test/busybox:oci",
                                       "test/nested:oci", "test/layers:v1"};

static int
line_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per snapshot of ns: name, parent, kind and its labels, sorted. */
static char *
snapshot_state(const char *ns)
{
  cleanup_e2e_out struct e2e_out l = {0};
  cleanup_strv struct strv lines = STRV_INIT;
  struct buf b = BUF_INIT;
  char *save = NULL;

  ck_assert_int_eq(
      e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s snapshots ls | awk 'NR>1{print $1}'", ns), 0);
  for (char *k = strtok_r(l.out, "\n", &save); k; k = strtok_r(NULL, "\n", &save)) {
    cleanup_e2e_out struct e2e_out i = {0};
    cleanup_buf struct buf line = BUF_INIT;
    json_error_t je;
    json_t *j, *labels;
    const char *key;
    json_t *v;

    ck_assert_int_eq(e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s snapshots info %s", ns, k), 0);
    j = json_loads(i.out, 0, &je);
    ck_assert_msg(j != NULL, "snapshot info %s: %s", k, je.text);
    buf_addf(&line, "%s parent=%s kind=%s", json_string_value(json_object_get(j, "Name")),
             json_string_value(json_object_get(j, "Parent")) ?: "",
             json_string_value(json_object_get(j, "Kind")) ?: "");
    labels = json_object_get(j, "Labels");
    for (void *it = json_object_iter(labels); it; it = json_object_iter_next(labels, it)) {
      key = json_object_iter_key(it);
      v = json_object_iter_value(it);
      buf_addf(&line, " %s=%s", key, json_string_value(v));
    }
    json_decref(j);
    buf_add(&line, "", 0);
    strv_push(&lines, line.data);
  }
  if (lines.n > 1)
    qsort(lines.v, lines.n, sizeof(char *), line_cmp);
  for (size_t i = 0; i < lines.n; i++)
    buf_addf(&b, "%s\n", lines.v[i]);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

static char *
image_state(const char *ns)
{
  cleanup_e2e_out struct e2e_out o = {0};

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s images ls", ns), 0);
  return xstrdup(o.out);
}

START_TEST(same_as_line_ctr)
{
  const char *img = fixtures[_i];
  cleanup_free char *x = e2e_namespace("lines-ctrx");
  cleanup_free char *c = e2e_namespace("lines-ctr");
  cleanup_e2e_out struct e2e_out px = {0}, pc = {0};
  cleanup_free char *ix = NULL, *ic = NULL, *cx = NULL, *cc = NULL, *sx = NULL, *sc = NULL;

  /* ctr's default path: no --local, whatever the line */
  ck_assert_msg(e2e_sh(&pc, NULL, "$CTR -a \"$ADDR\" -n %s images pull $REG/%s", c, img) == 0, "%s",
                pc.err);
  ck_assert_msg(e2e_sh(&px, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/%s", x, img) == 0, "%s",
                px.err);
  ix = image_state(x);
  ic = image_state(c);
  ck_assert_msg(strcmp(ix, ic) == 0, "images of ctrx:\n%s\nof ctr:\n%s", ix, ic);
  cx = e2e_content_state(x);
  cc = e2e_content_state(c);
  ck_assert_msg(strcmp(cx, cc) == 0, "content of ctrx:\n%s\nof ctr:\n%s", cx, cc);
  sx = snapshot_state(x);
  sc = snapshot_state(c);
  ck_assert_msg(strcmp(sx, sc) == 0, "snapshots of ctrx:\n%s\nof ctr:\n%s", sx, sc);
  e2e_assert_no_lease(x);
  e2e_clean_namespace(x);
  e2e_clean_namespace(c);
}
END_TEST

/* The other order: ctrx first into a namespace, then ctr's pull of the same
 * image there finds nothing to add or change. */
START_TEST(ctr_adds_nothing)
{
  const char *img = fixtures[_i];
  cleanup_free char *ns = e2e_namespace("lines-both");
  cleanup_e2e_out struct e2e_out px = {0}, pc = {0};
  cleanup_free char *before = NULL, *after = NULL, *sb = NULL, *sa = NULL;

  ck_assert_msg(e2e_sh(&px, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/%s", ns, img) == 0, "%s",
                px.err);
  before = e2e_content_state(ns);
  sb = snapshot_state(ns);
  ck_assert_msg(e2e_sh(&pc, NULL, "$CTR -a \"$ADDR\" -n %s images pull $REG/%s", ns, img) == 0,
                "%s", pc.err);
  after = e2e_content_state(ns);
  sa = snapshot_state(ns);
  ck_assert_msg(strcmp(before, after) == 0, "content after ctrx:\n%s\nafter ctr too:\n%s", before,
                after);
  ck_assert_msg(strcmp(sb, sa) == 0, "snapshots after ctrx:\n%s\nafter ctr too:\n%s", sb, sa);
  e2e_clean_namespace(ns);
}
END_TEST

/* An ingest that holds every byte of a blob, but the wrong ones (a writer
 * that failed before: ctr with bad data, or the daemon's own Transfer pull of
 * a corrupt blob, which ctrx then takes over), is dropped and fetched again. */
START_TEST(complete_bad_ingest_refetched)
{
  cleanup_free char *ns = e2e_namespace("lines-ingest");
  cleanup_e2e_out struct e2e_out i = {0}, a = {0}, p = {0};

  /* ctr 2.1.5 under load once failed to leave it ("unable to resume write ...:
   * seek /dev/stdin"), so it has three tries */
  e2e_sh(&i, NULL,
         "set -- $(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
         "http://$REG/v2/test/busybox/manifests/oci | tr ',{}' '\\n\\n\\n' | "
         "sed -n 's/.*\"digest\":\"\\(sha256:[0-9a-f]*\\)\".*/\\1/p;"
         "s/.*\"size\":\\([0-9]*\\).*/\\1/p' | head -2); "
         "for try in 1 2 3; do "
         "head -c $2 /dev/zero | $CTR -a \"$ADDR\" -n %1$s content ingest --expected-size $2 "
         "--expected-digest $1 config-$1; "
         "$CTR -a \"$ADDR\" -n %1$s content active | grep -q config-sha256: && break; done",
         ns);
  e2e_sh(&a, NULL, "$CTR -a \"$ADDR\" -n %s content active", ns);
  ck_assert_msg(strstr(a.out, "config-sha256:") != NULL, "no ingest left: %s%s%s", i.err, a.out,
                a.err);
  ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/test/busybox:oci", ns) == 0,
                "%s", p.err);
  e2e_assert_no_lease(ns);
  e2e_clean_namespace(ns);
}
END_TEST

Suite *
pull_lines_suite(void)
{
  Suite *s = suite_create("pull_lines");
  TCase *t = tcase_create("parity");

  tcase_set_timeout(t, 120);
  tcase_add_loop_test(t, same_as_line_ctr, 0, (int)ARRAY_SIZE(fixtures));
  tcase_add_loop_test(t, ctr_adds_nothing, 0, 3);
  tcase_add_test(t, complete_bad_ingest_refetched);
  suite_add_tcase(s, t);
  return s;
}
