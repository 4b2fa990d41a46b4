/* The pull before a run that ctr runs (a flag ctrx hands to ctr) unpacks
 * into the snapshotter that run names, by --snapshotter or by
 * CONTAINERD_SNAPSHOTTER, as ctrx's own run does: not into the default. */
#include "e2e.h"
#include "util.h"

static char *ns;
static char *img;

static void
setup(void)
{
  e2e_run_fixture("runsn", &ns, &img);
}

static void
teardown(void)
{
  e2e_run_fixture_release(&ns, &img);
}

/* The committed snapshots (the unpacked layers) of NS in SNAPSHOTTER. */
static char *
committed(const char *snapshotter)
{
  struct e2e_out o = {0};

  e2e_sh(&o, NULL,
         "$CTR -a \"$ADDR\" -n %s snapshots --snapshotter %s ls | awk '$NF == \"Committed\" "
         "{print $1}'",
         ns, snapshotter);
  free(o.err);
  return o.out;
}

static void
assert_unpacked_into_native_only(void)
{
  cleanup_free char *native = committed("native");
  cleanup_free char *overlay = committed("overlayfs");

  ck_assert_msg(strcmp(native, "") != 0, "no layer unpacked into native");
  ck_assert_msg(strcmp(overlay, "") == 0, "the pull unpacked into overlayfs:\n%s", overlay);
}

START_TEST(flag_names_the_snapshotter)
{
  cleanup_e2e_out struct e2e_out a = {0};

  ck_assert_msg(e2e_sh(&a, NULL,
                       "$CTRX -a \"$ADDR\" -n %s run --rm --snapshotter native --cpu-shares 512 %s "
                       "s1 echo via-ctr",
                       ns, img) == 0,
                "%s", a.err);
  ck_assert_str_eq(a.out, "via-ctr\n");
  assert_unpacked_into_native_only();
}
END_TEST

START_TEST(environment_names_the_snapshotter)
{
  cleanup_e2e_out struct e2e_out a = {0};

  ck_assert_msg(e2e_sh(&a, NULL,
                       "CONTAINERD_SNAPSHOTTER=native $CTRX -a \"$ADDR\" -n %s run --rm "
                       "--cpu-shares=512 %s s2 echo via-ctr",
                       ns, img) == 0,
                "%s", a.err);
  ck_assert_str_eq(a.out, "via-ctr\n");
  assert_unpacked_into_native_only();
}
END_TEST

Suite *run_snapshotter_suite(void);

Suite *
run_snapshotter_suite(void)
{
  Suite *s = suite_create("run_snapshotter");
  TCase *t = tcase_create("passthru");

  tcase_set_timeout(t, 120);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, flag_names_the_snapshotter);
  tcase_add_test(t, environment_names_the_snapshotter);
  suite_add_tcase(s, t);
  return s;
}
