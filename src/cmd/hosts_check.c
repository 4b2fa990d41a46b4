/* ctrx hosts check [--json] [REGISTRY|REF...]: ask every endpoint of each
 * registry whether it answers, all of them at once, with the deadlines a
 * pull uses, and say which ones would serve a pull. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hosts.h"
#include "probe.h"
#include "registry.h"

enum { CHECK_F_HELP, CHECK_F_JSON, CHECK_F_PLAIN_HTTP, CHECK_F_SKIP_VERIFY };

/* The flags of hosts check, with their help (see table.c). */
const struct flag cmd_hosts_check_flags[] = {
    {"h help", FLAG_BOOL, CHECK_F_HELP, NULL, "show this help", "Flags:"},
    {"json", FLAG_BOOL, CHECK_F_JSON, NULL, "print the results as JSON"},
    {"plain-http", FLAG_BOOL, CHECK_F_PLAIN_HTTP, NULL,
     "talk http to the registry's default endpoint, as pull --plain-http"},
    {"skip-verify", FLAG_BOOL, CHECK_F_SKIP_VERIFY, NULL,
     "do not verify TLS certificates, as pull --skip-verify"},
    {NULL, FLAG_BOOL, 0},
};

struct check_opts {
  bool help;
  bool json;
  struct endpoints_opts eo; /* as the same flags of a pull */
};

static int
check_flag(int id, const char *value, void *data, struct error **err)
{
  struct check_opts *o = data;
  bool b = false;

  if (cli_parse_bool(value, &b) < 0)
    return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", value);
  if (id == CHECK_F_HELP)
    o->help = b;
  else if (id == CHECK_F_JSON)
    o->json = b;
  else if (id == CHECK_F_PLAIN_HTTP)
    o->eo.plain_http = b;
  else if (id == CHECK_F_SKIP_VERIFY)
    o->eo.skip_verify = b;
  return 0;
}

/* The TLS column holds a word; why TLS failed is in the error column. */
static const char *
tls_word(const struct registry_probe *p)
{
  if (p->tls == NULL)
    return "-";
  return str_has_prefix(p->tls, "failed") ? "failed" : p->tls;
}

struct widths {
  int reg, url, tls;
};

static void
widen(int *w, const char *s)
{
  if ((int)strlen(s) > *w)
    *w = (int)strlen(s);
}

static struct widths
column_widths(const struct probe_registry *regs, size_t n)
{
  struct widths w = {(int)strlen("REGISTRY"), (int)strlen("ENDPOINT"), (int)strlen("TLS")};

  for (size_t i = 0; i < n; i++) {
    widen(&w.reg, regs[i].name);
    for (size_t k = 0; k < regs[i].n_eps; k++) {
      cleanup_free char *url = probe_ep_url(&regs[i].eps[k].ep);
      widen(&w.url, url);
      widen(&w.tls, tls_word(&regs[i].eps[k].res));
    }
  }
  return w;
}

static void
print_row(const struct widths *w, const char *name, const struct probe_endpoint *pe)
{
  const struct registry_probe *p = &pe->res;
  cleanup_free char *url = probe_ep_url(&pe->ep);
  char latency[32], status[24];

  snprintf(latency, sizeof(latency), "%" PRId64 "ms", p->latency_ms);
  if (p->status > 0)
    snprintf(status, sizeof(status), "%ld", p->status);
  else
    snprintf(status, sizeof(status), "-");
  printf("%-*s  %-*s  %-6s  %8s  %-4s  %-4s  %-*s  %s\n", w->reg, name, w->url, url,
         probe_verdict(p), latency, status, p->http_version[0] ? p->http_version : "-", w->tls,
         tls_word(p), p->error ? p->error : "-");
}

static void
print_registry(const struct widths *w, const struct probe_registry *c)
{
  size_t slow = 0;

  if (c->error) {
    printf("%s: %s\n", c->name, c->error);
    return;
  }
  for (size_t k = 0; k < c->n_eps; k++) {
    print_row(w, c->name, &c->eps[k]);
    slow += strcmp(probe_verdict(&c->eps[k].res), "slow") == 0;
  }
  printf("%s: %zu of %zu endpoint%s answer%s", c->name, probe_answering(c), c->n_eps,
         c->n_eps == 1 ? "" : "s", c->n_eps == 1 ? "s" : "");
  if (slow > 0)
    printf(" (%zu slow)", slow);
  printf("\n");
}

