/* The value ctr reads for one flag of a command line it is handed, as Go's
 * flag package reads it (run: no reordering; others: urfave/cli's). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctrargs.h"
#include "util.h"

Suite *ctrargs_flag_suite(void);

static const struct {
  const char *args; /* words separated by single spaces */
  const char *flag;
  const char *want; /* NULL: not given */
} cases[] = {
    {"run --snapshotter native --cpu-shares 512 img id", "snapshotter", "native"},
    {"run --cpu-shares 512 -snapshotter native img id", "snapshotter", "native"},
    {"run --snapshotter=native --cni img id", "snapshotter", "native"},
    {"run -snapshotter=native img id", "snapshotter", "native"},
    {"run --snapshotter= img id", "snapshotter", ""},
    /* the last one wins, as in Go */
    {"run --snapshotter a --snapshotter b img id", "snapshotter", "b"},
    {"run --cpu-shares 512 img id", "snapshotter", NULL},
    /* a flag's value that looks like the flag is a value */
    {"run --label --snapshotter img id", "snapshotter", NULL},
    {"run --env --snapshotter --snapshotter native img id", "snapshotter", "native"},
    /* after the image: the command's, not ctr's */
    {"run img id --snapshotter native", "snapshotter", NULL},
    {"run img id sh -c --snapshotter=x", "snapshotter", NULL},
    {"run -- --snapshotter native", "snapshotter", NULL},
    /* a command line ctr rejects */
    {"run --no-such-flag --snapshotter native img id", "snapshotter", NULL},
    {"run --snapshotter", "snapshotter", NULL},
    /* a boolean flag has no value to give */
    {"run --rm img id", "rm", NULL},
    /* aliases */
    {"run -c cfg.json id", "config", "cfg.json"},
    {"run --platform linux/arm64 img id", "platform", "linux/arm64"},
    /* commands urfave/cli reorders: flags after positionals count */
    {"images pull img --snapshotter native", "snapshotter", "native"},
    {"i pull --platform=linux/amd64 img", "platform", "linux/amd64"},
    {"containers create img id --snapshotter native", "snapshotter", "native"},
    /* commands ctrx does not know */
    {"tasks ls --snapshotter native", "snapshotter", NULL},
    {"", "snapshotter", NULL},
};

START_TEST(test_flag_value)
{
  cleanup_strv struct strv args = STRV_INIT;
  const char *s = cases[_i].args;
  const char *got;

  while (*s) {
    size_t n = strcspn(s, " ");
    strv_push_owned(&args, xstrndup(s, n));
    s += n;
    if (*s == ' ')
      s++;
  }
  got = ctrargs_flag_value(CTRARGS_1_6, &args, cases[_i].flag);
  if (cases[_i].want == NULL)
    ck_assert_msg(got == NULL, "%s: got \"%s\"", cases[_i].args, got);
  else
    ck_assert_msg(got != NULL && strcmp(got, cases[_i].want) == 0, "%s: got %s%s%s", cases[_i].args,
                  got ? "\"" : "", got ? got : "NULL", got ? "\"" : "");
}
END_TEST

Suite *
ctrargs_flag_suite(void)
{
  Suite *s = suite_create("ctrargs_flag");
  TCase *tc = tcase_create("value");

  tcase_add_loop_test(tc, test_flag_value, 0, ARRAY_SIZE(cases));
  suite_add_tcase(s, tc);
  return s;
}
