/* Command lines handed to the line's own ctr (1.6, 1.7 or 2.x): flags that
 * only later lines have, before or after the image, leave the image's name
 * expanded, and what containerd then holds is docker.io/library/...; the
 * real ctr's version is asked once and cached in the state directory. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

#define CTRX_NS "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s"
#define CTR_NS "$CTR -a \"$ADDR\" -n %s"
#define BUSYBOX "docker.io/library/busybox:latest"

static char *ns;
static char *hosts; /* docker.io mirrored by the test registry */

/* The test bed's line as a number: 16, 17 or 21. */
static int
bed_line(void)
{
  const char *l = e2e_env("CTRX_TEST_CONTAINERD");

  return strcmp(l, "1.6") == 0 ? 16 : strcmp(l, "1.7") == 0 ? 17 : 21;
}

static void
setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0};

  ns = e2e_namespace("ctrargs");
  hosts = xasprintf("%s/%s-hosts", e2e_env("CTRX_TEST_ROOT"), ns);
  ck_assert_int_eq(e2e_sh(&o, NULL,
                          "mkdir -p %1$s/docker.io && printf 'server = \"https://registry-1."
                          "docker.io\"\\n[host.\"http://%2$s\"]\\n  capabilities = [\"pull\", "
                          "\"resolve\"]\\n' > %1$s/docker.io/hosts.toml",
                          hosts, e2e_env("CTRX_TEST_REGISTRY")),
                   0);
}

static void
teardown(void)
{
  e2e_clean_namespace(ns);
  free(ns);
  free(hosts);
}

static char *
image_names(void)
{
  struct e2e_out o = {0};
  char *r;

  ck_assert_int_eq(e2e_sh(&o, NULL, CTR_NS " images ls -q | LC_ALL=C sort", ns), 0);
  r = steal_pointer(&o.out);
  e2e_out_release(&o);
  return r;
}

/* Pulls handed to ctr (a flag ctrx's pull leaves to it), from the first line
 * that has the flags on; %1$s is the short name. */
static const struct {
  int since;
  const char *args;
} pulls[] = {
    {16, "--all-platforms %1$s"},
    {16, "%1$s --all-platforms"},
    {17, "--local %1$s"},
    {17, "%1$s --local"},
    {17, "-local --label ctrargs=1 %1$s"},
    {21, "--skip-metadata %1$s"},
    {21, "--local --skip-metadata %1$s"},
    {21, "--sync-fs --local %1$s"},
    {21, "--skip-metadata --label ctrargs=1 %1$s"},
};

START_TEST(pull_handed_to_ctr)
{
  cleanup_e2e_out struct e2e_out p = {0};
  cleanup_free char *args = NULL;
  cleanup_free char *names = NULL;

  if (bed_line() < pulls[_i].since)
    return;
  args = xasprintf(pulls[_i].args, "busybox:latest");
  ck_assert_msg(e2e_sh(&p, NULL, CTRX_NS " images pull %s", ns, hosts, args) == 0, "%s: %s%s", args,
                p.out, p.err);
  names = image_names();
  ck_assert_str_eq(names, BUSYBOX "\n");
}
END_TEST

/* On 1.6, --local is no flag of ctr's: ctr says so, about the expanded
 * name, and nothing is pulled. */
START_TEST(local_on_1_6)
{
  cleanup_e2e_out struct e2e_out p = {0};
  cleanup_free char *names = NULL;

  if (bed_line() != 16)
    return;
  ck_assert_int_ne(e2e_sh(&p, NULL, CTRX_NS " images pull --local busybox:latest", ns, hosts), 0);
  ck_assert_msg(strstr(p.err, "flag provided but not defined: -local") != NULL, "%s", p.err);
  ck_assert_msg(strstr(p.err, "dummy://") == NULL, "%s", p.err);
  names = image_names();
  ck_assert_str_eq(names, "");
}
END_TEST

