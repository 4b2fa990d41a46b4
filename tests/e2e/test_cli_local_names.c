/* Image names as ctr keeps them: a name that exists as typed in the
 * namespace is used as typed; only otherwise is it expanded. */
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"
#include "util.h"

static char *ns;
static char *img; /* the test registry's busybox, full name */

#define CTRX_NS "$CTRX -a \"$ADDR\" -n %s"
#define CTR_NS "$CTR -a \"$ADDR\" -n %s"

static void
setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0};

  ns = e2e_namespace("local");
  img = xasprintf("%s/test/busybox:oci", e2e_env("CTRX_TEST_REGISTRY"));
  ck_assert_msg(e2e_sh(&o, NULL, CTRX_NS " pull -q %s", ns, img) == 0, "%s", o.err);
}

static void
teardown(void)
{
  e2e_clean_namespace(ns);
  free(ns);
  free(img);
}

/* Give the test image more names, literally, with the real ctr. */
static void
ctr_tag(const char *name)
{
  cleanup_e2e_out struct e2e_out o = {0};

  ck_assert_msg(e2e_sh(&o, NULL, CTR_NS " images tag %s %s", ns, img, name) == 0, "%s", o.err);
}

/* The image names of the namespace, one a line, sorted. */
static char *
names(void)
{
  struct e2e_out o = {0};
  char *r;

  ck_assert_int_eq(e2e_sh(&o, NULL, CTR_NS " images ls -q | LC_ALL=C sort", ns), 0);
  r = steal_pointer(&o.out);
  e2e_out_release(&o);
  return r;
}

static bool
has_name(const char *name)
{
  cleanup_free char *all = names();
  cleanup_free char *line = xasprintf("\n%s\n", name);
  cleanup_free char *padded = xasprintf("\n%s", all);

  return strstr(padded, line) != NULL;
}

static const char *const local_names[] = {"d4c-nginx:1.23.4", "mybox:1"};

START_TEST(run_local_name)
{
  cleanup_e2e_out struct e2e_out a = {0};
  cleanup_free char *expanded = xasprintf("docker.io/library/%s", local_names[_i]);

  ctr_tag(local_names[_i]);
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " run --rm %s t1 echo hi", ns, local_names[_i]) == 0, "%s",
                a.err);
  ck_assert_str_eq(a.out, "hi\n");
  /* handed to ctr (a flag ctrx leaves to it): the same */
  ck_assert_msg(
      e2e_sh(&a, NULL, CTRX_NS " run --rm --cni=false %s t2 echo ho", ns, local_names[_i]) == 0,
      "%s", a.err);
  ck_assert_str_eq(a.out, "ho\n");
  ck_assert(!has_name(expanded));
}
END_TEST

START_TEST(rm_per_name)
{
  cleanup_e2e_out struct e2e_out a = {0};

  ctr_tag("mybox:1");
  ctr_tag("docker.io/library/other:2");
  ctr_tag("d4c-nginx:1.23.4");
  /* one local, one that only its expansion names */
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " images rm mybox:1 other:2", ns) == 0, "%s", a.err);
  ck_assert_msg(strstr(a.err, "not found") == NULL, "%s", a.err);
  ck_assert(!has_name("mybox:1"));
  ck_assert(!has_name("docker.io/library/other:2"));
  ck_assert(has_name("d4c-nginx:1.23.4"));
  ck_assert(has_name(img));
}
END_TEST

/* images ls -q | xargs ctrx images rm empties a namespace of local and
 * normalized names alike. */
START_TEST(rm_everything_listed)
{
  cleanup_e2e_out struct e2e_out a = {0};
  cleanup_free char *left = NULL;

  ctr_tag("mybox:1");
  ctr_tag("d4c-nginx:1.23.4");
  ctr_tag("docker.io/library/mybox:1");
  ctr_tag("docker.io/library/busybox:latest");
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " images ls -q | xargs $CTRX -a \"$ADDR\" -n %s images rm",
                       ns, ns) == 0,
                "%s", a.err);
  left = names();
  ck_assert_str_eq(left, "");
}
END_TEST

/* ctr 2.x exports through the Transfer service by default, and under load one
 * archive in about forty came out short with status 0 (ctr 2.1.5; none in
 * sixty with --local, which exports in ctr's own process). What these tests
 * look at is the names, so on 2.x they export locally. */
static const char *
export_flags(void)
{
  return e2e_line_2x() ? " --local" : "";
}

