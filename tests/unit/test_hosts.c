/* hosts.toml semantics (PROTOCOL.md §5, with every §5.8 case), host
 * directory discovery, `ctrx hosts` output and `ctrx hosts add`. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "hosts.h"
#include "unit.h"
#include "util.h"

Suite *hosts_suite(void);

#define ALL HOSTS_CAP_ALL
#define PULL HOSTS_CAP_PULL
#define RESOLVE HOSTS_CAP_RESOLVE
#define PUSH HOSTS_CAP_PUSH

static char tmpdir[] = "/tmp/ctrx-hosts-test-XXXXXX";
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

/* Create tmpdir/rel (parents too) holding text; NULL text makes a directory. */
static char *
make(const char *rel, const char *text)
{
  char *path = xasprintf("%s/%s", tmpdir, rel);
  cleanup_free char *cmd = NULL;

  if (text == NULL) {
    cmd = xasprintf("mkdir -p '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
  } else {
    FILE *f;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    cmd = xasprintf("mkdir -p '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
    *slash = '/';
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
  }
  return path;
}

static char *
tmp(const char *rel)
{
  return xasprintf("%s/%s", tmpdir, rel);
}

/* ---- TestDefaultHosts, and the other built-in defaults (§5.5) ---- */

static const struct {
  const char *registry;
  const char *url;
  int skip_verify;
  bool ns;
} defaults[] = {
    {"docker.io", "https://registry-1.docker.io/v2", -1, false},
    {"example.com", "https://example.com/v2", -1, false},
    {"example.com:5000", "https://example.com:5000/v2", -1, false},
    /* containerd 1.6.20: localhost-like registries are plain http, verification skipped */
    {"localhost", "http://localhost/v2", 1, false},
    {"localhost:5000", "http://localhost:5000/v2", 1, false},
    {"127.0.0.1:5000", "http://127.0.0.1:5000/v2", 1, false},
    {"127.0.0.254", "http://127.0.0.254/v2", 1, false},
    {"[::1]:5000", "http://[::1]:5000/v2", 1, false},
    {"[::1]", "http://[::1]/v2", 1, false},
};

START_TEST(test_default_hosts)
{
  struct hosts_list l = {NULL, 0};
  cleanup_free char *url = NULL;

  hosts_default(defaults[_i].registry, &l);
  ck_assert_uint_eq(l.n, 1);
  url = hosts_endpoint_url(&l.v[0]);
  ck_assert_str_eq(url, defaults[_i].url);
  ck_assert_uint_eq(l.v[0].caps, ALL);
  ck_assert_int_eq(l.v[0].skip_verify, defaults[_i].skip_verify);
  ck_assert_int_eq(l.v[0].ns, defaults[_i].ns);
  ck_assert(l.v[0].upstream);
  ck_assert_ptr_null(l.v[0].file);
  ck_assert_uint_eq(l.v[0].ca.n, 0);
  hosts_list_release(&l);
}
END_TEST

/* ---- TestParseHostFile ---- */

static const char parse_host_file_doc[] =
    "server = \"https://test-default.registry\"\n"
    "ca = \"/etc/path/default\"\n"
    "[header]\n"
    "  x-custom-1 = \"custom header\"\n"
    "\n"
    "[host.\"https://mirror.registry\"]\n"
    "  capabilities = [\"pull\"]\n"
    "  ca = \"/etc/certs/mirror.pem\"\n"
    "  skip_verify = false\n"
    "  [host.\"https://mirror.registry\".header]\n"
    "    x-custom-2 = [\"value1\", \"value2\"]\n"
    "\n"
    "[host.\"https://mirror-bak.registry/us\"]\n"
    "  capabilities = [\"pull\"]\n"
    "  skip_verify = true\n"
    "\n"
    "[host.\"http://mirror.registry\"]\n"
    "  capabilities = [\"pull\"]\n"
    "\n"
    "[host.\"https://test-1.registry\"]\n"
    "  capabilities = [\"pull\", \"resolve\", \"push\", \"referrers\"]\n"
    "  ca = [\"/etc/certs/test-1-ca.pem\", \"/etc/certs/special.pem\"]\n"
    "  client = [[\"/etc/certs/client.cert\", "
    "\"/etc/certs/client.key\"],[\"/etc/certs/client.pem\", "
    "\"\"]]\n"
    "\n"
    "[host.\"https://test-2.registry\"]\n"
    "  client = \"/etc/certs/client.pem\"\n"
    "\n"
    "[host.\"https://test-3.registry\"]\n"
    "  client = [\"/etc/certs/client-1.pem\", \"/etc/certs/client-2.pem\"]\n"
    "\n"
    "[host.\"https://no-referrers.registry\"]\n"
    "  capabilities = [\"pull\", \"resolve\", \"push\"]\n"
    "  client = [\"/etc/certs/client-1.pem\", \"/etc/certs/client-2.pem\"]\n"
    "\n"
    "[host.\"https://noncompliantmirror.registry/v2/namespaceprefix\"]\n"
    "  capabilities = [\"pull\"]\n"
    "  override_path = true\n"
    "\n"
    "[host.\"https://noprefixnoncompliant.registry\"]\n"
    "  override_path = true\n"
    "\n"
    "[host.\"https://onlyheader.registry\".header]\n"
    "  x-custom-1 = \"justaheader\"\n"
    "\n"
    "[host.\"https://dial-timeout.registry\"]\n"
    "  dial_timeout = \"3s\"\n";

static const struct {
  const char *scheme, *host, *path;
  unsigned caps;
  const char *ca;      /* ca files joined by ' ' */
  const char *clients; /* cert:key pairs joined by ' ' */
  int skip_verify;
  const char *headers; /* name=v1|v2 joined by ' ' */
  int64_t dial_timeout_ms;
  int line;
} parse_host_file_want[] = {
    {"https", "mirror.registry", "/v2", PULL, "/etc/certs/mirror.pem", "", 0,
     "x-custom-2=value1|value2", -1, 6},
    {"https", "mirror-bak.registry", "/us/v2", PULL, "", "", 1, "", -1, 13},
    {"http", "mirror.registry", "/v2", PULL, "", "", -1, "", -1, 17},
    {"https", "test-1.registry", "/v2", ALL, "/etc/certs/test-1-ca.pem /etc/certs/special.pem",
     "/etc/certs/client.cert:/etc/certs/client.key /etc/certs/client.pem:", -1, "", -1, 20},
    {"https", "test-2.registry", "/v2", ALL, "", "/etc/certs/client.pem:", -1, "", -1, 25},
    {"https", "test-3.registry", "/v2", ALL, "",
     "/etc/certs/client-1.pem: /etc/certs/client-2.pem:", -1, "", -1, 28},
    {"https", "no-referrers.registry", "/v2", PULL | RESOLVE | PUSH, "",
     "/etc/certs/client-1.pem: /etc/certs/client-2.pem:", -1, "", -1, 31},
    {"https", "noncompliantmirror.registry", "/v2/namespaceprefix", PULL, "", "", -1, "", -1, 35},
    {"https", "noprefixnoncompliant.registry", "", ALL, "", "", -1, "", -1, 39},
    {"https", "onlyheader.registry", "/v2", ALL, "", "", -1, "x-custom-1=justaheader", -1, 42},
    {"https", "dial-timeout.registry", "/v2", ALL, "", "", -1, "", 3000, 45},
    {"https", "test-default.registry", "/v2", ALL, "/etc/path/default", "", -1,
     "x-custom-1=custom header", -1, 1},
};

static char *
join_ca(const struct hosts_endpoint *e)
{
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < e->ca.n; i++)
    buf_addf(&b, "%s%s", i ? " " : "", e->ca.v[i]);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

static char *
join_clients(const struct hosts_endpoint *e)
{
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < e->n_clients; i++)
    buf_addf(&b, "%s%s:%s", i ? " " : "", e->clients[i].cert, e->clients[i].key);
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

static char *
join_headers(const struct hosts_endpoint *e)
{
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < e->n_headers; i++) {
    buf_addf(&b, "%s%s=", i ? " " : "", e->headers[i].name);
    for (size_t k = 0; k < e->headers[i].values.n; k++)
      buf_addf(&b, "%s%s", k ? "|" : "", e->headers[i].values.v[k]);
  }
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

static void
check_endpoint(const struct hosts_endpoint *e, size_t i)
{
  cleanup_free char *ca = join_ca(e);
  cleanup_free char *cl = join_clients(e);
  cleanup_free char *hd = join_headers(e);

  ck_assert_msg(strcmp(e->scheme, parse_host_file_want[i].scheme) == 0, "row %zu scheme %s", i,
                e->scheme);
  ck_assert_msg(strcmp(e->host, parse_host_file_want[i].host) == 0, "row %zu host %s", i, e->host);
  ck_assert_msg(strcmp(e->path, parse_host_file_want[i].path) == 0, "row %zu path %s", i, e->path);
  ck_assert_msg(e->caps == parse_host_file_want[i].caps, "row %zu caps %u", i, e->caps);
  ck_assert_msg(strcmp(ca, parse_host_file_want[i].ca) == 0, "row %zu ca %s", i, ca);
  ck_assert_msg(strcmp(cl, parse_host_file_want[i].clients) == 0, "row %zu clients %s", i, cl);
  ck_assert_msg(e->skip_verify == parse_host_file_want[i].skip_verify, "row %zu skip_verify %d", i,
                e->skip_verify);
  ck_assert_msg(strcmp(hd, parse_host_file_want[i].headers) == 0, "row %zu headers %s", i, hd);
  ck_assert_msg(e->dial_timeout_ms == parse_host_file_want[i].dial_timeout_ms, "row %zu dial", i);
  ck_assert_msg(e->line == parse_host_file_want[i].line, "row %zu line %d", i, e->line);
  ck_assert_str_eq(e->file, "/d/hosts.toml");
}

START_TEST(test_parse_host_file)
{
  struct hosts_list l = {NULL, 0};
  cleanup_error struct error *err = NULL;

  if (hosts_parse("docker.io", "/d", "/d/hosts.toml", parse_host_file_doc,
                  strlen(parse_host_file_doc), &l, &err) < 0)
    ck_abort_msg("%s", err->msg);
  ck_assert_uint_eq(l.n, ARRAY_SIZE(parse_host_file_want));
  for (size_t i = 0; i < l.n; i++) {
    check_endpoint(&l.v[i], i);
    /* every endpoint here is on another host than docker.io */
    ck_assert(l.v[i].ns);
    ck_assert_int_eq(l.v[i].upstream, i + 1 == l.n);
  }
  ck_assert(l.v[7].override_path);
  hosts_list_release(&l);
}
END_TEST

/* ---- more hosts.toml semantics ---- */

static const struct {
  const char *registry;
  const char *doc;
  const char *want; /* url caps [skip_verify] [ns] per endpoint, ';'-separated */
} semantics[] = {
    /* §5.7: a file with only `server` is honoured (2.x), not ignored as in 1.6 */
    {"docker.io", "server = \"http://127.0.0.1:6105\"\n",
     "http://127.0.0.1:6105/v2 pull,resolve,push,referrers ns"},
    /* no server: the built-in upstream is appended, with all capabilities */
    {"docker.io",
     "capabilities = [\"pull\"]\n[host.\"http://127.0.0.1:5000\"]\ncapabilities = [\"pull\", "
     "\"resolve\"]\n",
     "http://127.0.0.1:5000/v2 pull,resolve ns;https://registry-1.docker.io/v2 "
     "pull,resolve,push,referrers"},
    {"localhost:5000", "[host.\"https://m\"]\n",
     "https://m/v2 pull,resolve,push,referrers ns;http://localhost:5000/v2 "
     "pull,resolve,push,referrers skip_verify=1"},
    /* no scheme means https; trailing slashes; path already ending in /v2 */
    {"r.io", "server = \"r.io\"\n[host.\"m.io/\"]\n[host.\"https://m2.io/x/v2/\"]\n",
     "https://m.io/v2 pull,resolve,push,referrers ns;https://m2.io/x/v2 "
     "pull,resolve,push,referrers "
     "ns;https://r.io/v2 pull,resolve,push,referrers"},
    /* ns: same host as the registry gets none; docker.io + registry-1.docker.io none */
    {"docker.io", "server = \"https://docker.io\"\n",
     "https://docker.io/v2 pull,resolve,push,referrers"},
    {"docker.io", "server = \"https://registry-1.docker.io\"\n",
     "https://registry-1.docker.io/v2 pull,resolve,push,referrers"},
    {"127.0.0.1:5000", "server = \"http://127.0.0.1:5000\"\n[host.\"http://127.0.0.1:5001\"]\n",
     "http://127.0.0.1:5001/v2 pull,resolve,push,referrers ns;http://127.0.0.1:5000/v2 "
     "pull,resolve,push,referrers"},
    /* capabilities are case-insensitive; an empty list means none */
    {"r.io",
     "[host.\"https://m\"]\ncapabilities = [\"PULL\", "
     "\"Resolve\"]\n[host.\"https://n\"]\ncapabilities = []\n",
     "https://m/v2 pull,resolve ns;https://n/v2 none ns;https://r.io/v2 "
     "pull,resolve,push,referrers"},
    /* a top-level override_path is ignored for the filled-in default */
    {"r.io", "override_path = true\n", "https://r.io/v2 pull,resolve,push,referrers"},
    /* dotted keys and inline tables describe the same hosts, in file order */
    {"r.io",
     "host.\"https://b\".capabilities = [\"pull\"]\nhost.\"https://a\" = { skip_verify = true }\n",
     "https://b/v2 pull ns;https://a/v2 pull,resolve,push,referrers skip_verify=1 "
     "ns;https://r.io/v2 "
     "pull,resolve,push,referrers"},
    /* nested hosts and unknown keys are ignored */
    {"r.io",
     "foo = 1\n[host.\"https://a\"]\nbar = \"x\"\n[host.\"https://a\".host.\"https://c\"]\n",
     "https://a/v2 pull,resolve,push,referrers ns;https://r.io/v2 pull,resolve,push,referrers"},
    /* comments and blank lines only: just the default */
    {"r.io", "# nothing\n\n", "https://r.io/v2 pull,resolve,push,referrers"},
    /* user information is dropped, as url.Parse leaves it out of u.Host; the
     * last '@' of the authority ends it */
    {"r.io",
     "server = \"https://u:p@r.io\"\n[host.\"http://user:s3cr@t@m:5000/p\"]\n"
     "[host.\"https://m2/a@b\"]\n",
     "http://m:5000/p/v2 pull,resolve,push,referrers ns;https://m2/a@b/v2 "
     "pull,resolve,push,referrers ns;https://r.io/v2 pull,resolve,push,referrers"},
};

START_TEST(test_semantics)
{
  struct hosts_list l = {NULL, 0};
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf got = BUF_INIT;

  if (hosts_parse(semantics[_i].registry, "/d", "/d/hosts.toml", semantics[_i].doc,
                  strlen(semantics[_i].doc), &l, &err) < 0)
    ck_abort_msg("case %d: %s", _i, err->msg);
  ck_assert_uint_gt(l.n, 0); /* the upstream, at least */
  for (size_t i = 0; i < l.n; i++) {
    cleanup_free char *url = hosts_endpoint_url(&l.v[i]);
    cleanup_free char *caps = hosts_caps_string(l.v[i].caps);
    buf_addf(&got, "%s%s %s", i ? ";" : "", url, caps);
    if (l.v[i].skip_verify >= 0)
      buf_addf(&got, " skip_verify=%d", l.v[i].skip_verify);
    if (l.v[i].ns)
      buf_addstr(&got, " ns");
  }
  ck_assert_msg(strcmp(got.data, semantics[_i].want) == 0, "case %d: got %s", _i, got.data);
  hosts_list_release(&l);
}
END_TEST

static const struct {
  const char *doc;
  const char *want; /* after "/d/hosts.toml" */
} parse_errors[] = {
    {"[host.\"https://m\"]\ncapabilities = [\"pull\", \"fetch\"]\n",
     ":2:25: unknown capability \"fetch\" (known: pull, resolve, push, referrers)"},
    {"capabilities = \"pull\"\n", ":1:16: capabilities must be a array, not string"},
    {"capabilities = [1]\n", ":1:17: a capability must be a string, not integer"},
    {"server = 5\n", ":1:10: server must be a string, not integer"},
    {"server = \"\"\n", ":1:10: server must not be empty"},
    {"server = \"ftp://x\"\n", ":1:10: \"ftp://x\": scheme must be http or https"},
    {"server = \"https:///v2\"\n", ":1:10: \"https:///v2\": no host in URL"},
    /* messages never show user information */
    {"server = \"https://u:pw@h b\"\n", ":1:10: \"https://h b\": invalid host \"h b\""},
    {"server = \"ftp://u:pw@h\"\n", ":1:10: \"ftp://h\": scheme must be http or https"},
    {"[host.\"https://u:pw@a\"]\n[host.\"https://u:pw@a\"]\n",
     ":2:1: table [host.\"https://a\"] is already defined (line 1)"},
    {"host = { \"https://u:pw@m\" = 1 }\n",
     ":1:29: host.\"https://m\" must be a table, not integer"},
    {"[host.\"https://a b\"]\n", ":1:1: \"https://a b\": invalid host \"a b\""},
    {"host = 1\n", ":1:8: host must be a table, not integer"},
    {"host = { \"https://m\" = 1 }\n", ":1:24: host.\"https://m\" must be a table, not integer"},
    {"[host.\"\"]\n", ":1:1: empty or invalid host URL"},
    {"skip_verify = \"yes\"\n", ":1:15: skip_verify must be a boolean, not string"},
    {"override_path = 1\n", ":1:17: override_path must be a boolean, not integer"},
    {"ca = 1\n", ":1:6: ca must be a string or an array of strings, not integer"},
    {"ca = [\"a\", 2]\n", ":1:12: ca must be a string, not integer"},
    {"ca = \"\"\n", ":1:6: ca: empty or invalid file name"},
    {"client = true\n",
     ":1:10: client must be a string, an array of strings or of [cert, key] pairs, not boolean"},
    {"client = [[\"a\", \"b\", \"c\"]]\n",
     ":1:11: client entries must be file names or [cert, key] pairs"},
    {"client = [[]]\n", ":1:11: client entries must be file names or [cert, key] pairs"},
    {"client = [[\"a\", 1]]\n", ":1:17: client key must be a string, not integer"},
    {"client = [{}]\n", ":1:11: client entries must be file names or [cert, key] pairs"},
    {"header = 1\n", ":1:10: header must be a table, not integer"},
    {"[header]\nx = 1\n", ":2:5: header x must be a string or an array of strings, not integer"},
    {"[header]\nx = []\n", ":2:5: header x has no values"},
    {"[header]\nx = [\"a\", 1]\n", ":2:11: a header value must be a string, not integer"},
    {"[header]\n\"a b\" = \"x\"\n", ":2:9: invalid header name \"a b\""},
    {"[header]\nx = \"a\\r\\nInjected: 1\"\n", ":2:5: header x: control character in value"},
    {"dial_timeout = 3\n", ":1:16: dial_timeout must be a string, not integer"},
    {"dial_timeout = \"soon\"\n", ":1:16: dial_timeout: invalid duration \"soon\""},
    /* plain TOML errors keep their position */
    {"server = \"https://a\"\nserver = \"https://b\"\n",
     ":2:1: duplicate key server (first defined at line 1)"},
    {"[host.\"https://a\"]\n[host.\"https://a\"]\n",
     ":2:1: table [host.\"https://a\"] is already defined (line 1)"},
    {"[host.\"https://a\"\n", ":1:18: expected ']' closing the table header, found end of line"},
};

START_TEST(test_parse_errors)
{
  struct hosts_list l = {NULL, 0};
  cleanup_error struct error *err = NULL;
  cleanup_free char *want = xasprintf("/d/hosts.toml%s", parse_errors[_i].want);

  ck_assert_msg(hosts_parse("r.io", "/d", "/d/hosts.toml", parse_errors[_i].doc,
                            strlen(parse_errors[_i].doc), &l, &err) < 0,
                "case %d parsed", _i);
  ck_assert_msg(strcmp(err->msg, want) == 0, "case %d: got '%s'", _i, err->msg);
  ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_relative_paths)
{
  static const char doc[] =
      "ca = \"ca.pem\"\nclient = [[\"c.cert\", \"c.key\"], [\"/abs.pem\", \"\"]]\n";
  struct hosts_list l = {NULL, 0};
  cleanup_error struct error *err = NULL;

  ck_assert_int_eq(
      hosts_parse("r.io", "/etc/containerd/certs.d/r.io", "f", doc, strlen(doc), &l, &err), 0);
  ck_assert_str_eq(l.v[0].ca.v[0], "/etc/containerd/certs.d/r.io/ca.pem");
  ck_assert_str_eq(l.v[0].clients[0].cert, "/etc/containerd/certs.d/r.io/c.cert");
  ck_assert_str_eq(l.v[0].clients[0].key, "/etc/containerd/certs.d/r.io/c.key");
  ck_assert_str_eq(l.v[0].clients[1].cert, "/abs.pem");
  ck_assert_str_eq(l.v[0].clients[1].key, "");
  hosts_list_release(&l);
}
END_TEST

/* ---- TestLoadCertFiles ---- */

static const struct {
  const char *files; /* space separated */
  const char *ca;
  const char *clients;
} certs_cases[] = {
    {"ca.crt", "ca.crt", ""},
    {"ca.crt client.cert client.key", "ca.crt", "client.cert:client.key"},
    {"client.cert client.key", "", "client.cert:client.key"},
    /* beyond containerd's test: a .cert without its key, several files, sorted, others ignored */
    {"b.crt a.crt lone.cert readme.txt", "a.crt b.crt", "lone.cert:"},
};

START_TEST(test_load_cert_files)
{
  cleanup_free char *dir = tmp("testing.io");
  cleanup_free char *files = xstrdup(certs_cases[_i].files);
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf want_ca = BUF_INIT;
  cleanup_buf struct buf want_cl = BUF_INIT;
  struct hosts_list l = {NULL, 0};
  char *save = NULL;

  for (char *f = strtok_r(files, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
    cleanup_free char *rel = xasprintf("testing.io/%s", f);
    free(make(rel, "x"));
  }
  ck_assert_int_eq(hosts_load_certs("testing.io", dir, &l, &err), 0);
  ck_assert_uint_eq(l.n, 1);
  {
    cleanup_free char *spec = xstrdup(certs_cases[_i].ca);
    save = NULL;
    for (char *f = strtok_r(spec, " ", &save); f; f = strtok_r(NULL, " ", &save))
      buf_addf(&want_ca, "%s%s/%s", want_ca.len ? " " : "", dir, f);
    buf_add(&want_ca, "", 0);
  }
  {
    cleanup_free char *spec = xstrdup(certs_cases[_i].clients);
    save = NULL;
    for (char *f = strtok_r(spec, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
      char *colon = strchr(f, ':');
      *colon = '\0';
      buf_addf(&want_cl, "%s%s/%s:", want_cl.len ? " " : "", dir, f);
      if (colon[1])
        buf_addf(&want_cl, "%s/%s", dir, colon + 1);
    }
    buf_add(&want_cl, "", 0);
  }
  {
    cleanup_free char *ca = join_ca(&l.v[0]);
    cleanup_free char *cl = join_clients(&l.v[0]);
    cleanup_free char *url = hosts_endpoint_url(&l.v[0]);
    ck_assert_str_eq(ca, want_ca.data);
    ck_assert_str_eq(cl, want_cl.data);
    ck_assert_str_eq(url, "https://testing.io/v2");
    ck_assert_str_eq(l.v[0].file, dir);
  }
  hosts_list_release(&l);
}
END_TEST

/* ---- host directory lookup (§5.1) ---- */

START_TEST(test_find_dir)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  char *got = NULL;
  cleanup_free char *a = tmp("a");
  cleanup_free char *b = tmp("b");

  free(make("a/127.0.0.1:5000", NULL));
  free(make("a/127.0.0.1_5000_", NULL));
  free(make("b/docker.io", NULL));
  free(make("b/_default", NULL));
  free(make("a/quay.io", "not a directory"));
  strv_push(&dirs, a);
  strv_push(&dirs, b);

  /* _port_ beats host:port */
  hosts_find_dir(&dirs, "127.0.0.1:5000", &got);
  ck_assert_str_eq(got + strlen(tmpdir), "/a/127.0.0.1_5000_");
  free(got);
  /* the first chain directory with any candidate wins */
  hosts_find_dir(&dirs, "docker.io", &got);
  ck_assert_str_eq(got + strlen(tmpdir), "/b/docker.io");
  free(got);
  /* _default when nothing else; a file is not a host directory */
  hosts_find_dir(&dirs, "quay.io", &got);
  ck_assert_str_eq(got + strlen(tmpdir), "/b/_default");
  free(got);
  /* without a port, no _port_ candidate */
  free(make("a/r.io__", NULL));
  hosts_find_dir(&dirs, "r.io", &got);
  ck_assert_str_eq(got + strlen(tmpdir), "/b/_default");
  free(got);

  strv_release(&dirs);
  strv_push(&dirs, a);
  hosts_find_dir(&dirs, "docker.io", &got);
  ck_assert_ptr_null(got);
  free(make("a/127.0.0.1:5001", NULL));
  hosts_find_dir(&dirs, "127.0.0.1:5001", &got);
  ck_assert_str_eq(got + strlen(tmpdir), "/a/127.0.0.1:5001");
  free(got);
}
END_TEST

/* ---- hosts_resolve ---- */

START_TEST(test_resolve)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_error struct error *err = NULL;
  struct hosts_config c = {0};
  cleanup_free char *root = tmp("certs.d");
  cleanup_free char *file =
      make("certs.d/docker.io/hosts.toml", "server = \"https://registry-1.docker.io\"\n"
                                           "[host.\"http://127.0.0.1:5000\"]\n"
                                           "  capabilities = [\"pull\", \"resolve\"]\n");
  cleanup_free char *empty = make("certs.d/empty.io/hosts.toml", "");
  cleanup_free char *bad = make("certs.d/bad.io/hosts.toml", "server = \"https://x\"\n[host\n");
  cleanup_free char *crt = make("certs.d/empty.io/ca.crt", "x");

  strv_push(&dirs, root);
  ck_assert_int_eq(hosts_resolve("docker.io", &dirs, &c, &err), 0);
  ck_assert_int_eq(c.source, HOSTS_SOURCE_TOML);
  ck_assert_str_eq(c.file, file);
  ck_assert_uint_eq(c.endpoints.n, 2);
  ck_assert_str_eq(c.endpoints.v[0].host, "127.0.0.1:5000");
  ck_assert(c.endpoints.v[0].ns);
  ck_assert(!c.endpoints.v[1].ns);
  hosts_config_release(&c);

  /* an empty hosts.toml means the certs.d layout */
  ck_assert_int_eq(hosts_resolve("empty.io", &dirs, &c, &err), 0);
  ck_assert_int_eq(c.source, HOSTS_SOURCE_CERTS);
  ck_assert_ptr_null(c.file);
  ck_assert_uint_eq(c.endpoints.v[0].ca.n, 1);
  ck_assert_str_eq(c.endpoints.v[0].ca.v[0], crt);
  hosts_config_release(&c);

  /* no directory: built-in defaults */
  ck_assert_int_eq(hosts_resolve("other.io", &dirs, &c, &err), 0);
  ck_assert_int_eq(c.source, HOSTS_SOURCE_DEFAULT);
  ck_assert_ptr_null(c.host_dir);
  ck_assert_uint_eq(c.endpoints.n, 1);
  hosts_config_release(&c);

  /* a hosts.toml that does not parse is an error, never silently skipped */
  ck_assert_int_lt(hosts_resolve("bad.io", &dirs, &c, &err), 0);
  {
    cleanup_free char *want =
        xasprintf("%s:2:6: expected ']' closing the table header, found end of line", bad);
    ck_assert_str_eq(err->msg, want);
  }
  error_freep(&err);

  ck_assert_int_lt(hosts_resolve("../etc", &dirs, &c, &err), 0);
  ck_assert_str_eq(err->msg, "invalid registry host \"../etc\"");
}
END_TEST

/* ---- discovery order ---- */

static char *
chain(const struct strv *s)
{
  struct buf b = BUF_INIT;
  for (size_t i = 0; i < s->n; i++) {
    const char *d = s->v[i];
    if (str_has_prefix(d, tmpdir))
      d += strlen(tmpdir);
    buf_addf(&b, "%s%s", i ? " " : "", d);
  }
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

START_TEST(test_discovery)
{
  cleanup_strv struct strv flags = STRV_INIT;
  cleanup_strv struct strv out = STRV_INIT;
  cleanup_error struct error *err = NULL;
  cleanup_free char *f1 = tmp("f1");
  cleanup_free char *f2 = tmp("f2");
  cleanup_free char *c1 = tmp("c1");
  cleanup_free char *cd_v2 = NULL, *cd_v3 = NULL, *cd_v1 = NULL, *cd_bad = NULL, *cd_type = NULL;
  cleanup_free char *s = NULL;
  struct ctrx_config cfg = {0};

  free(make("f2", NULL));
  free(make("c1", NULL));
  free(make("p1", NULL));
  cd_v3 = make("cd-v3.toml", "version = 3\n[plugins.\"io.containerd.cri.v1.images\".registry]\n"
                             "  config_path = \"/v3dir\"\n"
                             "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                             "  config_path = \"/notthis\"\n");
  cd_v1 = make("cd-v1.toml", "[plugins.cri.registry]\nconfig_path = \"/v1dir\"\n");
  cd_bad = make("cd-bad.toml", "version = 2\n[plugins\n");
  cd_type = make("cd-type.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                                 "config_path = [\"/a\"]\n");
  {
    /* config_path is a list; the entries under tmpdir exist, /p0 does not */
    cleanup_free char *text =
        xasprintf("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                  "  config_path = \"/p0:%s/p1::%s/p2\"\n",
                  tmpdir, tmpdir);
    cd_v2 = make("cd-v2.toml", text);
  }

  /* flags only, in order, missing ones dropped when existing_only */
  strv_push(&flags, f1);
  strv_push(&flags, f2);
  strv_push(&cfg.hosts_dirs, c1);
  ck_assert_int_eq(hosts_dirs(&flags, &cfg.hosts_dirs, cd_v2, false, &out, &err), 0);
  s = chain(&out);
  ck_assert_str_eq(s, "/f1 /f2");
  free(s);
  strv_release(&out);
  ck_assert_int_eq(hosts_dirs(&flags, &cfg.hosts_dirs, cd_v2, true, &out, &err), 0);
  s = chain(&out);
  ck_assert_str_eq(s, "/f2");
  free(s);
  strv_release(&out);

  /* else the ctrx config's hosts_dir only */
  ck_assert_int_eq(hosts_dirs(NULL, &cfg.hosts_dirs, cd_v2, false, &out, &err), 0);
  s = chain(&out);
  ck_assert_str_eq(s, "/c1");
  free(s);
  strv_release(&out);
  strv_release(&cfg.hosts_dirs);

  /* else containerd's config_path (a list), then the two defaults */
  ck_assert_int_eq(hosts_dirs(NULL, &cfg.hosts_dirs, cd_v2, false, &out, &err), 0);
  s = chain(&out);
  ck_assert_str_eq(s, "/p0 /p1 /p2 /etc/containerd/certs.d /etc/docker/certs.d");
  free(s);
  strv_release(&out);
  ck_assert_int_eq(hosts_dirs(NULL, &cfg.hosts_dirs, cd_v2, true, &out, &err), 0);
  ck_assert_str_eq(out.v[0] + strlen(tmpdir), "/p1");
  for (size_t i = 1; i < out.n; i++)
    ck_assert(strcmp(out.v[i], HOSTS_CONTAINERD_CERTS_D) == 0 ||
              strcmp(out.v[i], HOSTS_DOCKER_CERTS_D) == 0);
  strv_release(&out);

  /* v3 layout wins in a version 3 file; v1 layout in a file without version */
  ck_assert_int_eq(hosts_dirs(NULL, NULL, cd_v3, false, &out, &err), 0);
  ck_assert_str_eq(out.v[0], "/v3dir");
  strv_release(&out);
  ck_assert_int_eq(hosts_dirs(NULL, NULL, cd_v1, false, &out, &err), 0);
  ck_assert_str_eq(out.v[0], "/v1dir");
  strv_release(&out);

  /* a missing containerd config is fine */
  ck_assert_int_eq(hosts_dirs(NULL, NULL, "/nonexistent/config.toml", false, &out, &err), 0);
  s = chain(&out);
  ck_assert_str_eq(s, "/etc/containerd/certs.d /etc/docker/certs.d");
  free(s);
  strv_release(&out);

  /* one that does not parse is an error naming FILE:LINE:COL */
  ck_assert_int_lt(hosts_dirs(NULL, NULL, cd_bad, false, &out, &err), 0);
  s = xasprintf(
      "containerd config: %s:2:9: expected ']' closing the table header, found end of line",
      cd_bad);
  ck_assert_str_eq(err->msg, s);
  free(s);
  error_freep(&err);
  ck_assert_int_lt(hosts_dirs(NULL, NULL, cd_type, false, &out, &err), 0);
  s = xasprintf("containerd config: %s:3:15: config_path must be a string, not array", cd_type);
  ck_assert_str_eq(err->msg, s);
  ck_assert_uint_eq(out.n, 0);
}
END_TEST

/* ---- misc helpers ---- */

static const struct {
  const char *arg;
  const char *want; /* registry, or "!" + error */
} registry_of[] = {
    {"docker.io", "docker.io"},
    {"quay.io", "quay.io"},
    {"localhost", "localhost"},
    {"localhost:5000", "localhost:5000"},
    {"127.0.0.1", "127.0.0.1"},
    {"127.0.0.1:5000", "127.0.0.1:5000"},
    {"myregistry.io:5000", "myregistry.io:5000"},
    {"[::1]:5000", "[::1]:5000"},
    {"nginx", "docker.io"},
    {"nginx:1.25", "docker.io"},
    {"postgres:16", "docker.io"},
    {"bitnami/redis", "docker.io"},
    {"quay.io/coreos/etcd:v3", "quay.io"},
    {"localhost:5000/app", "localhost:5000"},
    {"myregistry:5000/app", "myregistry:5000"},
    {"ghcr.io/o/r@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     "ghcr.io"},
    {"", "!empty registry or reference"},
};

START_TEST(test_registry_of)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *got = NULL;
  const char *want = registry_of[_i].want;

  if (want[0] == '!') {
    ck_assert_int_lt(hosts_registry_of(registry_of[_i].arg, &got, &err), 0);
    ck_assert_str_eq(err->msg, want + 1);
    return;
  }
  if (hosts_registry_of(registry_of[_i].arg, &got, &err) < 0)
    ck_abort_msg("%s: %s", registry_of[_i].arg, err->msg);
  ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_helpers)
{
  cleanup_error struct error *err = NULL;
  unsigned caps = 0;
  char *s;

  ck_assert(hosts_is_localhost("localhost"));
  ck_assert(hosts_is_localhost("LOCALHOST:80"));
  ck_assert(hosts_is_localhost("127.1.2.3:5000"));
  ck_assert(hosts_is_localhost("[::1]"));
  ck_assert(hosts_is_localhost("::1"));
  ck_assert(!hosts_is_localhost("example.com"));
  ck_assert(!hosts_is_localhost("128.0.0.1"));
  ck_assert(!hosts_is_localhost("localhost.example.com"));
  ck_assert(!hosts_is_localhost("[::2]:5000"));

  ck_assert_int_eq(hosts_caps_parse("pull, RESOLVE,push", &caps, &err), 0);
  ck_assert_uint_eq(caps, PULL | RESOLVE | PUSH);
  ck_assert_int_lt(hosts_caps_parse("pull,,push", &caps, &err), 0);
  ck_assert_str_eq(err->msg, "unknown capability \"\" (known: pull, resolve, push, referrers)");
  error_freep(&err);
  ck_assert_int_lt(hosts_caps_parse("pul", &caps, &err), 0);
  error_freep(&err);
  s = hosts_caps_string(ALL);
  ck_assert_str_eq(s, "pull,resolve,push,referrers");
  free(s);
  s = hosts_caps_string(0);
  ck_assert_str_eq(s, "none");
  free(s);

  ck_assert(hosts_header_is_secret("Authorization"));
  ck_assert(hosts_header_is_secret("proxy-authorization"));
  ck_assert(hosts_header_is_secret("Cookie"));
  ck_assert(hosts_header_is_secret("X-Api-Key"));
  ck_assert(hosts_header_is_secret("x-registry-token"));
  ck_assert(hosts_header_is_secret("X-Client-Secret"));
  ck_assert(hosts_header_is_secret("X-Password"));
  ck_assert(!hosts_header_is_secret("User-Agent"));
  ck_assert(!hosts_header_is_secret("x-custom-1"));
}
END_TEST

/* ---- `ctrx hosts` text ---- */

START_TEST(test_describe)
{
  static const char doc[] = "server = \"https://registry-1.docker.io\"\n"
                            "[host.\"https://mirror.example.com\"]\n"
                            "  capabilities = [\"pull\", \"resolve\"]\n"
                            "  ca = \"ca.pem\"\n"
                            "  client = [[\"c.cert\", \"c.key\"]]\n"
                            "  skip_verify = false\n"
                            "  dial_timeout = \"1500ms\"\n"
                            "  [host.\"https://mirror.example.com\".header]\n"
                            "    Authorization = \"Bearer abc\"\n"
                            "    X-Api-Key = [\"k1\", \"k2\"]\n"
                            "    x-custom = \"two words\"\n"
                            "    X-Registry-Pass = \"hunter2\"\n"
                            "[host.\"http://127.0.0.1:5000\"]\n"
                            "  capabilities = [\"pull\"]\n";
  struct hosts_config c = {0};
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf out = BUF_INIT;

  c.registry = xstrdup("docker.io");
  strv_push(&c.dirs, "/a/certs.d");
  strv_push(&c.dirs, "/etc/containerd/certs.d");
  c.host_dir = xstrdup("/a/certs.d/docker.io");
  c.file = xstrdup("/a/certs.d/docker.io/hosts.toml");
  c.source = HOSTS_SOURCE_TOML;
  ck_assert_int_eq(
      hosts_parse("docker.io", c.host_dir, c.file, doc, strlen(doc), &c.endpoints, &err), 0);
  hosts_describe(&c, &out);
  ck_assert_str_eq(
      out.data, "# hosts dirs: /a/certs.d, /etc/containerd/certs.d\n"
                "# docker.io: /a/certs.d/docker.io/hosts.toml\n"
                "https://mirror.example.com/v2    caps=pull,resolve                 "
                "ca=/a/certs.d/docker.io/ca.pem  "
                "client=/a/certs.d/docker.io/c.cert,/a/certs.d/docker.io/c.key  skip_verify=false  "
                "header.Authorization=<redacted>  header.X-Api-Key=<redacted>,<redacted>  "
                "header.x-custom=<redacted>  header.X-Registry-Pass=<redacted>  "
                "dial_timeout=1500ms  ns=docker.io  "
                "from=/a/certs.d/docker.io/hosts.toml:2\n"
                "http://127.0.0.1:5000/v2         caps=pull                         ns=docker.io  "
                "from=/a/certs.d/docker.io/hosts.toml:13\n"
                "https://registry-1.docker.io/v2  caps=pull,resolve,push,referrers  "
                "from=/a/certs.d/docker.io/hosts.toml:1\n");
  hosts_config_release(&c);

  /* no directory matched */
  buf_release(&out);
  c.registry = xstrdup("localhost:5000");
  c.source = HOSTS_SOURCE_DEFAULT;
  hosts_default("localhost:5000", &c.endpoints);
  hosts_describe(&c, &out);
  ck_assert_str_eq(out.data, "# hosts dirs: (none)\n"
                             "# localhost:5000: no host directory matched; built-in defaults\n"
                             "http://localhost:5000/v2  caps=pull,resolve,push,referrers  "
                             "skip_verify=true  from=built-in\n");
  hosts_config_release(&c);
}
END_TEST

START_TEST(test_describe_certs_and_default_upstream)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf out = BUF_INIT;
  cleanup_buf struct buf want = BUF_INIT;
  struct hosts_config c = {0};
  cleanup_free char *root = tmp("d");

  free(make("d/r.io:5000/ca.crt", "x"));
  free(make("d/q.io/hosts.toml", "[host.\"https://m.q\"]\n"));
  strv_push(&dirs, root);
  ck_assert_int_eq(hosts_resolve("r.io:5000", &dirs, &c, &err), 0);
  hosts_describe(&c, &out);
  buf_addf(&want,
           "# hosts dirs: %s\n"
           "# r.io:5000: %s/r.io:5000 (no hosts.toml; certs.d layout on the default endpoint)\n"
           "https://r.io:5000/v2  caps=pull,resolve,push,referrers  ca=%s/r.io:5000/ca.crt  "
           "from=%s/r.io:5000\n",
           root, root, root, root);
  ck_assert_str_eq(out.data, want.data);
  hosts_config_release(&c);

  buf_release(&out);
  buf_release(&want);
  ck_assert_int_eq(hosts_resolve("q.io", &dirs, &c, &err), 0);
  hosts_describe(&c, &out);
  buf_addf(&want,
           "# hosts dirs: %s\n"
           "# q.io: %s/q.io/hosts.toml\n"
           "https://m.q/v2   caps=pull,resolve,push,referrers  ns=q.io  from=%s/q.io/hosts.toml:1\n"
           "https://q.io/v2  caps=pull,resolve,push,referrers  from=%s/q.io/hosts.toml+built-in\n",
           root, root, root, root);
  ck_assert_str_eq(out.data, want.data);
  hosts_config_release(&c);
}
END_TEST

/* ---- `ctrx hosts add` ---- */

static char *
slurp(const char *path)
{
  struct buf b = BUF_INIT;
  ck_assert_int_eq(read_file(path, 1 << 20, &b), 0);
  return buf_steal(&b);
}

START_TEST(test_add_new_file)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("new/certs.d");
  cleanup_free char *file = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  struct hosts_mirror_opts o = {.url = "http://127.0.0.1:5000"};
  struct stat st;

  ck_assert_int_eq(hosts_add_mirror(root, "docker.io", &o, &file, &err), 0);
  want = xasprintf("%s/docker.io/hosts.toml", root);
  ck_assert_str_eq(file, want);
  text = slurp(file);
  ck_assert_str_eq(text, "server = \"https://registry-1.docker.io\"\n"
                         "\n"
                         "[host.\"http://127.0.0.1:5000\"]\n"
                         "  capabilities = [\"pull\", \"resolve\"]\n");
  ck_assert_int_eq(stat(file, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644);
  free(file);
  free(text);

  /* every option, and a registry with a port */
  o = (struct hosts_mirror_opts){.url = "https://m.example/ns",
                                 .caps = PULL,
                                 .skip_verify = true,
                                 .ca = "/etc/ssl/m.pem",
                                 .override_path = true};
  ck_assert_int_eq(hosts_add_mirror(root, "r.io:5000", &o, &file, &err), 0);
  text = slurp(file);
  ck_assert_str_eq(text, "server = \"https://r.io:5000\"\n"
                         "\n"
                         "[host.\"https://m.example/ns\"]\n"
                         "  capabilities = [\"pull\"]\n"
                         "  skip_verify = true\n"
                         "  ca = \"/etc/ssl/m.pem\"\n"
                         "  override_path = true\n");
  free(file);
  free(text);

  /* a localhost registry's upstream is what containerd would use by default */
  o = (struct hosts_mirror_opts){.url = "http://10.0.0.1:5000"};
  ck_assert_int_eq(hosts_add_mirror(root, "localhost:5000", &o, &file, &err), 0);
  text = slurp(file);
  ck_assert(str_has_prefix(text, "server = \"http://localhost:5000\"\n"));
}
END_TEST

START_TEST(test_add_existing_file)
{
  static const char orig[] = "# mirrors for docker hub\r\n"
                             "server = \"https://registry-1.docker.io\"   # upstream\r\n"
                             "\r\n"
                             "[host.\"https://a.example\"]\r\n"
                             "  capabilities = [\"pull\", \"resolve\"]  # keep me\r\n"
                             "  [host.\"https://a.example\".header]\r\n"
                             "    x = \"y\"";
  cleanup_error struct error *err = NULL;
  cleanup_free char *file = make("c/docker.io/hosts.toml", orig);
  cleanup_free char *root = tmp("c");
  cleanup_free char *got = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  struct hosts_mirror_opts o = {.url = "http://127.0.0.1:5000", .caps = PULL | RESOLVE | PUSH};
  struct hosts_list l = {NULL, 0};

  ck_assert_int_eq(chmod(file, 0600), 0);
  ck_assert_int_eq(hosts_add_mirror(root, "docker.io", &o, &got, &err), 0);
  ck_assert_str_eq(got, file);
  text = slurp(file);
  want = xasprintf("%s\n\n[host.\"http://127.0.0.1:5000\"]\n"
                   "  capabilities = [\"pull\", \"resolve\", \"push\"]\n",
                   orig);
  ck_assert_str_eq(text, want);
  {
    struct stat st;
    ck_assert_int_eq(stat(file, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
  }
  /* the new mirror comes after the old one and before the server */
  ck_assert_int_eq(hosts_parse("docker.io", NULL, file, text, strlen(text), &l, &err), 0);
  ck_assert_uint_eq(l.n, 3);
  ck_assert_str_eq(l.v[1].host, "127.0.0.1:5000");
  hosts_list_release(&l);
  free(got);
  got = NULL;

  /* a duplicate, even spelled differently, is refused and nothing changes */
  o.url = "http://127.0.0.1:5000/";
  ck_assert_int_lt(hosts_add_mirror(root, "docker.io", &o, &got, &err), 0);
  free(want);
  want = xasprintf("\"http://127.0.0.1:5000/\" is already a mirror of docker.io in %s", file);
  ck_assert_str_eq(err->msg, want);
  ck_assert_int_eq(err->code, ERR_ALREADY_EXISTS);
  error_freep(&err);
  free(text);
  text = slurp(file);
  ck_assert(str_has_suffix(text, "\"push\"]\n"));

  /* the server URL itself may be added as a mirror (the 1.6 workaround, §5.7) */
  o.url = "https://registry-1.docker.io";
  ck_assert_int_eq(hosts_add_mirror(root, "docker.io", &o, &got, &err), 0);
}
END_TEST

START_TEST(test_add_errors)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("e");
  cleanup_free char *bad = make("e/bad.io/hosts.toml", "server = 1\n");
  cleanup_free char *ported = NULL;
  cleanup_free char *got = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  struct hosts_mirror_opts o = {.url = "https://m"};

  /* an existing file that does not parse is left alone */
  ck_assert_int_lt(hosts_add_mirror(root, "bad.io", &o, &got, &err), 0);
  want = xasprintf("%s:1:10: server must be a string, "
                   "not integer",
                   bad);
  ck_assert_str_eq(err->msg, want);
  error_freep(&err);
  text = slurp(bad);
  ck_assert_str_eq(text, "server = 1\n");

  o.url = "ftp://m";
  ck_assert_int_lt(hosts_add_mirror(root, "ok.io", &o, &got, &err), 0);
  ck_assert_str_eq(err->msg, "\"ftp://m\": scheme must be http or https");
  error_freep(&err);

  o.url = "https://m";
  ck_assert_int_lt(hosts_add_mirror(root, "a/b", &o, &got, &err), 0);
  ck_assert_str_eq(err->msg, "invalid registry host \"a/b\"");
  error_freep(&err);

  /* an existing host_port_ directory is extended rather than shadowed */
  ported = make("e/r.io_5000_", NULL);
  ck_assert_int_eq(hosts_add_mirror(root, "r.io:5000", &o, &got, &err), 0);
  free(want);
  want = xasprintf("%s/hosts.toml", ported);
  ck_assert_str_eq(got, want);
  free(got);
  got = NULL;

  /* the characters RFC 3986 allows are written as they are */
  o.url = "https://m/a'b;c=d~e!$&()*+,%41";
  ck_assert_int_eq(hosts_add_mirror(root, "q.io", &o, &got, &err), 0);
  free(text);
  text = slurp(got);
  ck_assert(strstr(text, "[host.\"https://m/a'b;c=d~e!$&()*+,%41\"]\n") != NULL);
}
END_TEST

/* `hosts add` refuses what is no plain URL, says so without echoing it, and
 * creates nothing on the way (nor on any other validation failure). */
static const struct {
  const char *registry;
  const char *url;
  const char *want;
} add_refused[] = {
    /* containerd 1.6's TOML parser misreads an escaped quote in a key */
    {"q.io", "https://m/a\"b",
     "mirror URL: invalid character '\"' at position 12 (percent-encode it)"},
    {"q.io", "https://m/a\\b",
     "mirror URL: invalid character '\\' at position 12 (percent-encode it)"},
    {"q.io", "https://m/a b", "mirror URL: invalid byte 0x20 at position 12 (percent-encode it)"},
    {"q.io", "https://m/\x1b[2J",
     "mirror URL: invalid byte 0x1b at position 11 (percent-encode it)"},
    {"q.io", "https://m/\xc3\xa9",
     "mirror URL: invalid byte 0xc3 at position 11 (percent-encode it)"},
    {"q.io", "https://m/{x}",
     "mirror URL: invalid character '{' at position 11 (percent-encode it)"},
    {"q.io", "https://m/%zz", "mirror URL: invalid %-escape at position 11"},
    {"q.io", "https://m/%4", "mirror URL: invalid %-escape at position 11"},
    {"q.io", "https://user:s3cret@m",
     "mirror URL: user information (user:password@) is ignored by containerd; give credentials "
     "in the Docker config instead"},
    {"q.io", "ftp://m", "\"ftp://m\": scheme must be http or https"},
    /* a registry name whose `server` URL would not parse */
    {"a\\b.io", "https://m", "hosts.toml:1:10: \"https://a\\b.io\": invalid host \"a\\b.io\""},
    /* names that would lead out of the hosts directory: the leading-dot rule,
     * not the '/' one, refuses these */
    {"..", "https://m", "invalid registry host \"..\""},
    {".x", "https://m", "invalid registry host \".x\""},
};

START_TEST(test_add_refused)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("new/certs.d");
  cleanup_free char *parent = tmp("new");
  cleanup_free char *up = tmp("hosts.toml");
  cleanup_free char *got = NULL;
  struct hosts_mirror_opts o = {.url = add_refused[_i].url};
  struct stat st;

  ck_assert_int_lt(hosts_add_mirror(root, add_refused[_i].registry, &o, &got, &err), 0);
  /* a message about the file it would write ends with the position */
  ck_assert_msg(strcmp(err->msg, add_refused[_i].want) == 0 ||
                    (str_has_prefix(err->msg, "the new file would not parse: ") &&
                     str_has_suffix(err->msg, add_refused[_i].want)),
                "case %d: got '%s'", _i, err->msg);
  ck_assert_ptr_null(strstr(err->msg, "s3cret"));
  ck_assert_ptr_null(got);
  /* nothing created: not the hosts directory, not the registry's */
  ck_assert_int_lt(stat(parent, &st), 0);
  ck_assert_int_lt(stat(up, &st), 0);
}
END_TEST

/* The leading-dot rule on its own: ".." and ".x" have no '/' for the other
 * rule to catch, so only it keeps `hosts add .. URL` out of the parent. */
static const char *const dot_names[] = {"..", ".x", "."};

START_TEST(test_dot_registry_refused)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *got = NULL;
  cleanup_free char *want = xasprintf("invalid registry host \"%s\"", dot_names[_i]);
  cleanup_strv struct strv dirs = STRV_INIT;
  struct hosts_config c = {0};

  ck_assert_int_lt(hosts_registry_of(dot_names[_i], &got, &err), 0);
  ck_assert_str_eq(err->msg, want);
  error_freep(&err);
  strv_push(&dirs, tmpdir);
  ck_assert_int_lt(hosts_resolve(dot_names[_i], &dirs, &c, &err), 0);
  ck_assert_str_eq(err->msg, want);
}
END_TEST

/* A symlinked hosts.toml stays a link; its target gets the mirror and keeps
 * its mode and owner. */
START_TEST(test_add_through_symlink)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("s");
  cleanup_free char *target = make("shared/r.toml", "server = \"https://r.io\"\n");
  cleanup_free char *link = NULL;
  cleanup_free char *got = NULL;
  cleanup_free char *text = NULL;
  struct hosts_mirror_opts o = {.url = "https://m"};
  struct stat st;

  free(make("s/r.io", NULL));
  link = tmp("s/r.io/hosts.toml");
  ck_assert_int_eq(symlink("../../shared/r.toml", link), 0);
  ck_assert_int_eq(chmod(target, 0640), 0);
  ck_assert_int_eq(chown(target, 4242, 4343), 0);

  ck_assert_msg(hosts_add_mirror(root, "r.io", &o, &got, &err) == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq(lstat(link, &st), 0);
  ck_assert(S_ISLNK(st.st_mode));
  ck_assert_int_eq(stat(target, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0640);
  ck_assert_uint_eq(st.st_uid, 4242);
  ck_assert_uint_eq(st.st_gid, 4343);
  text = slurp(target);
  ck_assert_str_eq(text, "server = \"https://r.io\"\n\n[host.\"https://m\"]\n  capabilities = "
                         "[\"pull\", \"resolve\"]\n");
}
END_TEST

/* A FIFO (or anything else not a regular file) named hosts.toml or
 * config.toml is refused at once instead of waiting for a writer. */
START_TEST(test_fifo_refused)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("f");
  cleanup_free char *fifo = NULL;
  cleanup_free char *cfg = tmp("config.toml");
  cleanup_free char *got = NULL;
  cleanup_free char *want = NULL;
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_strv struct strv paths = STRV_INIT;
  struct hosts_mirror_opts o = {.url = "https://m"};
  struct hosts_config c = {0};

  free(make("f/r.io", NULL));
  fifo = tmp("f/r.io/hosts.toml");
  ck_assert_int_eq(mkfifo(fifo, 0644), 0);
  want = xasprintf("read '%s': not a regular file", fifo);
  strv_push(&dirs, root);
  ck_assert_int_lt(hosts_resolve("r.io", &dirs, &c, &err), 0);
  ck_assert_str_eq(err->msg, want);
  error_freep(&err);
  ck_assert_int_lt(hosts_add_mirror(root, "r.io", &o, &got, &err), 0);
  ck_assert_str_eq(err->msg, want);
  error_freep(&err);

  ck_assert_int_eq(mkfifo(cfg, 0644), 0);
  ck_assert_int_lt(hosts_containerd_config_path(cfg, &paths, &err), 0);
  free(want);
  want = xasprintf("containerd config: read '%s': not a regular file", cfg);
  ck_assert_str_eq(err->msg, want);
}
END_TEST

/* Concurrent adds to one registry all land: each re-reads the file under
 * the directory's lock. */
START_TEST(test_add_concurrent)
{
  cleanup_free char *root = tmp("c");
  cleanup_free char *file = tmp("c/r.io/hosts.toml");
  cleanup_free char *text = NULL;
  pid_t pids[10];

  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 10; i++) {
      pids[i] = fork();
      ck_assert_int_ge(pids[i], 0);
      if (pids[i] == 0) {
        struct error *err = NULL;
        char *got = NULL;
        char url[64];
        struct hosts_mirror_opts o = {.url = url};
        snprintf(url, sizeof(url), "https://m%d-%d", round, i);
        _exit(hosts_add_mirror(root, "r.io", &o, &got, &err) == 0 ? 0 : 1);
      }
    }
    for (int i = 0; i < 10; i++) {
      int status = 0;
      ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
      ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
  }
  text = slurp(file);
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 10; i++) {
      char key[80];
      snprintf(key, sizeof(key), "[host.\"https://m%d-%d\"]\n", round, i);
      ck_assert_msg(strstr(text, key) != NULL, "%s lost", key);
    }
}
END_TEST