/* Tag, create and run with the flags of the bed's line before the image. */
START_TEST(existing_image_flags)
{
  cleanup_e2e_out struct e2e_out p = {0}, t = {0}, c = {0}, i = {0}, r = {0};
  cleanup_free char *names = NULL;
  cleanup_free char *id = xasprintf("%s-c", ns);
  const char *tag_flag = bed_line() >= 21 ? "--skip-reference-check" : "--force";
  const char *create_flag = bed_line() >= 17 ? "--hostname ctrargs-h" : "--cwd /tmp";

  ck_assert_msg(e2e_sh(&p, NULL, CTRX_NS " pull -q busybox", ns, hosts) == 0, "%s", p.err);
  ck_assert_msg(
      e2e_sh(&t, NULL, CTRX_NS " images tag %s busybox ctrargs-tagged:1", ns, hosts, tag_flag) == 0,
      "%s", t.err);
  names = image_names();
  ck_assert_str_eq(names, "docker.io/library/busybox:latest\ndocker.io/library/ctrargs-tagged:1\n");
  ck_assert_msg(
      e2e_sh(&c, NULL, CTRX_NS " containers create %s busybox %s", ns, hosts, create_flag, id) == 0,
      "%s", c.err);
  ck_assert_int_eq(e2e_sh(&i, NULL, CTR_NS " containers info %s", ns, id), 0);
  ck_assert_msg(strstr(i.out, "\"Image\": \"" BUSYBOX "\"") != NULL, "%s", i.out);
  if (bed_line() >= 17)
    ck_assert_msg(strstr(i.out, "\"hostname\": \"ctrargs-h\"") != NULL, "%s", i.out);
  if (bed_line() >= 21) {
    /* a 2.x value flag ctrx's run leaves to ctr, and images inspect */
    ck_assert_msg(e2e_sh(&r, NULL,
                         CTRX_NS " run --rm --cpuset-cpus 0 ctrargs-tagged:1 %s-r echo hi", ns,
                         hosts, ns) == 0,
                  "%s", r.err);
    ck_assert_str_eq(r.out, "hi\n");
    ck_assert_msg(e2e_sh(&r, NULL, CTRX_NS " i i ctrargs-tagged:1", ns, hosts) == 0, "%s", r.err);
    ck_assert_msg(strstr(r.out, "docker.io/library/ctrargs-tagged:1") != NULL, "%s", r.out);
  }
}
END_TEST

/* The real ctr's version is in the cache, under its path. */
START_TEST(real_ctr_cached)
{
  cleanup_e2e_out struct e2e_out p = {0}, v = {0}, c = {0};

  ck_assert_msg(e2e_sh(&p, NULL, CTRX_NS " images pull --all-platforms busybox", ns, hosts) == 0,
                "%s", p.err);
  ck_assert_int_eq(e2e_sh(&v, NULL, "$CTR --version"), 0);
  ck_assert_int_eq(e2e_sh(&c, NULL, "cat \"$CTRX_STATE_DIR/ctr-version\""), 0);
  ck_assert_msg(strstr(c.out, v.out) != NULL, "%s / %s", c.out, v.out);
}
END_TEST

/* A fake ctr that says it is VERSION, counts how often it was asked in
 * FAKE.count, and prints the words it is handed after the global flags. */
static char *
fake_ctr(const char *name, const char *version)
{
  char *fake = xasprintf("%s/%s-%s", e2e_env("CTRX_TEST_ROOT"), ns, name);
  FILE *f = fopen(fake, "w");

  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "#!/bin/sh\nif [ \"$1\" = --version ]; then echo x >> \"$0.count\"; echo '%s'; "
          "exit 0; fi\nshift 4; for a in \"$@\"; do printf '[%%s]' \"$a\"; done; echo\n",
          version);
  fclose(f);
  chmod(fake, 0755);
  return fake;
}

static int
asked(const char *fake)
{
  cleanup_e2e_out struct e2e_out o = {0};

  int64_t n = -1;

  e2e_sh(&o, NULL, "cat %s.count 2>/dev/null | wc -l | tr -d '\\n '", fake);
  ck_assert_int_eq(parse_int64(o.out, 10, &n), 0);
  return (int)n;
}

