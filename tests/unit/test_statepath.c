/* Where the endpoint health memory lives: $CTRX_STATE_DIR, then
 * $XDG_STATE_HOME/ctrx, then /var/lib/ctrx for root and ~/.local/state/ctrx
 * for everyone else. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health.h"
#include "util.h"

Suite *statepath_suite(void);

static const char *const saved_names[] = {"CTRX_STATE_DIR", "XDG_STATE_HOME", "HOME"};
static char *saved[ARRAY_SIZE(saved_names)];

static void
setup(void)
{
  for (size_t i = 0; i < ARRAY_SIZE(saved_names); i++) {
    const char *v = getenv(saved_names[i]);
    saved[i] = v ? xstrdup(v) : NULL;
  }
}

static void
teardown(void)
{
  for (size_t i = 0; i < ARRAY_SIZE(saved_names); i++) {
    if (saved[i])
      setenv(saved_names[i], saved[i], 1);
    else
      unsetenv(saved_names[i]);
    free(saved[i]);
    saved[i] = NULL;
  }
}

struct statepath_case {
  const char *state_dir; /* NULL: unset */
  const char *xdg;
  const char *home;
  const char *want_root;  /* for uid 0 */
  const char *want_other; /* for any other uid */
};

static const struct statepath_case cases[] = {
    /* each variable wins over those after it */
    {"/s", "/x", "/h", "/s/endpoints", "/s/endpoints"},
    {NULL, "/x", "/h", "/x/ctrx/endpoints", "/x/ctrx/endpoints"},
    {NULL, NULL, "/h", "/var/lib/ctrx/endpoints", "/h/.local/state/ctrx/endpoints"},
    /* empty counts as unset */
    {"", "", "/h", "/var/lib/ctrx/endpoints", "/h/.local/state/ctrx/endpoints"},
    {"", "/x", "/h", "/x/ctrx/endpoints", "/x/ctrx/endpoints"},
    /* no home: the system directory */
    {NULL, NULL, NULL, "/var/lib/ctrx/endpoints", "/var/lib/ctrx/endpoints"},
    {NULL, NULL, "", "/var/lib/ctrx/endpoints", "/var/lib/ctrx/endpoints"},
};

static void
set_or_unset(const char *name, const char *v)
{
  if (v)
    setenv(name, v, 1);
  else
    unsetenv(name);
}

/* health_default_path() as seen by a process running as uid. */
static char *
path_as(uid_t uid)
{
  int fds[2];
  pid_t pid;
  int status = 0;
  char got[4096] = {0};
  ssize_t n;

  if (geteuid() == uid)
    return health_default_path();
  ck_assert_int_eq(pipe(fds), 0);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char *p;
    close(fds[0]);
    if (setresuid(uid, uid, uid) != 0)
      _exit(2);
    p = health_default_path();
    _exit(write_all(fds[1], p, strlen(p)) == 0 ? 0 : 3);
  }
  close(fds[1]);
  n = read(fds[0], got, sizeof(got) - 1);
  close(fds[0]);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  ck_assert_int_gt(n, 0);
  return xstrdup(got);
}

START_TEST(lookup_order)
{
  const struct statepath_case *c = &cases[_i];
  cleanup_free char *other = NULL;

  set_or_unset("CTRX_STATE_DIR", c->state_dir);
  set_or_unset("XDG_STATE_HOME", c->xdg);
  set_or_unset("HOME", c->home);
  if (geteuid() == 0) {
    cleanup_free char *root = path_as(0);
    ck_assert_str_eq(root, c->want_root);
  }
  /* another user: only root can become one; everyone else is one */
  if (geteuid() != 0 || getuid() == 0) {
    other = path_as(geteuid() != 0 ? geteuid() : 65534);
    ck_assert_str_eq(other, c->want_other);
  }
}
END_TEST

Suite *
statepath_suite(void)
{
  Suite *s = suite_create("statepath");
  TCase *t = tcase_create("lookup");

  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_loop_test(t, lookup_order, 0, (int)ARRAY_SIZE(cases));
  suite_add_tcase(s, t);
  return s;
}