START_TEST(export_and_tag_local)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0};
  cleanup_free char *tar = xasprintf("%s/%s-mybox.tar", e2e_env("CTRX_TEST_ROOT"), ns);
  struct stat st;

  ctr_tag("mybox:1");
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " images export%s %s mybox:1", ns, export_flags(), tar) ==
                    0,
                "%s", a.err);
  ck_assert_int_eq(stat(tar, &st), 0);
  ck_assert_int_gt(st.st_size, 1024);
  ck_assert_msg(e2e_sh(&c, NULL, "tar -xOf %s index.json", tar) == 0, "%s", c.err);
  ck_assert_msg(strstr(c.out, "mybox:1") != NULL, "%s", c.out);
  /* the source as typed, the new name expanded */
  ck_assert_msg(e2e_sh(&b, NULL, CTRX_NS " images tag mybox:1 newbox:2", ns) == 0, "%s", b.err);
  ck_assert(has_name("docker.io/library/newbox:2"));
  ck_assert(!has_name("newbox:2"));
}
END_TEST

/* An archive whose index names its image by tag alone, as loaders and
 * air-gap bundles write them: import --base-name myapp names it myapp:3.18. */
START_TEST(import_base_name)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0};
  cleanup_free char *dir = xasprintf("%s/%s-import", e2e_env("CTRX_TEST_ROOT"), ns);

  ck_assert_msg(
      e2e_sh(
          &a, NULL,
          "set -e; mkdir -p %1$s/x; $CTR -a \"$ADDR\" -n %2$s images export%4$s %1$s/in.tar %3$s; "
          "$CTR -a \"$ADDR\" -n %2$s images rm %3$s; cd %1$s/x; tar -xf ../in.tar; "
          "sed -i -e 's/\"io\\.containerd\\.image\\.name\": *\"[^\"]*\" *, *//' "
          "-e 's/, *\"io\\.containerd\\.image\\.name\": *\"[^\"]*\"//' "
          "-e 's/\"org\\.opencontainers\\.image\\.ref\\.name\": *\"[^\"]*\"/"
          "\"org.opencontainers.image.ref.name\":\"3.18\"/' index.json; "
          "! grep -q io.containerd.image.name index.json; tar -cf ../app.tar *",
          dir, ns, img, export_flags()) == 0,
      "%s", a.err);
  ck_assert_msg(e2e_sh(&b, NULL, CTRX_NS " images import --base-name myapp %s/app.tar", ns, dir) ==
                    0,
                "%s", b.err);
  ck_assert(has_name("myapp:3.18"));
  ck_assert_msg(e2e_sh(&c, NULL, CTRX_NS " run --rm myapp:3.18 t1 echo imported", ns) == 0, "%s",
                c.err);
  ck_assert_str_eq(c.out, "imported\n");
  ck_assert(!has_name("docker.io/library/myapp:3.18"));
}
END_TEST

/* --no-expand and CTRX_NO_EXPAND=1: names as ctr takes them. */
START_TEST(opt_out)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, d = {0};

  ctr_tag("mybox:1");
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " --no-expand images tag mybox:1 lit:1", ns) == 0, "%s",
                a.err);
  ck_assert_msg(e2e_sh(&b, NULL, "CTRX_NO_EXPAND=1 " CTRX_NS " images tag mybox:1 lit:2", ns) == 0,
                "%s", b.err);
  ck_assert(has_name("lit:1"));
  ck_assert(has_name("lit:2"));
  ck_assert(!has_name("docker.io/library/lit:1"));
  ck_assert(!has_name("docker.io/library/lit:2"));
  /* a short name is not expanded to find an image either */
  ctr_tag("docker.io/library/other:3");
  e2e_sh(&c, NULL, CTRX_NS " --no-expand images rm other:3", ns);
  ck_assert(has_name("docker.io/library/other:3"));
  /* and CTRX_NO_EXPAND=0 is no opt-out */
  ck_assert_msg(e2e_sh(&d, NULL, "CTRX_NO_EXPAND=0 " CTRX_NS " images rm other:3", ns) == 0, "%s",
                d.err);
  ck_assert(!has_name("docker.io/library/other:3"));
}
END_TEST

/* No local name matches: the short name is expanded, as before. */
START_TEST(short_names_still_expand)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0};

  ctr_tag("docker.io/library/shorty:1");
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " run --rm shorty:1 t1 echo short", ns) == 0, "%s", a.err);
  ck_assert_str_eq(a.out, "short\n");
  ck_assert_msg(e2e_sh(&b, NULL, CTRX_NS " images rm shorty:1", ns) == 0, "%s", b.err);
  ck_assert(!has_name("docker.io/library/shorty:1"));
}
END_TEST