#define FAKE "CTRX_STATE_DIR=%s CTRX_CTR=%s $CTRX -a /x.sock "

/* One `ctr --version` for several commands; another when the binary changes,
 * and on every command when the state directory cannot be written. */
START_TEST(version_asked_once)
{
  cleanup_free char *fake = fake_ctr("ctr2", "ctr github.com/containerd/containerd/v2 2.1.5");
  cleanup_free char *state = xasprintf("%s/%s-state", e2e_env("CTRX_TEST_ROOT"), ns);
  cleanup_free char *blocked = xasprintf("%s/blocked/state", fake);
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, d = {0}, e = {0}, t = {0};

  e2e_sh(&a, NULL, FAKE "images pull --local busybox:latest", state, fake);
  ck_assert_str_eq(a.out, "[images][pull][--local][" BUSYBOX "]\n");
  e2e_sh(&b, NULL, FAKE "c create busybox --tty c1", state, fake);
  ck_assert_str_eq(b.out, "[c][create][" BUSYBOX "][--tty][c1]\n");
  e2e_sh(&c, NULL, FAKE "images tag --skip-reference-check busybox x:1", state, fake);
  ck_assert_str_eq(c.out,
                   "[images][tag][--skip-reference-check][" BUSYBOX "][docker.io/library/x:1]\n");
  e2e_sh(&d, NULL, FAKE "tasks ls", state, fake);
  ck_assert_int_eq(asked(fake), 1);
  /* the same path, a new binary */
  ck_assert_int_eq(e2e_sh(&t, NULL, "touch -d '2001-01-01' %s", fake), 0);
  e2e_sh(&d, NULL, FAKE "images pull --local busybox:latest", state, fake);
  ck_assert_str_eq(d.out, "[images][pull][--local][" BUSYBOX "]\n");
  ck_assert_int_eq(asked(fake), 2);
  /* nowhere to keep it: asked each time, names still expanded */
  e2e_sh(&e, NULL, FAKE "images pull --local busybox:latest", blocked, fake);
  ck_assert_str_eq(e.out, "[images][pull][--local][" BUSYBOX "]\n");
  e2e_sh(&e, NULL, FAKE "images pull --local busybox:latest", blocked, fake);
  ck_assert_int_eq(asked(fake), 4);
}
END_TEST

/* A 1.6 ctr reads the same words differently; a flag ctrx does not know
 * for it fails in ctrx, naming the flag, before ctr is run. */
START_TEST(line_picked_by_version)
{
  cleanup_free char *fake = fake_ctr("ctr16", "ctr github.com/containerd/containerd 1.6.20~ds1");
  cleanup_free char *state = xasprintf("%s/%s-state16", e2e_env("CTRX_TEST_ROOT"), ns);
  cleanup_e2e_out struct e2e_out a = {0}, b = {0};

  e2e_sh(&a, NULL, FAKE "c create busybox --tty c1", state, fake);
  ck_assert_str_eq(a.out, "[c][create][busybox][--tty][docker.io/library/c1:latest]\n");
  ck_assert_int_eq(e2e_sh(&b, NULL, FAKE "c create --runc-root /r busybox c1", state, fake), 1);
  ck_assert_str_eq(b.out, "");
  ck_assert_msg(strstr(b.err, "ctrx: c create: which word is an image depends on "
                              "--runc-root, a flag ctrx does not know for ctr 1.6") == b.err,
                "%s", b.err);
}
END_TEST

Suite *
ctrargs_lines_suite(void)
{
  Suite *s = suite_create("ctrargs_lines");
  TCase *t = tcase_create("lines");

  tcase_set_timeout(t, 120);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_loop_test(t, pull_handed_to_ctr, 0, (int)ARRAY_SIZE(pulls));
  tcase_add_test(t, local_on_1_6);
  tcase_add_test(t, existing_image_flags);
  tcase_add_test(t, real_ctr_cached);
  tcase_add_test(t, version_asked_once);
  tcase_add_test(t, line_picked_by_version);
  suite_add_tcase(s, t);
  return s;
}
