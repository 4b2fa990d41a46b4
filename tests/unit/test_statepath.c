/* Where ctrx keeps its state (the endpoint health memory, caches):
 * $CTRX_STATE_DIR, then $XDG_STATE_HOME/ctrx, then /var/lib/ctrx for root and
 * ~/.local/state/ctrx for everyone else. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

Suite *statepath_suite(void);

struct statepath_case {
  const char *state_dir; /* NULL: unset */
  const char *xdg;
  const char *home;
  const char *want_root;  /* for uid 0 */
  const char *want_other; /* for any other uid */
};

static const struct statepath_case cases[] = {
    /* each variable wins over those after it */
    {"/s", "/x", "/h", "/s", "/s"},
    {NULL, "/x", "/h", "/x/ctrx", "/x/ctrx"},
    {NULL, NULL, "/h", "/var/lib/ctrx", "/h/.local/state/ctrx"},
    /* empty counts as unset */
    {"", "", "/h", "/var/lib/ctrx", "/h/.local/state/ctrx"},
    {"", "/x", "/h", "/x/ctrx", "/x/ctrx"},
    /* no home: the system directory */
    {NULL, NULL, NULL, "/var/lib/ctrx", "/var/lib/ctrx"},
    {NULL, NULL, "", "/var/lib/ctrx", "/var/lib/ctrx"},
};

static const struct statepath_case *cur;

static const char *
table_get(const char *name)
{
  if (strcmp(name, "CTRX_STATE_DIR") == 0)
    return cur->state_dir;
  if (strcmp(name, "XDG_STATE_HOME") == 0)
    return cur->xdg;
  if (strcmp(name, "HOME") == 0)
    return cur->home;
  return NULL;
}

START_TEST(lookup_order)
{
  struct ctrx_env env;
  cleanup_free char *root = NULL, *other = NULL;

  cur = &cases[_i];
  config_read_env(&env, table_get);
  root = config_state_dir(&env, true);
  other = config_state_dir(&env, false);
  ck_assert_str_eq(root, cur->want_root);
  ck_assert_str_eq(other, cur->want_other);
}
END_TEST

Suite *
statepath_suite(void)
{
  Suite *s = suite_create("statepath");
  TCase *t = tcase_create("lookup");

  tcase_add_loop_test(t, lookup_order, 0, (int)ARRAY_SIZE(cases));
  suite_add_tcase(s, t);
  return s;
}
