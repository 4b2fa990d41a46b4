/* Run parity on whatever containerd line the test bed runs: for each set of
 * flags, one container made by that line's own `ctr run` and one by `ctrx
 * run` (same image, flags, id and command), and the container records
 * containerd then holds must be the same: the whole spec (masked and
 * read-only paths, capabilities, namespaces, mounts, ociVersion, ...), the
 * labels, the runtime. One difference is allowed, and only on 1.6: ctrx
 * masks /sys/devices/virtual/powercap there too, as 1.7 and 2.x do. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "util.h"

#define POWERCAP "/sys/devices/virtual/powercap"

static char *ns;
static char *img;

static void
setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0};

  ns = e2e_namespace("speclines");
  img = xasprintf("%s/test/busybox:oci", e2e_env("CTRX_TEST_REGISTRY"));
  ck_assert_msg(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s images pull --plain-http %s", ns, img) ==
                    0,
                "pull: %s", o.err);
}

static void
teardown(void)
{
  e2e_clean_namespace(ns);
  free(ns);
  free(img);
}

/* "1.6", "1.7", "2.1": the line the test bed runs. */
static bool
line_is_1_6(void)
{
  return strcmp(e2e_env("CTRX_TEST_CONTAINERD"), "1.6") == 0;
}

/* Flags run the same by both. %1$s in a case's flags is the test bed's
 * directory (for files and bind-mount sources). */
static const struct {
  const char *name;
  const char *flags;
  bool from_1_7; /* ctr 1.6's run lacks the flag */
  bool tty;      /* run under script(1), for -t */
} cases[] = {
    {"defaults", "", false, false},
    {"env, cwd, labels, annotations",
     "--env A=1 --env B=2 --env A=3 --cwd /tmp --label l1=v1 --label l2 --annotation a1=x", false,
     false},
    {"env file", "--env-file %1$s/speclines.env --env C=9", false, false},
    {"bind mount, read-only root",
     "--mount type=bind,src=%1$s,dst=/mnt,options=rbind:ro --mount type=tmpfs,dst=/scratch "
     "--read-only",
     false, false},
    {"capabilities", "--cap-add CAP_SYS_ADMIN --cap-add CAP_NET_ADMIN --cap-drop CAP_CHOWN", false,
     false},
    {"host network", "--net-host", false, false},
    {"resources", "--memory-limit 67108864 --cpus 0.5", false, false},
    {"privileged", "--privileged", false, false},
    {"terminal", "-t", false, true},
    {"hostname and uid:gid", "--hostname box -u 1000:1000", true, false},
    {"user by name", "-u app", true, false},
};

/* Run `BIN run FLAGS IMG ID true` (under script(1) for a terminal). */
static void
run_with(const char *bin, const char *flags, bool tty, const char *id)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *f = xasprintf(flags, e2e_env("CTRX_TEST_ROOT"));
  cleanup_free char *cmd =
      xasprintf("%s -a \"$ADDR\" -n %s run %s %s %s true", bin, ns, f, img, id);

  if (tty)
    ck_assert_msg(e2e_sh(&o, NULL, "script -qec '%s' /dev/null", cmd) == 0, "%s: %s%s", cmd, o.out,
                  o.err);
  else
    ck_assert_msg(e2e_sh(&o, NULL, "%s", cmd) == 0, "%s: %s", cmd, o.err);
}

/* The record containerd holds for container id, then removed: its Spec,
 * Labels and Runtime. */
static json_t *
held_record(const char *id)
{
  cleanup_e2e_out struct e2e_out o = {0}, r = {0};
  json_error_t jerr;
  json_t *info, *rec;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s c info %s", ns, id), 0);
  info = json_loads(o.out, 0, &jerr);
  ck_assert_msg(info != NULL, "c info %s: %s", id, jerr.text);
  rec = json_pack("{sOsOsO}", "Spec", json_object_get(info, "Spec"), "Labels",
                  json_object_get(info, "Labels"), "Runtime", json_object_get(info, "Runtime"));
  ck_assert_ptr_nonnull(rec);
  json_decref(info);
  e2e_sh(&r, NULL, "$CTR -a \"$ADDR\" -n %s c rm %s", ns, id);
  return rec;
}

/* The allowed difference: on 1.6 only, ctr's maskedPaths gains the powercap
 * mask after /sys/firmware, where 1.7 and 2.x have it. Elsewhere ctr must
 * already mask it. */
