/* ctrx's own pull against the real containerd and registry: short names
 * through a hosts.toml mirror, and what containerd holds afterwards compared
 * with what ctr leaves for the same image. */
#include <sys/stat.h>

#include "ctd.h"
#include "e2e.h"
#include "grpc.h"
#include "util.h"

static int
strcmp_p(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
write_mirror_dir(const char *tag)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *dir = xasprintf("%s/hosts-%s", e2e_env("CTRX_TEST_ROOT"), tag);

  ck_assert_int_eq(e2e_sh(&o, NULL,
                          "mkdir -p %1$s/docker.io && printf 'server = \"https://registry-1.docker.io\"\\n"
                          "[host.\"http://%2$s\"]\\n  capabilities = [\"pull\", \"resolve\"]\\n' "
                          "> %1$s/docker.io/hosts.toml",
                          dir, e2e_env("CTRX_TEST_REGISTRY")),
                   0);
  return dir;
}

START_TEST(short_name_through_mirror)
{
  cleanup_free char *ns = e2e_namespace("pull");
  cleanup_free char *dir = write_mirror_dir("short");
  cleanup_e2e_out struct e2e_out p = {0}, l = {0}, r = {0}, again = {0}, leases = {0};

  ck_assert_msg(e2e_sh(&p, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull busybox", ns, dir) ==
                    0,
                "%s%s", p.out, p.err);
  ck_assert_msg(strstr(p.out, "docker.io/library/busybox:latest sha256:") == p.out, "%s", p.out);
  ck_assert_ptr_nonnull(strstr(p.out, e2e_env("CTRX_TEST_REGISTRY")));
  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_str_eq(l.out, "docker.io/library/busybox:latest\n");
  ck_assert_msg(e2e_sh(&r, NULL, "$CTR -a \"$ADDR\" -n %s run --rm docker.io/library/busybox:latest t "
                              "echo ok",
                       ns) == 0,
                "%s", r.err);
  ck_assert_str_eq(r.out, "ok\n");
  /* again: a quick no-op, and no lease stays behind */
  ck_assert_int_eq(e2e_sh(&again, NULL, "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull -q busybox",
                          ns, dir),
                   0);
  e2e_sh(&leases, NULL, "$CTR -a \"$ADDR\" -n %s leases ls -q", ns);
  ck_assert_str_eq(leases.out, "");
  e2e_clean_namespace(ns);
}
END_TEST

static const char *const images[] = {"test/busybox:oci", "test/busybox:docker", "test/multi:oci",
                                     "test/multi:docker", "test/layers:v1"};

/* content digests with their labels, one line each, sorted */
static char *
content_state(struct grpc_conn *c, const char *ns)
{
  cleanup_e2e_out struct e2e_out o = {0};
  struct buf b = BUF_INIT;
  char *save = NULL;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s content ls -q | sort", ns), 0);
  grpc_conn_set_namespace(c, ns);
  for (char *d = strtok_r(o.out, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
    cleanup_strv struct strv labels = STRV_INIT;
    cleanup_error struct error *err = NULL;
    ck_assert_msg(ctd_content_labels(c, d, &labels, &err) == 0, "%s", err ? err->msg : "");
    qsort(labels.v, labels.n, sizeof(char *), strcmp_p);
    buf_addf(&b, "%s", d);
    for (size_t i = 0; i < labels.n; i++)
      buf_addf(&b, " %s", labels.v[i]);
    buf_addstr(&b, "\n");
  }
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

START_TEST(identical_to_ctr)
{
  const char *img = images[_i];
  cleanup_free char *a = e2e_namespace("same-ctrx");
  cleanup_free char *b = e2e_namespace("same-ctr");
  cleanup_e2e_out struct e2e_out x = {0}, c = {0}, ia = {0}, ib = {0}, sa = {0}, sb = {0};
  cleanup_free char *ca = NULL, *cb = NULL;
  struct grpc_conn *conn = NULL;
  cleanup_error struct error *err = NULL;

  ck_assert_msg(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/%s", a, img) == 0, "%s", x.err);
  ck_assert_msg(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s images pull $REG/%s", b, img) == 0, "%s",
                c.err);
  e2e_sh(&ia, NULL, "$CTR -a \"$ADDR\" -n %s images ls", a);
  e2e_sh(&ib, NULL, "$CTR -a \"$ADDR\" -n %s images ls", b);
  ck_assert_str_eq(ia.out, ib.out);
  e2e_sh(&sa, NULL, "$CTR -a \"$ADDR\" -n %s snapshots ls | sort", a);
  e2e_sh(&sb, NULL, "$CTR -a \"$ADDR\" -n %s snapshots ls | sort", b);
  ck_assert_str_eq(sa.out, sb.out);
  ck_assert(grpc_connect(e2e_env("CTRX_TEST_ADDRESS"), 5000, &conn, &err) == 0);
  ca = content_state(conn, a);
  cb = content_state(conn, b);
  ck_assert_msg(strcmp(ca, cb) == 0, "ctrx:\n%s\nctr:\n%s", ca, cb);
  grpc_conn_free(conn);
  e2e_clean_namespace(a);
  e2e_clean_namespace(b);
}
END_TEST

START_TEST(missing_tag_leaves_nothing)
{
  cleanup_free char *ns = e2e_namespace("missing");
  cleanup_e2e_out struct e2e_out x = {0}, i = {0}, l = {0};

  ck_assert_int_eq(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s pull $REG/test/busybox:nope", ns), 1);
  ck_assert_msg(strstr(x.err, "ctrx: ") == x.err && strstr(x.err, "test/busybox:nope") != NULL,
                "%s", x.err);
  e2e_sh(&i, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", ns);
  ck_assert_str_eq(i.out, "");
  e2e_sh(&l, NULL, "$CTR -a \"$ADDR\" -n %s leases ls -q", ns);
  ck_assert_str_eq(l.out, "");
}
END_TEST

Suite *
pull_suite(void)
{
  Suite *s = suite_create("pull");
  TCase *t = tcase_create("native");

  tcase_set_timeout(t, 120);
  tcase_add_test(t, short_name_through_mirror);
  tcase_add_loop_test(t, identical_to_ctr, 0, (int)ARRAY_SIZE(images));
  tcase_add_test(t, missing_tag_leaves_nothing);
  suite_add_tcase(s, t);
  return s;
}
