/* The file helpers of util.c that hosts add and the endpoint health memory
 * share: mkdir_p and write_file_atomic. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "unit.h"
#include "util.h"

Suite *util_suite(void);

static char tmpdir[] = "/tmp/ctrx-util-test-XXXXXX";

static void
setup(void)
{
  unit_tmpdir_make(tmpdir);
}

static void
teardown(void)
{
  unit_tmpdir_remove(tmpdir);
}

static const struct {
  const char *pre;     /* directory made first, relative to tmpdir; NULL: none */
  const char *path;    /* relative to tmpdir */
  const char *created; /* expected, relative; NULL: none */
} mkdirs[] = {
    {NULL, "a", "a"},     {NULL, "a/b/c", "a"},  {"a", "a/b/c", "a/b"},
    {"a/b", "a/b", NULL}, {"a/b", "a/b/", NULL},
};

START_TEST(test_mkdir_p)
{
  cleanup_free char *path = xasprintf("%s/%s", tmpdir, mkdirs[_i].path);
  cleanup_free char *created = NULL;
  struct error *err = NULL;
  struct stat st;

  if (mkdirs[_i].pre) {
    cleanup_free char *pre = xasprintf("%s/%s", tmpdir, mkdirs[_i].pre);
    ck_assert_int_eq(mkdir_p(pre, NULL, &err), 0);
  }
  ck_assert_msg(mkdir_p(path, &created, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert(S_ISDIR(st.st_mode));
  if (mkdirs[_i].created) {
    cleanup_free char *want = xasprintf("%s/%s", tmpdir, mkdirs[_i].created);
    ck_assert_str_eq(created, want);
    rmdir_created(path, created);
    ck_assert_int_ne(stat(want, &st), 0);
  } else {
    ck_assert_ptr_null(created);
  }
}
END_TEST

START_TEST(test_mkdir_p_not_a_directory)
{
  cleanup_free char *file = unit_write(tmpdir, "f", "x");
  cleanup_free char *below = xasprintf("%s/f/d", tmpdir);
  cleanup_free char *created = NULL;
  struct error *err = NULL;

  ck_assert_int_eq(mkdir_p(file, &created, &err), -1);
  ck_assert_int_eq(err->sys_errno, ENOTDIR);
  ck_assert_ptr_null(created);
  error_freep(&err);
  ck_assert_int_eq(mkdir_p(below, NULL, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "create directory"));
  error_freep(&err);
}
END_TEST

/* Only the file itself is left in tmpdir: no temporary file. */
static size_t
entries(void)
{
  DIR *d = opendir(tmpdir);
  struct dirent *de;
  size_t n = 0;

  ck_assert_ptr_nonnull(d);
  while ((de = readdir(d)) != NULL)
    n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  closedir(d);
  return n;
}

START_TEST(test_write_file_atomic)
{
  cleanup_free char *file = xasprintf("%s/out", tmpdir);
  cleanup_buf struct buf b = BUF_INIT;
  struct error *err = NULL;
  struct stat st;

  ck_assert_int_eq(write_file_atomic(file, "one\n", 4, 0600, NULL, &err), 0);
  ck_assert_int_eq(stat(file, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(chmod(file, 0640), 0);
  ck_assert_int_eq(stat(file, &st), 0);
  /* replacing: the old file's mode wins over the one given */
  ck_assert_int_eq(write_file_atomic(file, "two\n", 4, 0644, &st, &err), 0);
  ck_assert_int_eq(stat(file, &st), 0);
  ck_assert_int_eq(st.st_mode & 07777, 0640);
  ck_assert_int_eq(read_file(file, 100, &b), 0);
  ck_assert_str_eq(b.data, "two\n");
  ck_assert_uint_eq(entries(), 1);
}
END_TEST

START_TEST(test_write_file_atomic_fails_cleanly)
{
  cleanup_free char *missing = xasprintf("%s/no/out", tmpdir);
  cleanup_free char *onto_dir = xasprintf("%s/d", tmpdir);
  cleanup_free char *inner = xasprintf("%s/d/x", tmpdir);
  struct error *err = NULL;

  ck_assert_int_eq(write_file_atomic(missing, "x", 1, 0644, NULL, &err), -1);
  ck_assert_int_eq(err->sys_errno, ENOENT);
  ck_assert_ptr_nonnull(strstr(err->msg, "create temporary file in"));
  error_freep(&err);
  /* a directory (not empty) in the way: the rename fails, no temporary file stays */
  ck_assert_int_eq(mkdir_p(inner, NULL, &err), 0);
  ck_assert_int_eq(write_file_atomic(onto_dir, "x", 1, 0644, NULL, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "rename"));
  error_freep(&err);
  ck_assert_uint_eq(entries(), 1);
}
END_TEST

Suite *
util_suite(void)
{
  Suite *s = suite_create("util");
  TCase *tc = tcase_create("files");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_mkdir_p, 0, ARRAY_SIZE(mkdirs));
  tcase_add_test(tc, test_mkdir_p_not_a_directory);
  tcase_add_test(tc, test_write_file_atomic);
  tcase_add_test(tc, test_write_file_atomic_fails_cleanly);
  suite_add_tcase(s, tc);
  return s;
}
