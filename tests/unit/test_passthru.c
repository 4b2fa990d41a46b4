/* The cache of the real ctr's version: found again only for the same binary
 * (path, device, inode, size, modification time); a damaged file is a miss
 * and is written over. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "passthru.h"
#include "util.h"

Suite *passthru_suite(void);

#define V2 "ctr github.com/containerd/containerd/v2 2.1.5"

static char *dir;
static char *file;

static void
setup(void)
{
  dir = xstrdup("/tmp/ctrx-unit-vcache.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  file = xasprintf("%s/state/ctr-version", dir);
}

static void
teardown(void)
{
  cleanup_free char *state = xasprintf("%s/state", dir);

  unlink(file);
  rmdir(state);
  rmdir(dir);
  free(file);
  free(dir);
}

static struct stat
some_binary(void)
{
  struct stat st;

  ck_assert_int_eq(stat("/bin/sh", &st), 0);
  return st;
}

static void
write_text(const char *text)
{
  FILE *f = fopen(file, "w");

  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(hit_after_save)
{
  struct stat st = some_binary();
  cleanup_free char *got = NULL;

  ck_assert_ptr_null(passthru_version_cached(file, "/usr/bin/ctr", &st));
  /* the state directory is made when missing */
  ck_assert_int_eq(passthru_version_save(file, "/usr/bin/ctr", &st, V2 "\nmore\n", NULL), 0);
  got = passthru_version_cached(file, "/usr/bin/ctr", &st);
  ck_assert_ptr_nonnull(got);
  ck_assert_str_eq(got, V2);
}
END_TEST

/* Another binary, or the same path replaced or touched: a miss. */
static const char *const changes[] = {"path", "mtime", "mtime_ns", "inode", "device", "size"};

START_TEST(miss_on_other_identity)
{
  struct stat st = some_binary();
  struct stat other = st;
  const char *path = "/usr/bin/ctr";
  const char *what = changes[_i];

  ck_assert_int_eq(passthru_version_save(file, path, &st, V2, NULL), 0);
  if (strcmp(what, "path") == 0)
    path = "/usr/local/bin/ctr";
  else if (strcmp(what, "mtime") == 0)
    other.st_mtim.tv_sec++;
  else if (strcmp(what, "mtime_ns") == 0)
    other.st_mtim.tv_nsec = (other.st_mtim.tv_nsec + 1) % 1000000000;
  else if (strcmp(what, "inode") == 0)
    other.st_ino++;
  else if (strcmp(what, "device") == 0)
    other.st_dev++;
  else
    other.st_size++;
  ck_assert_ptr_null(passthru_version_cached(file, path, &other));
}
END_TEST

/* What a damaged or foreign file may hold: all misses, then written over. */
static const char *const damaged[] = {
    "",
    "garbage",
    "ctrx-ctr-version 2\n%s\n" V2 "\n",
    "ctrx-ctr-version 1\n%s\n",
    "ctrx-ctr-version 1\n%s\n\n",
    "ctrx-ctr-version 1\n%s\n" V2,
    "ctrx-ctr-version 1\n%s\n" V2 "\nextra\n",
    "ctrx-ctr-version 1\n%s x\n" V2 "\n",
    "ctrx-ctr-version 1\n" V2 "\n%s\n",
};

START_TEST(corrupt_is_a_miss)
{
  struct stat st = some_binary();
  cleanup_free char *got = NULL;
  cleanup_free char *id = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *state = xasprintf("%s/state", dir);
  char *line;

  /* the identity line as the cache writes it */
  ck_assert_int_eq(passthru_version_save(file, "/usr/bin/ctr", &st, V2, NULL), 0);
  {
    cleanup_buf struct buf b = BUF_INIT;
    ck_assert_int_eq(read_file(file, 4096, &b), 0);
    line = strchr(b.data, '\n') + 1;
    id = xstrndup(line, strcspn(line, "\n"));
  }
  text = xasprintf(damaged[_i], id);
  write_text(text);
  ck_assert_ptr_null(passthru_version_cached(file, "/usr/bin/ctr", &st));
  ck_assert_int_eq(passthru_version_save(file, "/usr/bin/ctr", &st, V2, NULL), 0);
  got = passthru_version_cached(file, "/usr/bin/ctr", &st);
  ck_assert_ptr_nonnull(got);
  ck_assert_str_eq(got, V2);
}
END_TEST

/* A state directory that cannot be made: an error, nothing cached. */
START_TEST(unwritable)
{
  struct stat st = some_binary();
  cleanup_free char *blocker = xasprintf("%s/state", dir);
  struct error *err = NULL;
  FILE *f = fopen(blocker, "w"); /* a file where the directory should be */

  ck_assert_ptr_nonnull(f);
  fclose(f);
  ck_assert_int_eq(passthru_version_save(file, "/usr/bin/ctr", &st, V2, &err), -1);
  ck_assert_ptr_nonnull(err);
  error_free(err);
  ck_assert_ptr_null(passthru_version_cached(file, "/usr/bin/ctr", &st));
  unlink(blocker);
  /* nothing to cache: an empty version, a path with a newline */
  ck_assert_int_eq(passthru_version_save(file, "/usr/bin/ctr", &st, "", NULL), -1);
  ck_assert_int_eq(passthru_version_save(file, "/a\nb", &st, V2, NULL), -1);
}
END_TEST

Suite *
passthru_suite(void)
{
  Suite *s = suite_create("passthru");
  TCase *tc = tcase_create("version_cache");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, hit_after_save);
  tcase_add_loop_test(tc, miss_on_other_identity, 0, ARRAY_SIZE(changes));
  tcase_add_loop_test(tc, corrupt_is_a_miss, 0, ARRAY_SIZE(damaged));
  tcase_add_test(tc, unwritable);
  suite_add_tcase(s, tc);
  return s;
}
