/* run --privileged from a caller whose capability bounding set is not
 * complete, as in many VMs and containers: started through
 * `capsh --drop=cap_sys_module --`, ctrx and the real ctr must give the
 * container the same capabilities (the caller's) and the same device nodes
 * (the host's), and containerd must hold the same spec from both. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "e2e.h"
#include "util.h"

#define CAP_SYS_MODULE_BIT 16

static char *ns;
static char *img;

static void
setup(void)
{
  e2e_run_fixture("runpriv", &ns, &img);
}

static void
teardown(void)
{
  e2e_run_fixture_release(&ns, &img);
}

/* Run `run --privileged IMG ID sh -c SCRIPT` with bin ("$CTRX" or "$CTR")
 * under capsh without CAP_SYS_MODULE; the container is kept. */
static void
run_without_sys_module(struct e2e_out *o, const char *bin, const char *id, const char *script)
{
  ck_assert_msg(e2e_sh(o, NULL,
                       "command -v capsh >/dev/null || { echo 'capsh is not installed' >&2; exit "
                       "99; }; capsh --drop=cap_sys_module -- -c '%s -a \"$ADDR\" -n %s run "
                       "--privileged %s %s sh -c \"%s\"'",
                       bin, ns, img, id, script) == 0,
                "%s run --privileged: %s", bin, o->err);
}

/* The spec containerd holds for container id (then removed), as JSON. */
static json_t *
held_spec(const char *id)
{
  cleanup_e2e_out struct e2e_out o = {0}, r = {0};
  json_error_t jerr;
  json_t *info, *spec;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s c info %s", ns, id), 0);
  info = json_loads(o.out, 0, &jerr);
  ck_assert_msg(info != NULL, "c info %s: %s", id, jerr.text);
  spec = json_object_get(info, "Spec");
  ck_assert_ptr_nonnull(spec);
  json_incref(spec);
  json_decref(info);
  e2e_sh(&r, NULL,
         "$CTR -a \"$ADDR\" -n %1$s tasks rm %2$s >/dev/null 2>&1; $CTR -a \"$ADDR\" -n %1$s c rm "
         "%2$s",
         ns, id);
  return spec;
}

/* a (ctr's) and b (ctrx's) are equal; else fail showing where they part. */
static void
assert_same_lines(const char *what, const char *a, const char *b)
{
  size_t i = 0, line = 0;

  while (a[i] != '\0' && a[i] == b[i]) {
    if (a[i] == '\n')
      line = i + 1;
    i++;
  }
  if (a[i] == '\0' && b[i] == '\0')
    return;
  /* a long line (the spec): from a little before they part */
  if (i > line + 60)
    line = i - 60;
  ck_abort_msg("%s: ctrx has '%.160s'\nctr has '%.160s'", what, b + line, a + line);
}

static unsigned long long
cap_eff(const char *status_lines)
{
  const char *p = strstr(status_lines, "CapEff:");
  char *end = NULL;
  unsigned long long v;

  ck_assert_msg(p != NULL, "%s", status_lines);
  errno = 0;
  v = strtoull(p + 7, &end, 16);
  ck_assert_msg(errno == 0 && end != p + 7, "%s", status_lines);
  return v;
}

/* What the process sees: its CapEff and its /dev. The same container id
 * for both, so that the specs (cgroupsPath) can be compared whole. */
START_TEST(privileged_under_partial_bounding_set)
{
  cleanup_e2e_out struct e2e_out c = {0}, x = {0}, p = {0}, h = {0};
  /* no times: runc makes the nodes anew for each container */
  static const char script[] =
      "grep -E ^Cap /proc/self/status; stat -c %n:%F:%a:%u:%g:%t:%T /dev/* | sort";
  json_t *ctr_spec, *ctrx_spec;

  ck_assert_int_eq(e2e_sh(&p, NULL, "$CTR -a \"$ADDR\" -n %s images pull --plain-http %s", ns, img),
                   0);
  run_without_sys_module(&c, "$CTR", "p1", script);
  ctr_spec = held_spec("p1");
  run_without_sys_module(&x, "$CTRX", "p1", script);
  ctrx_spec = held_spec("p1");

  /* what ctr gives: the caller's set, so no CAP_SYS_MODULE */
  ck_assert_msg((cap_eff(c.out) & (1ULL << CAP_SYS_MODULE_BIT)) == 0, "%s", c.out);
  ck_assert_msg(cap_eff(c.out) != 0, "%s", c.out);
  assert_same_lines("what the process sees", c.out, x.out);

  /* the host's device nodes are in /dev: /dev/null and one not in the
   * default set (kmsg, the first of those every Linux has) */
  ck_assert(strstr(x.out, "/dev/null:character special file:666:0:0:1:3\n") != NULL);
  e2e_sh(&h, NULL, "test -c /dev/kmsg && echo yes");
  if (strcmp(h.out, "yes\n") == 0)
    ck_assert_msg(strstr(x.out, "/dev/kmsg:character special file:") != NULL, "no /dev/kmsg");

  if (!json_equal(ctr_spec, ctrx_spec)) {
    cleanup_free char *a = json_dumps(ctr_spec, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *b = json_dumps(ctrx_spec, JSON_COMPACT | JSON_SORT_KEYS);
    assert_same_lines("the spec containerd holds (one line)", a, b);
  }
  json_decref(ctr_spec);
  json_decref(ctrx_spec);
}
END_TEST

/* Without --privileged nothing of that: the default capabilities, /dev
 * without the host's nodes. */
START_TEST(unprivileged_stays_default)
{
  cleanup_e2e_out struct e2e_out x = {0};

  ck_assert_msg(e2e_sh(&x, NULL,
                       "capsh --drop=cap_sys_module -- -c '$CTRX -a \"$ADDR\" -n %s run --rm %s u1 "
                       "sh -c \"grep ^CapEff /proc/self/status; ls /dev\"'",
                       ns, img) == 0,
                "%s", x.err);
  ck_assert_msg(strncmp(x.out, "CapEff:\t00000000a80425fb\n", 25) == 0, "%s", x.out);
  ck_assert_msg(strstr(x.out, "kmsg") == NULL, "%s", x.out);
}
END_TEST

Suite *
run_privileged_suite(void)
{
  Suite *s = suite_create("run_privileged");
  TCase *t = tcase_create("privileged");

  tcase_set_timeout(t, 180);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, privileged_under_partial_bounding_set);
  tcase_add_test(t, unprivileged_stays_default);
  suite_add_tcase(s, t);
  return s;
}
