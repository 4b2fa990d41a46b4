/* What ctrx writes to a terminal is text: errors and log lines quote what
 * registries, files and the command line said, and none of it may move the
 * cursor, clear the screen, set the title or start a forged "ctrx:" line. */
#include <string.h>

#include "e2e.h"
#include "util.h"

Suite *terminal_suite(void);

static void
assert_no_control(const char *what, const char *text)
{
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    bool c1 = (*p >= 0x80 && *p <= 0x9f && (p == (const unsigned char *)text || p[-1] < 0x80)) ||
              (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
    ck_assert_msg(!((*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f || c1),
                  "%s: control byte 0x%02x in:\n%s", what, *p, text);
  }
}

START_TEST(errors_quote_control_characters_harmlessly)
{
  cleanup_e2e_out struct e2e_out o = {0};

  /* escape sequences, a bell, a raw and an encoded CSI, and a newline that
   * would start a forged line */
  ck_assert_int_eq(e2e_sh(&o, NULL,
                          "$CTRX ref \"$(printf 'a\\033[2J\\033]0;t\\007b\\233c\\302\\233d\\n"
                          "ctrx: forged')\""),
                   1);
  ck_assert_msg(strstr(o.err, "invalid reference") != NULL, "%s", o.err);
  assert_no_control("ref error", o.err);
  ck_assert_msg(strstr(o.err, "\nctrx: forged") == NULL, "%s", o.err);
}
END_TEST

Suite *
terminal_suite(void)
{
  Suite *s = suite_create("terminal");
  TCase *t = tcase_create("terminal");

  tcase_add_test(t, errors_quote_control_characters_harmlessly);
  suite_add_tcase(s, t);
  return s;
}