/* hosts check --json: invalid UTF-8 becomes U+FFFD, byte by byte. */
static const struct {
  const char *in, *want;
} utf8_cases[] = {
    {"", ""},
    {"docker.io", "docker.io"},
    {"caf\xc3\xa9.io", "caf\xc3\xa9.io"},     /* valid 2-byte */
    {"\xf0\x9f\x90\xb3", "\xf0\x9f\x90\xb3"}, /* valid 4-byte */
    {"a\xff"
     "b",
     "a\xef\xbf\xbd"
     "b"},                                                    /* never valid */
    {"a\x80", "a\xef\xbf\xbd"},                               /* stray continuation */
    {"a\xc3", "a\xef\xbf\xbd"},                               /* truncated at the end */
    {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* truncated 3-byte */
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
    {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong 3-byte */
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
};

START_TEST(test_utf8_sanitize)
{
  cleanup_free char *got = hosts_utf8_sanitize(utf8_cases[_i].in);
  ck_assert_msg(strcmp(got, utf8_cases[_i].want) == 0, "case %d", _i);
}
END_TEST

START_TEST(test_strip_userinfo)
{
  static const char *const cases[][2] = {
      {"https://u:p@h/x", "https://h/x"},
      {"a \"http://u@h\" b https://h2 c", "a \"http://h\" b https://h2 c"},
      {"https://h/a@b", "https://h/a@b"},
      {"https://a:b@c@d", "https://d"},
      {"no url", "no url"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_free char *got = hosts_strip_userinfo(cases[i][0]);
    ck_assert_str_eq(got, cases[i][1]);
  }
}
END_TEST

/* ---- the commands ---- */

/* Run a command with stdout captured into *out (freed first). */
static int
run_cmd(cmd_fn fn, struct cli *cli, const char *const *args, char **out, struct error **err)
{
  cleanup_free char *path = tmp("stdout");
  char *argv[16];
  int argc = 0;
  int saved, fd, r;

  for (; args[argc]; argc++)
    argv[argc] = (char *)args[argc];
  argv[argc] = NULL;
  fflush(stdout);
  saved = dup(STDOUT_FILENO);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ck_assert_int_ge(fd, 0);
  dup2(fd, STDOUT_FILENO);
  close(fd);
  r = fn(cli, argc, argv, err);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  free(*out);
  *out = slurp(path);
  return r;
}

static void
cli_setup(struct cli *cli)
{
  memset(cli, 0, sizeof(*cli));
  /* no ctrx config, no containerd config: only what the test sets up */
  setenv("CTRX_CONFIG", "", 1);
  cli->env.containerd_config = "/nonexistent/config.toml";
}

static void
cli_teardown(struct cli *cli)
{
  if (cli->cfg_loaded)
    config_release(&cli->cfg);
  strv_release(&cli->g.hosts_dirs);
  unsetenv("CTRX_CONFIG");
}

START_TEST(test_cmd_hosts)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("h");
  cleanup_free char *file =
      make("h/docker.io/hosts.toml", "[host.\"http://127.0.0.1:5000\"]\n"
                                     "  capabilities = [\"pull\", \"resolve\"]\n"
                                     "  [host.\"http://127.0.0.1:5000\".header]\n"
                                     "    authorization = \"Basic c2VjcmV0\"\n");
  cleanup_free char *out = NULL;
  cleanup_free char *want = NULL;
  struct cli cli;

  cli_setup(&cli);
  strv_push(&cli.g.hosts_dirs, root);
  strv_push(&cli.g.hosts_dirs, "/nonexistent/certs.d");
  ck_assert_int_eq(
      run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", "nginx:alpine", NULL}, &out, &err), 0);
  want = xasprintf(
      "# hosts dirs: %s\n"
      "# not found, skipped: /nonexistent/certs.d\n"
      "# docker.io: %s\n"
      "http://127.0.0.1:5000/v2         caps=pull,resolve                 "
      "header.authorization=<redacted>  ns=docker.io  from=%s:1\n"
      "https://registry-1.docker.io/v2  caps=pull,resolve,push,referrers  from=%s+built-in\n",
      root, file, file, file);
  ck_assert_str_eq(out, want);
  ck_assert(strstr(out, "c2VjcmV0") == NULL);

  /* a registry host given directly; no host directory for it */
  ck_assert_int_eq(
      run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", "--", "quay.io", NULL}, &out, &err), 0);
  free(want);
  want = xasprintf("# hosts dirs: %s\n"
                   "# not found, skipped: /nonexistent/certs.d\n"
                   "# quay.io: no host directory matched; built-in defaults\n"
                   "https://quay.io/v2  caps=pull,resolve,push,referrers  from=built-in\n",
                   root);
  ck_assert_str_eq(out, want);

  ck_assert_int_lt(run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", NULL}, &out, &err), 0);
  ck_assert_str_eq(err->msg, "hosts: expected one REGISTRY or REF, got 0 arguments");
  ck_assert_int_eq(err->code, ERR_USAGE);
  error_freep(&err);
  ck_assert_int_lt(
      run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", "--bogus", "x", NULL}, &out, &err), 0);
  ck_assert_str_eq(err->msg, "hosts: flag provided but not defined: --bogus");
  error_freep(&err);
  ck_assert_int_lt(run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", "Nginx", NULL}, &out, &err),
                   0);
  ck_assert(str_has_prefix(err->msg, "hosts: \"Nginx\": "));
  error_freep(&err);
  cli_teardown(&cli);
}
END_TEST

START_TEST(test_cmd_hosts_errors_name_the_file)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("h");
  cleanup_free char *file =
      make("h/docker.io/hosts.toml", "server = \"https://x\"\ncapabilities = [\"pul\"]\n");
  cleanup_free char *out = NULL;
  cleanup_free char *want = NULL;
  struct cli cli;

  cli_setup(&cli);
  strv_push(&cli.g.hosts_dirs, root);
  ck_assert_int_lt(
      run_cmd(cmd_hosts, &cli, (const char *[]){"hosts", "docker.io", NULL}, &out, &err), 0);
  want = xasprintf(
      "hosts: %s:2:17: unknown capability \"pul\" (known: pull, resolve, push, referrers)", file);
  ck_assert_str_eq(err->msg, want);
  ck_assert_str_eq(out, "");
  cli_teardown(&cli);
}
END_TEST

START_TEST(test_cmd_hosts_add)
{
  cleanup_error struct error *err = NULL;
  cleanup_free char *root = tmp("add/certs.d");
  cleanup_free char *file = xasprintf("%s/docker.io/hosts.toml", root);
  cleanup_free char *out = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *want = NULL;
  struct cli cli;

  cli_setup(&cli);
  /* the first chain directory is used even though it does not exist yet */
  strv_push(&cli.g.hosts_dirs, root);
  strv_push(&cli.g.hosts_dirs, "/tmp");
  ck_assert_int_eq(run_cmd(cmd_hosts_add, &cli,
                           (const char *[]){"add", "docker.io", "http://127.0.0.1:5000",
                                            "--capabilities", "pull", "-skip-verify", NULL},
                           &out, &err),
                   0);
  want = xasprintf("added mirror http://127.0.0.1:5000 to %s\n", file);
  ck_assert_str_eq(out, want);
  text = slurp(file);
  ck_assert_str_eq(text, "server = \"https://registry-1.docker.io\"\n"
                         "\n"
                         "[host.\"http://127.0.0.1:5000\"]\n"
                         "  capabilities = [\"pull\"]\n"
                         "  skip_verify = true\n");
  free(text);

  /* flags first, Go style with '=', and a REF for the registry */
  ck_assert_int_eq(run_cmd(cmd_hosts_add, &cli,
                           (const char *[]){"add", "--ca=/etc/m.pem", "-override-path", "nginx",
                                            "https://m.example/v2/ns", NULL},
                           &out, &err),
                   0);
  text = slurp(file);
  ck_assert(str_has_suffix(text, "\n\n[host.\"https://m.example/v2/ns\"]\n"
                                 "  capabilities = [\"pull\", \"resolve\"]\n"
                                 "  ca = \"/etc/m.pem\"\n"
                                 "  override_path = true\n"));

  /* a duplicate is refused with the file named */
  ck_assert_int_lt(run_cmd(cmd_hosts_add, &cli,
                           (const char *[]){"add", "docker.io", "http://127.0.0.1:5000", NULL},
                           &out, &err),
                   0);
  free(want);
  want = xasprintf("hosts add: \"http://127.0.0.1:5000\" is already a mirror of docker.io in %s",
                   file);
  ck_assert_str_eq(err->msg, want);
  error_freep(&err);

  ck_assert_int_lt(
      run_cmd(cmd_hosts_add, &cli, (const char *[]){"add", "docker.io", NULL}, &out, &err), 0);
  ck_assert_str_eq(err->msg, "hosts add: expected REGISTRY and URL, got 1 arguments");
  error_freep(&err);
  ck_assert_int_lt(
      run_cmd(cmd_hosts_add, &cli,
              (const char *[]){"add", "--capabilities", "pull,fetch", "r.io", "https://m", NULL},
              &out, &err),
      0);
  ck_assert_str_eq(err->msg,
                   "hosts add: --capabilities: unknown capability \"fetch\" (known: pull, "
                   "resolve, push, referrers)");
  error_freep(&err);
  ck_assert_int_lt(run_cmd(cmd_hosts_add, &cli,
                           (const char *[]){"add", "r.io", "https://m", "--ca", NULL}, &out, &err),
                   0);
  ck_assert_str_eq(err->msg, "hosts add: flag needs an argument: -ca");
  error_freep(&err);
  cli_teardown(&cli);
}
END_TEST

Suite *
hosts_suite(void)
{
  Suite *s = suite_create("hosts");
  TCase *tc = tcase_create("hosts");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_default_hosts, 0, ARRAY_SIZE(defaults));
  tcase_add_test(tc, test_parse_host_file);
  tcase_add_loop_test(tc, test_semantics, 0, ARRAY_SIZE(semantics));
  tcase_add_loop_test(tc, test_parse_errors, 0, ARRAY_SIZE(parse_errors));
  tcase_add_test(tc, test_relative_paths);
  tcase_add_loop_test(tc, test_load_cert_files, 0, ARRAY_SIZE(certs_cases));
  tcase_add_test(tc, test_find_dir);
  tcase_add_test(tc, test_resolve);
  tcase_add_test(tc, test_discovery);
  tcase_add_loop_test(tc, test_registry_of, 0, ARRAY_SIZE(registry_of));
  tcase_add_test(tc, test_helpers);
  tcase_add_test(tc, test_describe);
  tcase_add_test(tc, test_describe_certs_and_default_upstream);
  tcase_add_test(tc, test_add_new_file);
  tcase_add_test(tc, test_add_existing_file);
  tcase_add_test(tc, test_add_errors);
  tcase_add_loop_test(tc, test_add_refused, 0, ARRAY_SIZE(add_refused));
  tcase_add_loop_test(tc, test_dot_registry_refused, 0, ARRAY_SIZE(dot_names));
  tcase_add_test(tc, test_add_through_symlink);
  tcase_add_test(tc, test_fifo_refused);
  tcase_add_test(tc, test_add_concurrent);
  tcase_add_loop_test(tc, test_utf8_sanitize, 0, ARRAY_SIZE(utf8_cases));
  tcase_add_test(tc, test_strip_userinfo);
  tcase_add_test(tc, test_cmd_hosts);
  tcase_add_test(tc, test_cmd_hosts_errors_name_the_file);
  tcase_add_test(tc, test_cmd_hosts_add);
  suite_add_tcase(s, tc);
  return s;
}
