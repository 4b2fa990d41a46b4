/* Endpoint health memory: order, persistence, damaged files. */
#include <check.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "health.h"
#include "unit.h"
#include "util.h"

static char dir[] = "/tmp/ctrx-health-XXXXXX";

static void
setup(void)
{
  unit_tmpdir_make(dir);
}

static void
teardown(void)
{
  unit_tmpdir_remove(dir);
}

static char *
path(const char *name)
{
  return xasprintf("%s/%s", dir, name);
}

START_TEST(missing_file_is_empty)
{
  cleanup_free char *p = path("nope/endpoints");
  char *warn = NULL;
  struct health *h = health_load(p, &warn);
  const char *bases[] = {"a", "b"};
  size_t order[2];

  ck_assert_ptr_null(warn);
  health_order(h, bases, 2, order);
  ck_assert_uint_eq(order[0], 0);
  ck_assert_uint_eq(order[1], 1);
  health_free(h);
}
END_TEST

START_TEST(failed_goes_last_and_persists)
{
  cleanup_free char *p = path("state/endpoints");
  char *warn = NULL;
  struct health *h = health_load(p, &warn);
  const char *bases[] = {"http://a/v2", "http://b/v2", "http://c/v2"};
  size_t order[3];
  struct error *err = NULL;

  health_failed(h, "http://a/v2");
  health_order(h, bases, 3, order);
  ck_assert_uint_eq(order[0], 1);
  ck_assert_uint_eq(order[1], 2);
  ck_assert_uint_eq(order[2], 0);
  ck_assert_int_eq(health_save(h, &err), 0);
  health_free(h);

  h = health_load(p, &warn);
  ck_assert_ptr_null(warn);
  ck_assert_int_ge(health_failed_ago(h, "http://a/v2"), 0);
  ck_assert_int_eq(health_failed_ago(h, "http://b/v2"), -1);
  health_ok(h, "http://a/v2");
  ck_assert_int_eq(health_failed_ago(h, "http://a/v2"), -1);
  ck_assert_int_eq(health_save(h, &err), 0);
  health_free(h);
  h = health_load(p, &warn);
  ck_assert_int_eq(health_failed_ago(h, "http://a/v2"), -1);
  health_free(h);
}
END_TEST

START_TEST(old_failures_are_forgotten)
{
  cleanup_free char *p = path("endpoints");
  cleanup_free char *text =
      xasprintf("ctrx-endpoints 1\n%lld http://old/v2\n%lld http://new/v2\n",
                (long long)time(NULL) - HEALTH_WINDOW_S - 5, (long long)time(NULL) - 3);
  char *warn = NULL;
  struct health *h;

  free(unit_write(dir, "endpoints", text));
  h = health_load(p, &warn);
  ck_assert_ptr_null(warn);
  ck_assert_int_eq(health_failed_ago(h, "http://old/v2"), -1);
  ck_assert_int_ge(health_failed_ago(h, "http://new/v2"), 3);
  health_free(h);
}
END_TEST

static const char *const damaged[] = {
    "garbage\n",
    "ctrx-endpoints 1\nnot-a-number http://a/v2\n",
    "ctrx-endpoints 1\n123\n",
    "ctrx-endpoints 2\n1 http://a/v2\n",
    "ctrx-endpoints 1\n-5 http://a/v2\n",
};

START_TEST(damaged_file_is_ignored_with_a_warning)
{
  cleanup_free char *p = path("endpoints");
  char *warn = NULL;
  struct health *h;

  free(unit_write(dir, "endpoints", damaged[_i]));
  h = health_load(p, &warn);
  ck_assert_ptr_nonnull(warn);
  ck_assert_msg(strstr(warn, "damaged") != NULL, "%s", warn);
  ck_assert_int_eq(health_failed_ago(h, "http://a/v2"), -1);
  free(warn);
  health_free(h);
}
END_TEST

START_TEST(expired_entries_are_pruned_on_save)
{
  cleanup_free char *p = path("endpoints");
  cleanup_free char *text =
      xasprintf("ctrx-endpoints 1\n%lld http://old/v2\n%lld http://new/v2\n",
                (long long)time(NULL) - HEALTH_WINDOW_S - 5, (long long)time(NULL) - 3);
  struct buf b = BUF_INIT;
  struct error *err = NULL;
  char *warn = NULL;
  struct health *h;

  free(unit_write(dir, "endpoints", text));
  h = health_load(p, &warn);
  ck_assert_ptr_null(warn);
  health_failed(h, "http://other/v2");
  ck_assert_int_eq(health_save(h, &err), 0);
  health_free(h);
  ck_assert_int_eq(read_file(p, 1 << 20, &b), 0);
  ck_assert_msg(strstr(b.data, "http://old/v2") == NULL, "%s", b.data);
  ck_assert_msg(strstr(b.data, " http://new/v2\n") != NULL, "%s", b.data);
  ck_assert_msg(strstr(b.data, " http://other/v2\n") != NULL, "%s", b.data);
  buf_release(&b);
}
END_TEST

/* A FIFO (or a directory) where the state file should be: no blocking open,
 * a warning, an empty memory, and the thing itself left alone on save. */
START_TEST(not_a_regular_file_is_refused)
{
  cleanup_free char *p = path("endpoints");
  struct error *err = NULL;
  struct stat st;
  char *warn = NULL;
  struct health *h;

  if (_i == 0)
    ck_assert_int_eq(mkfifo(p, 0600), 0);
  else
    ck_assert_int_eq(mkdir(p, 0700), 0);
  alarm(10); /* the old code blocked in open() forever */
  h = health_load(p, &warn);
  alarm(0);
  ck_assert_ptr_nonnull(warn);
  ck_assert_msg(strstr(warn, "not a regular file") != NULL, "%s", warn);
  free(warn);
  health_failed(h, "http://a/v2");
  ck_assert_int_ge(health_failed_ago(h, "http://a/v2"), 0);
  ck_assert_int_eq(health_save(h, &err), 0);
  health_free(h);
  ck_assert_int_eq(lstat(p, &st), 0);
  ck_assert(_i == 0 ? S_ISFIFO(st.st_mode) : S_ISDIR(st.st_mode));
}
END_TEST

Suite *
health_suite(void)
{
  Suite *s = suite_create("health");
  TCase *t = tcase_create("memory");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, missing_file_is_empty);
  tcase_add_test(t, failed_goes_last_and_persists);
  tcase_add_test(t, old_failures_are_forgotten);
  tcase_add_loop_test(t, damaged_file_is_ignored_with_a_warning, 0, (int)ARRAY_SIZE(damaged));
  tcase_add_test(t, expired_entries_are_pruned_on_save);
  tcase_add_loop_test(t, not_a_regular_file_is_refused, 0, 2);
  suite_add_tcase(s, t);
  return s;
}