static void
print_text(const struct probe_registry *regs, size_t n)
{
  struct widths w = column_widths(regs, n);

  printf("%-*s  %-*s  %-6s  %8s  %-4s  %-4s  %-*s  %s\n", w.reg, "REGISTRY", w.url, "ENDPOINT",
         "STATUS", "LATENCY", "HTTP", "VER", w.tls, "TLS", "ERROR");
  for (size_t i = 0; i < n; i++)
    print_registry(&w, &regs[i]);
}

/* JSON strings are UTF-8; names from the file system need not be. Bytes
 * that are not become U+FFFD (hosts_utf8_sanitize) rather than making
 * json_string fail and the key vanish. */
static json_t *
str_or_null(const char *s)
{
  cleanup_free char *u = NULL;

  if (s == NULL)
    return json_null();
  u = hosts_utf8_sanitize(s);
  return json_string(u);
}

static json_t *
json_endpoint(const struct probe_endpoint *pe)
{
  const struct registry_probe *p = &pe->res;
  json_t *e = json_object();

  json_object_set_new(e, "url", str_or_null(pe->ep.base));
  json_object_set_new(e, "ns", str_or_null(pe->ep.ns));
  json_object_set_new(e, "status", json_string(probe_verdict(p)));
  json_object_set_new(e, "alive", json_boolean(p->alive));
  json_object_set_new(e, "latency_ms", json_integer(p->latency_ms));
  json_object_set_new(e, "http_status", p->status > 0 ? json_integer(p->status) : json_null());
  json_object_set_new(e, "http_version", str_or_null(p->http_version[0] ? p->http_version : NULL));
  json_object_set_new(e, "tls", str_or_null(p->tls));
  json_object_set_new(e, "error", str_or_null(p->error));
  return e;
}

static json_t *
json_registry(const struct probe_registry *c)
{
  json_t *r = json_object();
  json_t *eps = json_array();

  json_object_set_new(r, "registry", str_or_null(c->name));
  json_object_set_new(r, "host_dir", str_or_null(c->hc.host_dir));
  json_object_set_new(r, "file", str_or_null(c->hc.file));
  json_object_set_new(r, "error", str_or_null(c->error));
  for (size_t k = 0; k < c->n_eps; k++)
    json_array_append_new(eps, json_endpoint(&c->eps[k]));
  json_object_set_new(r, "endpoints", eps);
  json_object_set_new(r, "answering", json_integer((json_int_t)probe_answering(c)));
  json_object_set_new(r, "total", json_integer((json_int_t)c->n_eps));
  return r;
}

static int
print_json(const struct probe_registry *regs, size_t n, struct error **err)
{
  json_t *root = json_object();
  json_t *list = json_array();
  char *text;

  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, json_registry(&regs[i]));
  json_object_set_new(root, "registries", list);
  text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (text == NULL)
    return error_setc(err, ERR_INTERNAL, "hosts check: cannot encode JSON");
  printf("%s\n", text);
  free(text);
  return 0;
}

/* Mirror deadlines as a pull has them: the ctrx config's [mirror], else the
 * defaults; the command's --timeout ends everything. */
static void
probe_opts(struct cli *cli, const struct ctrx_config *cfg, struct registry_opts *ro)
{
  memset(ro, 0, sizeof(*ro));
  ro->debug = cli->g.debug;
  ro->deadline_ms = cli->deadline_ms;
  if (cfg && cfg->connect_timeout_ms > 0)
    ro->connect_timeout_ms = cfg->connect_timeout_ms;
  if (cfg && cfg->first_byte_timeout_ms > 0)
    ro->first_byte_timeout_ms = cfg->first_byte_timeout_ms;
  if (cfg && cfg->stall_timeout_ms > 0)
    ro->stall_timeout_ms = cfg->stall_timeout_ms;
}