/* What reaches ctr for the other commands that take an existing image. */
START_TEST(words_handed_to_ctr)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
  cleanup_free char *fake = xasprintf("%s/%s-echo-ctr", e2e_env("CTRX_TEST_ROOT"), ns);
  FILE *f = fopen(fake, "w");

  ck_assert_ptr_nonnull(f);
  fprintf(f, "#!/bin/sh\nshift 4; for a in \"$@\"; do printf '[%%s]' \"$a\"; done; echo\n");
  fclose(f);
  chmod(fake, 0755);
  ctr_tag("mybox:1");
  /* push REMOTE alone: the local image mybox:1 goes to its expansion */
  e2e_sh(&a, NULL, "CTRX_CTR=%s " CTRX_NS " images push mybox:1", fake, ns);
  ck_assert_str_eq(a.out, "[images][push][docker.io/library/mybox:1][mybox:1]\n");
  e2e_sh(&b, NULL, "CTRX_CTR=%s " CTRX_NS " images push reg.example.com/x:1 mybox:1", fake, ns);
  ck_assert_str_eq(b.out, "[images][push][reg.example.com/x:1][mybox:1]\n");
  e2e_sh(&c, NULL, "CTRX_CTR=%s " CTRX_NS " images label mybox:1 k=v", fake, ns);
  ck_assert_str_eq(c.out, "[images][label][mybox:1][k=v]\n");
  e2e_sh(&d, NULL, "CTRX_CTR=%s " CTRX_NS " containers create mybox:1 c1", fake, ns);
  ck_assert_str_eq(d.out, "[containers][create][mybox:1][c1]\n");
  /* a name not there: expanded, as before */
  e2e_sh(&e, NULL, "CTRX_CTR=%s " CTRX_NS " images push other:1", fake, ns);
  ck_assert_str_eq(e.out, "[images][push][docker.io/library/other:1]\n");
}
END_TEST

/* A real push of a local name to the test registry. */
START_TEST(push_local_name)
{
  cleanup_e2e_out struct e2e_out a = {0};

  ctr_tag("mybox:1");
  ck_assert_msg(e2e_sh(&a, NULL, CTRX_NS " images push --plain-http %s/test/pushed:1 mybox:1", ns,
                       e2e_env("CTRX_TEST_REGISTRY")) == 0,
                "%s%s", a.out, a.err);
}
END_TEST

/* Neither local nor pullable: the error names both. */
START_TEST(hint_names_both)
{
  cleanup_e2e_out struct e2e_out a = {0};
  cleanup_free char *hd = xasprintf("%s/%s-dead-hosts", e2e_env("CTRX_TEST_ROOT"), ns);
  cleanup_free char *want = xasprintf("ctrx: \"mybox:1\" is not an image in namespace \"%s\", and "
                                      "docker.io/library/mybox:1 could not be pulled: ",
                                      ns);

  ck_assert_int_eq(e2e_sh(&a, NULL,
                          "mkdir -p %1$s/docker.io && printf 'server = \"http://127.0.0.1:1\"\\n' "
                          "> %1$s/docker.io/hosts.toml && $CTRX -a \"$ADDR\" -n %2$s --hosts-dir "
                          "%1$s run --rm mybox:1 t1 true",
                          hd, ns),
                   1);
  ck_assert_msg(str_has_prefix(a.err, want) || strstr(a.err, want) != NULL, "%s", a.err);
}
END_TEST

Suite *
cli_local_names_suite(void)
{
  Suite *s = suite_create("cli_local_names");
  TCase *t = tcase_create("names");

  tcase_set_timeout(t, 120);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_loop_test(t, run_local_name, 0, (int)ARRAY_SIZE(local_names));
  tcase_add_test(t, rm_per_name);
  tcase_add_test(t, rm_everything_listed);
  tcase_add_test(t, export_and_tag_local);
  tcase_add_test(t, import_base_name);
  tcase_add_test(t, opt_out);
  tcase_add_test(t, short_names_still_expand);
  tcase_add_test(t, hint_names_both);
  tcase_add_test(t, words_handed_to_ctr);
  tcase_add_test(t, push_local_name);
  suite_add_tcase(s, t);
  return s;
}
