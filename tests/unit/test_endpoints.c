/* hosts.toml entries as registry endpoints: what a pull and `hosts check`
 * both ask, with ctr's --plain-http and --skip-verify. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints.h"
#include "unit.h"
#include "util.h"

Suite *endpoints_suite(void);

static const struct {
  const char *registry;
  const char *toml; /* NULL: the built-in default (or certs.d with certs) */
  bool certs;       /* a certs.d directory: the default endpoint, not TOML */
  struct endpoints_opts o;
  size_t n;         /* endpoints expected */
  size_t at;        /* the one checked */
  const char *base; /* expected */
  const char *ns;
  unsigned caps;
  int skip_verify;
  const char *header; /* its first header line, NULL for none */
} cases[] = {
    {"example.com", NULL, false, {false, false}, 1, 0, "https://example.com/v2", NULL, 7, -1, NULL},
    {"example.com", NULL, false, {true, false}, 1, 0, "http://example.com/v2", NULL, 7, -1, NULL},
    {"example.com", NULL, true, {true, false}, 1, 0, "http://example.com/v2", NULL, 7, -1, NULL},
    {"example.com", NULL, false, {false, true}, 1, 0, "https://example.com/v2", NULL, 7, 1, NULL},
    {"docker.io",
     NULL,
     false,
     {false, false},
     1,
     0,
     "https://registry-1.docker.io/v2",
     NULL,
     7,
     -1,
     NULL},
    {"localhost:5000",
     NULL,
     false,
     {false, false},
     1,
     0,
     "http://localhost:5000/v2",
     NULL,
     7,
     1,
     NULL},
    /* a server a hosts.toml names keeps its scheme under --plain-http */
    {"example.com",
     "server = \"https://example.com\"\n",
     false,
     {true, false},
     1,
     0,
     "https://example.com/v2",
     NULL,
     7,
     -1,
     NULL},
    /* so does a mirror, which asks with ?ns= */
    {"example.com",
     "server = \"https://example.com\"\n[host.\"https://m.test\"]\n"
     "  capabilities = [\"pull\"]\n  skip_verify = false\n",
     false,
     {true, false},
     2,
     0,
     "https://m.test/v2",
     "example.com",
     REGISTRY_PULL,
     0,
     NULL},
    /* --skip-verify wins over a hosts.toml's skip_verify = false */
    {"example.com",
     "[host.\"https://m.test\"]\n  skip_verify = false\n",
     false,
     {false, true},
     2,
     0,
     "https://m.test/v2",
     "example.com",
     7,
     1,
     NULL},
    {"example.com",
     "[host.\"https://m.test\"]\n  header = { X-A = [\"1\", \"2\"] }\n",
     false,
     {false, false},
     2,
     0,
     "https://m.test/v2",
     "example.com",
     7,
     -1,
     "X-A: 1"},
};

START_TEST(test_from_hosts)
{
  struct hosts_config hc = {0};
  struct error *err = NULL;
  struct registry_ep *eps = NULL;
  const struct registry_ep *e;
  size_t n = 0;

  hc.registry = xstrdup(cases[_i].registry);
  if (cases[_i].toml) {
    hc.source = HOSTS_SOURCE_TOML;
    ck_assert_msg(hosts_parse(hc.registry, "/d", "/d/hosts.toml", cases[_i].toml,
                              strlen(cases[_i].toml), &hc.endpoints, &err) == 0,
                  "%s", err ? err->msg : "");
  } else {
    hc.source = cases[_i].certs ? HOSTS_SOURCE_CERTS : HOSTS_SOURCE_DEFAULT;
    hosts_default(hc.registry, &hc.endpoints);
  }
  eps = endpoints_from_hosts(&hc, &cases[_i].o, &n);
  ck_assert_uint_eq(n, cases[_i].n);
  e = &eps[cases[_i].at];
  ck_assert_str_eq(e->base, cases[_i].base);
  if (cases[_i].ns)
    ck_assert_str_eq(e->ns, cases[_i].ns);
  else
    ck_assert_ptr_null(e->ns);
  ck_assert_uint_eq(e->caps, cases[_i].caps);
  ck_assert_int_eq(e->skip_verify, cases[_i].skip_verify);
  if (cases[_i].header) {
    ck_assert_uint_ge(e->headers.n, 1);
    ck_assert_str_eq(e->headers.v[0], cases[_i].header);
  } else {
    ck_assert_uint_eq(e->headers.n, 0);
  }
  endpoints_free(eps, n);
  hosts_config_release(&hc);
}
END_TEST

/* No options is no flag; TLS files, the client pair and the dial timeout go
 * over as they are. */
START_TEST(test_files_and_defaults)
{
  static const char toml[] = "[host.\"https://m.test\"]\n  ca = \"/c/ca.pem\"\n"
                             "  client = [[\"/c/c.pem\", \"/c/k.pem\"]]\n  dial_timeout = \"3s\"\n";
  struct hosts_config hc = {.registry = xstrdup("example.com"), .source = HOSTS_SOURCE_TOML};
  struct error *err = NULL;
  struct registry_ep *eps;
  size_t n = 0;

  ck_assert_msg(
      hosts_parse(hc.registry, "/d", "/d/hosts.toml", toml, strlen(toml), &hc.endpoints, &err) == 0,
      "%s", err ? err->msg : "");
  eps = endpoints_from_hosts(&hc, NULL, &n);
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(eps[0].ca_files.n, 1);
  ck_assert_str_eq(eps[0].ca_files.v[0], "/c/ca.pem");
  ck_assert_str_eq(eps[0].client_cert, "/c/c.pem");
  ck_assert_str_eq(eps[0].client_key, "/c/k.pem");
  ck_assert_int_eq(eps[0].connect_timeout_ms, 3000);
  ck_assert_int_eq(eps[1].connect_timeout_ms, 0);
  ck_assert_str_eq(eps[1].base, "https://example.com/v2");
  endpoints_free(eps, n);
  hosts_config_release(&hc);
}
END_TEST

Suite *
endpoints_suite(void)
{
  Suite *s = suite_create("endpoints");
  TCase *tc = tcase_create("endpoints");

  tcase_add_loop_test(tc, test_from_hosts, 0, ARRAY_SIZE(cases));
  tcase_add_test(tc, test_files_and_defaults);
  suite_add_tcase(s, tc);
  return s;
}