static void
allow_powercap(json_t *ctr_rec)
{
  json_t *masked =
      json_object_get(json_object_get(json_object_get(ctr_rec, "Spec"), "linux"), "maskedPaths");
  json_t *v;
  size_t i, at = SIZE_MAX;

  if (masked == NULL) /* --privileged: none at all */
    return;
  json_array_foreach(masked, i, v)
  {
    ck_assert_msg(strcmp(json_string_value(v), POWERCAP) != 0 || !line_is_1_6(),
                  "ctr 1.6 masks powercap: the exception is not needed");
    if (strcmp(json_string_value(v), "/sys/firmware") == 0)
      at = i + 1;
  }
  ck_assert(at != SIZE_MAX);
  if (line_is_1_6())
    json_array_insert_new(masked, at, json_string(POWERCAP));
}

/* a (ctr's) and b (ctrx's), one line each, are equal; else fail showing
 * where they part. */
static void
assert_same(const char *what, const char *a, const char *b)
{
  size_t i = 0;

  while (a[i] != '\0' && a[i] == b[i])
    i++;
  if (a[i] == '\0' && b[i] == '\0')
    return;
  i = i > 80 ? i - 80 : 0;
  ck_abort_msg("%s: ctrx has '%.240s'\nctr has '%.240s'", what, b + i, a + i);
}

START_TEST(test_same_record)
{
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_free char *id = xasprintf("sl%d", _i);
  json_t *ctr_rec, *ctrx_rec;

  if (cases[_i].from_1_7 && line_is_1_6())
    return;
  ck_assert_int_eq(e2e_sh(&o, NULL, "printf 'E=1\\n# comment\\nF=2\\n' > %s/speclines.env",
                          e2e_env("CTRX_TEST_ROOT")),
                   0);
  run_with("$CTR", cases[_i].flags, cases[_i].tty, id);
  ctr_rec = held_record(id);
  run_with("$CTRX", cases[_i].flags, cases[_i].tty, id);
  ctrx_rec = held_record(id);

  allow_powercap(ctr_rec);
  if (!json_equal(ctr_rec, ctrx_rec)) {
    cleanup_free char *a = json_dumps(ctr_rec, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *b = json_dumps(ctrx_rec, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *what = xasprintf("%s (%s)", cases[_i].name, cases[_i].flags);
    assert_same(what, a, b);
  }
  json_decref(ctr_rec);
  json_decref(ctrx_rec);
}
END_TEST

/* A capability without CAP_, "ALL" too: every line's ctr refuses it before
 * it creates anything, and so must ctrx, leaving nothing behind. */
static const char *const refused_caps[] = {"--cap-drop ALL", "--cap-add ALL",
                                           "--cap-add SYS_ADMIN"};

START_TEST(test_refused_caps)
{
  cleanup_e2e_out struct e2e_out c = {0}, x = {0}, left = {0};
  cleanup_free char *id = xasprintf("slcap%d", _i);
  const char *flags = refused_caps[_i];

  ck_assert_int_ne(
      e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s run %s %s %s true", ns, flags, img, id), 0);
  ck_assert_msg(strstr(c.err, "capabilities must be specified with 'CAP_' prefix") != NULL, "%s",
                c.err);
  ck_assert_int_ne(
      e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s run %s %s %s true", ns, flags, img, id), 0);
  ck_assert_msg(strstr(x.err, "capabilities must be specified with 'CAP_' prefix") != NULL, "%s",
                x.err);
  ck_assert_int_ne(e2e_sh(&left, NULL, "$CTR -a \"$ADDR\" -n %s c info %s", ns, id), 0);
  ck_assert_int_ne(e2e_sh(&left, NULL, "$CTR -a \"$ADDR\" -n %s snapshots info %s", ns, id), 0);
}
END_TEST

Suite *
spec_lines_suite(void)
{
  Suite *s = suite_create("spec_lines");
  TCase *t = tcase_create("spec_lines");

  tcase_set_timeout(t, 120);
  tcase_add_unchecked_fixture(t, setup, teardown);
  tcase_add_loop_test(t, test_same_record, 0, ARRAY_SIZE(cases));
  tcase_add_loop_test(t, test_refused_caps, 0, ARRAY_SIZE(refused_caps));
  suite_add_tcase(s, t);
  return s;
}
