/* The registry transport's pure parts: header redaction for the --debug
 * log, and what a server says made fit for a terminal. No network. */
#include <check.h>
#include <string.h>

#include "registry_internal.h"
#include "util.h"

Suite *http_suite(void);

START_TEST(redact_headers)
{
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"Authorization: Bearer abc.def", "Authorization: <redacted>"},
      {"authorization: Basic Ym9iOnB3", "authorization: <redacted>"},
      {"Proxy-Authorization: Basic x", "Proxy-Authorization: <redacted>"},
      {"Cookie: session=1", "Cookie: <redacted>"},
      {"X-Custom: visible", "X-Custom: visible"},
      {"Authorization-Hint: visible", "Authorization-Hint: visible"},
      {"Range: bytes=10-", "Range: bytes=10-"},
      {"no colon", "no colon"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *r = http_redact_header(cases[i].in);
    ck_assert_str_eq(r, cases[i].out);
  }
}
END_TEST

/* What a server says, made fit for a terminal. */
static const struct {
  const char *in;
  size_t max;
  const char *out;
} sanitize_cases[] = {
    {"manifest unknown", 200, "manifest unknown"},
    {"", 200, ""},
    {"\033[2J\033[Hclear", 200, "clear"},
    {"a\033[31;1mred\033[0m b", 200, "ared b"},
    {"\033]0;title\007after", 200, "after"},
    {"\033]8;;http://x\033\\link\033]8;;\033\\", 200, "link"},
    {"\033Pdcs\033\\x", 200, "x"},
    {"\033(Bx", 200, "x"},
    {"\033cx", 200, "x"},
    {"\033", 200, ""},
    {"\033[", 200, ""},
    {"\033]unterminated", 200, ""},
    {"one\ntwo\r\nctrx: forged", 200, "one two ctrx: forged"},
    {"tab\there", 200, "tab here"},
    {"bell\007 del\177 nul-free\001", 200, "bell del nul-free"},
    {"trailing\n\n", 200, "trailing"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 200, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"},
    {"c1 \xc2\x9b"
     "31m csi",
     200, "c1 ??31m csi"},
    {"bad \xff\xfe", 200, "bad ??"},
    {"overlong \xc0\xaf", 200, "overlong ??"},
    {"surrogate \xed\xa0\x80", 200, "surrogate ???"},
    {"truncated \xe2\x82", 200, "truncated ??"},
    {"abcdefghij", 5, "abcde..."},
    {"abcde", 5, "abcde"},
    {"abcd\xc3\xa9", 5, "abcd..."},
    {"\033[1mabcdef", 3, "abc..."},
};

START_TEST(sanitize_server_text)
{
  cleanup_free char *got =
      http_sanitize(sanitize_cases[_i].in, strlen(sanitize_cases[_i].in), sanitize_cases[_i].max);

  ck_assert_msg(strcmp(got, sanitize_cases[_i].out) == 0, "case %d: got \"%s\", want \"%s\"", _i,
                got, sanitize_cases[_i].out);
}
END_TEST

Suite *
http_suite(void)
{
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("pure");

  tcase_add_test(tc, redact_headers);
  tcase_add_loop_test(tc, sanitize_server_text, 0, ARRAY_SIZE(sanitize_cases));
  suite_add_tcase(s, tc);
  return s;
}
