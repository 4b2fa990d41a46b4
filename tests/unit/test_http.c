/* The registry transport's pure parts: header redaction for the --debug
 * log, and what a server says made fit for a terminal. No network. */
#include <check.h>
#include <string.h>

#include "http.h"
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

static const struct {
  const char *url;
  const char *origin;
  const char *host;
} origin_cases[] = {
    {"https://registry-1.docker.io/v2", "https://registry-1.docker.io", "registry-1.docker.io"},
    {"http://127.0.0.1:5000/v2/a/b?ns=x", "http://127.0.0.1:5000", "127.0.0.1:5000"},
    {"https://user:pw@r.example:443/v2#f", "https://r.example:443", "r.example:443"},
    {"https://r.example?x=@y", "https://r.example", "r.example"},
    {"r.example/v2", "r.example/v2", "r.example/v2"},
};

START_TEST(url_origins)
{
  cleanup_free char *o = http_url_origin(origin_cases[_i].url, false);
  cleanup_free char *h = http_url_origin(origin_cases[_i].url, true);

  ck_assert_str_eq(o, origin_cases[_i].origin);
  ck_assert_str_eq(h, origin_cases[_i].host);
}
END_TEST

/* The message of a registry's error body; NULL when there is none. */
static const struct {
  const char *body;
  const char *want;
} message_cases[] = {
    {"{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access is denied\"}]}",
     "requested access is denied"},
    {"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"\"}]}", "UNAUTHORIZED"},
    {"{\"errors\":[{\"code\":\"X\",\"message\":\"a\\u001b[31mred\\nline\"}]}", "ared line"},
    {"{\"errors\":[]}", NULL},
    {"{\"other\":1}", NULL},
    {"Client sent an HTTP request to an HTTPS server.\n",
     "Client sent an HTTP request to an HTTPS server."},
    {"bad \x01 byte", NULL},
    {"", NULL},
};

START_TEST(registry_messages)
{
  struct buf b = BUF_INIT;
  cleanup_free char *got = NULL;

  buf_addstr(&b, message_cases[_i].body);
  got = http_message(&b);
  if (message_cases[_i].want == NULL)
    ck_assert_msg(got == NULL, "case %d: got \"%s\"", _i, got);
  else
    ck_assert_msg(got != NULL && strcmp(got, message_cases[_i].want) == 0, "case %d: got \"%s\"",
                  _i, got ? got : "(null)");
  buf_release(&b);
}
END_TEST

/* A status becomes an error code and words, with the registry's message. */
static const struct {
  long status;
  const char *body;
  int code;
  const char *msg;
} status_cases[] = {
    {401, "", ERR_UNAUTHENTICATED, "unauthorized: status 401"},
    {403, "{\"errors\":[{\"message\":\"no\"}]}", ERR_PERMISSION, "denied: status 403: no"},
    {404, "{\"errors\":[{\"message\":\"x\"}]}", ERR_NOT_FOUND, "not found"},
    {429, "", ERR_EXHAUSTED, "too many requests: status 429"},
    {302, "", ERR_UNAVAILABLE, "unexpected redirect: status 302"},
    {500, "oops", ERR_UNAVAILABLE, "unexpected status: status 500: oops"},
};

START_TEST(status_errors)
{
  struct http_req q = {.status = status_cases[_i].status};
  struct error *err = NULL;

  buf_addstr(&q.body, status_cases[_i].body);
  ck_assert_int_eq(http_status_error(&q, &err), -1);
  ck_assert_int_eq(err->code, status_cases[_i].code);
  ck_assert_str_eq(err->msg, status_cases[_i].msg);
  error_free(err);
  http_req_release(&q);
}
END_TEST

Suite *
http_suite(void)
{
  Suite *s = suite_create("http");
  TCase *tc = tcase_create("pure");

  tcase_add_test(tc, redact_headers);
  tcase_add_loop_test(tc, sanitize_server_text, 0, ARRAY_SIZE(sanitize_cases));
  tcase_add_loop_test(tc, url_origins, 0, ARRAY_SIZE(origin_cases));
  tcase_add_loop_test(tc, registry_messages, 0, ARRAY_SIZE(message_cases));
  tcase_add_loop_test(tc, status_errors, 0, ARRAY_SIZE(status_cases));
  suite_add_tcase(s, tc);
  return s;
}