/* Flags may come before, between and after the names; "--" ends them. */
static int
parse_args(int argc, char **argv, struct check_opts *o, struct strv *args, struct error **err)
{
  int optind = 1;

  while (optind < argc) {
    int unknown = -1;
    int r;

    if (strcmp(argv[optind], "--") == 0) {
      for (optind++; optind < argc; optind++)
        strv_push(args, argv[optind]);
      break;
    }
    r = cli_parse_flags(cmd_hosts_check_flags, argc, argv, &optind, check_flag, o, &unknown, err);
    if (r < 0)
      return error_wrap(err, "hosts check");
    if (r == 1)
      return error_setc(err, ERR_USAGE, "hosts check: flag provided but not defined: %s",
                        argv[unknown]);
    if (optind < argc && strcmp(argv[optind], "--") != 0)
      strv_push(args, argv[optind++]);
  }
  return 0;
}

static void
print_help(void)
{
  const struct cmd *c = cmd_find(cmd_table, "hosts");

  if (c)
    c = cmd_find(c->sub, "check");
  if (c)
    cmd_print_help(stdout, c, "hosts check");
}

/* The registries to check: those the arguments name, else every one with a
 * host directory in dirs. */
static int
registry_names(const struct strv *args, const struct strv *dirs, struct strv *names,
               struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;

  for (size_t i = 0; i < args->n; i++) {
    char *name = NULL;
    if (hosts_registry_of(args->v[i], &name, err) < 0)
      return error_wrap(err, "hosts check");
    if (strv_contains(names, name))
      free(name);
    else
      strv_push_owned(names, name);
  }
  if (args->n > 0)
    return 0;
  probe_registries_in(dirs, names);
  if (names->n > 0)
    return 0;
  for (size_t i = 0; i < dirs->n; i++)
    buf_addf(&b, "%s%s", i ? ", " : "", dirs->v[i]);
  return error_setc(err, ERR_NOT_FOUND,
                    "hosts check: no registry has a host directory in %s; name one",
                    b.len ? b.data : "(no hosts directory)");
}

/* Exit status 1 names every registry without an answering endpoint. */
static int
verdict_all(const struct probe_registry *regs, size_t n, struct error **err)
{
  cleanup_buf struct buf bad = BUF_INIT;

  for (size_t i = 0; i < n; i++)
    if (regs[i].error != NULL || probe_answering(&regs[i]) == 0)
      buf_addf(&bad, "%s%s", bad.len ? ", " : "", regs[i].name);
  if (bad.len == 0)
    return 0;
  fflush(stdout);
  return error_setc(err, ERR_UNAVAILABLE, "hosts check: no working endpoint for %s", bad.data);
}

static int
check_registries(struct cli *cli, const struct ctrx_config *cfg, const struct check_opts *o,
                 const struct strv *dirs, const struct strv *names, struct error **err)
{
  struct registry_opts ro;
  struct registry *reg = NULL;
  struct probe_registry *regs = NULL;
  int rv = -1;

  probe_opts(cli, cfg, &ro);
  if (registry_new(&ro, &reg, err) < 0)
    return error_wrap(err, "hosts check");
  regs = xcalloc(names->n, sizeof(*regs));
  for (size_t i = 0; i < names->n; i++) {
    probe_registry_init(&regs[i], names->v[i], dirs, &o->eo);
    for (size_t k = 0; k < regs[i].hc.warnings.n; k++)
      fprintf(stderr, "ctrx: warning: %s\n", regs[i].hc.warnings.v[k]);
  }
  probe_all(reg, regs, names->n);
  if (o->json) {
    rv = print_json(regs, names->n, err);
  } else {
    print_text(regs, names->n);
    rv = 0;
  }
  if (rv == 0)
    rv = verdict_all(regs, names->n, err);
  for (size_t i = 0; i < names->n; i++)
    probe_registry_release(&regs[i]);
  free(regs);
  registry_free(reg);
  return rv;
}

int
cmd_hosts_check(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_strv struct strv names = STRV_INIT;
  const struct ctrx_config *cfg = NULL;
  struct check_opts o = {0};

  if (parse_args(argc, argv, &o, &args, err) < 0)
    return -1;
  if (o.help) {
    print_help();
    return 0;
  }
  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0)
    return error_wrap(err, "hosts check");
  if (registry_names(&args, &dirs, &names, err) < 0)
    return -1;
  return check_registries(cli, cfg, &o, &dirs, &names, err);
}
