/* ctrx hosts check [--json] [REGISTRY|REF...]: ask every endpoint of each
 * registry whether it answers, all of them at once, with the deadlines a
 * pull uses, and say which ones would serve a pull. */
#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "hosts.h"
#include "registry.h"

/* An endpoint that answers only after the hedge delay is one a pull will
 * already have gone past: call it slow. */
#define CHECK_SLOW_MS REGISTRY_HEDGE_DELAY_MS

enum { CHECK_F_HELP, CHECK_F_JSON };

static const struct flag check_flags[] = {
    {"h help", FLAG_BOOL, CHECK_F_HELP},
    {"json", FLAG_BOOL, CHECK_F_JSON},
    {NULL, FLAG_BOOL, 0},
};

struct check_opts {
  bool help;
  bool json;
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
  return 0;
}

/* One endpoint and what its probe found. */
struct probe_job {
  struct registry *reg;
  struct registry_ep ep;
  struct registry_probe res;
  pthread_t thread;
  bool started;
};

/* One registry: its configuration, or why there is none. */
struct check_registry {
  char *name;
  struct hosts_config hc;
  char *error; /* hosts_resolve failed */
  struct probe_job *jobs;
  size_t n_jobs;
};

static void *
probe_run(void *arg)
{
  struct probe_job *j = arg;

  registry_probe(j->reg, &j->ep, &j->res);
  return NULL;
}

/* The endpoint as a pull will ask it (pull.c builds the same). */
static void
ep_from_hosts(const struct hosts_config *hc, const struct hosts_endpoint *h, struct registry_ep *e)
{
  memset(e, 0, sizeof(*e));
  e->base = xasprintf("%s://%s%s", h->scheme, h->host, h->path);
  e->ns = h->ns ? xstrdup(hc->registry) : NULL;
  e->caps = (h->caps & HOSTS_CAP_PULL ? REGISTRY_PULL : 0) |
            (h->caps & HOSTS_CAP_RESOLVE ? REGISTRY_RESOLVE : 0) |
            (h->caps & HOSTS_CAP_PUSH ? REGISTRY_PUSH : 0);
  e->skip_verify = h->skip_verify;
  e->connect_timeout_ms = h->dial_timeout_ms > 0 ? h->dial_timeout_ms : 0;
  for (size_t i = 0; i < h->ca.n; i++)
    strv_push(&e->ca_files, h->ca.v[i]);
  if (h->n_clients > 0) {
    e->client_cert = xstrdup(h->clients[0].cert);
    e->client_key = h->clients[0].key && *h->clients[0].key ? xstrdup(h->clients[0].key) : NULL;
  }
  for (size_t i = 0; i < h->n_headers; i++)
    for (size_t k = 0; k < h->headers[i].values.n; k++)
      strv_push_owned(&e->headers,
                      xasprintf("%s: %s", h->headers[i].name, h->headers[i].values.v[k]));
}

/* Every registry with a host directory in the chain, in chain order, each
 * directory's names sorted; "_default" is no registry. "host_port_" names
 * the registry "host:port". */
static void
registries_in(const struct strv *dirs, struct strv *out)
{
  for (size_t i = 0; i < dirs->n; i++) {
    cleanup_strv struct strv names = STRV_INIT;
    DIR *d = opendir(dirs->v[i]);
    struct dirent *de;

    if (d == NULL)
      continue;
    while ((de = readdir(d)) != NULL) {
      cleanup_free char *path = NULL;
      struct stat st;
      if (de->d_name[0] == '.' || strcmp(de->d_name, "_default") == 0)
        continue;
      path = xasprintf("%s/%s", dirs->v[i], de->d_name);
      if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        continue;
      strv_push(&names, de->d_name);
    }
    closedir(d);
    if (names.n > 1)
      qsort(names.v, names.n, sizeof(char *), str_ptr_cmp);
    for (size_t k = 0; k < names.n; k++) {
      char *name = xstrdup(names.v[k]);
      size_t len = strlen(name);
      /* host_port_ -> host:port */
      if (len > 2 && name[len - 1] == '_') {
        char *sep = NULL;
        for (char *p = name + len - 2; p > name && *p >= '0' && *p <= '9'; p--)
          if (p[-1] == '_')
            sep = p - 1;
        if (sep != NULL) {
          *sep = ':';
          name[len - 1] = '\0';
        }
      }
      if (strv_contains(out, name))
        free(name);
      else
        strv_push_owned(out, name);
    }
  }
}

static const char *
verdict(const struct registry_probe *p)
{
  if (!p->alive)
    return "dead";
  return p->latency_ms > CHECK_SLOW_MS ? "slow" : "ok";
}

static size_t
answering(const struct check_registry *c)
{
  size_t n = 0;

  for (size_t i = 0; i < c->n_jobs; i++)
    n += c->jobs[i].res.alive;
  return n;
}

static char *
ep_url(const struct registry_ep *e)
{
  return e->ns ? xasprintf("%s?ns=%s", e->base, e->ns) : xstrdup(e->base);
}

/* The TLS column holds a word; why TLS failed is in the error column. */
static const char *
tls_word(const struct registry_probe *p)
{
  if (p->tls == NULL)
    return "-";
  return str_has_prefix(p->tls, "failed") ? "failed" : p->tls;
}

static void
print_text(const struct check_registry *regs, size_t n)
{
  size_t reg_w = strlen("REGISTRY"), url_w = strlen("ENDPOINT"), tls_w = strlen("TLS");

  for (size_t i = 0; i < n; i++) {
    if (strlen(regs[i].name) > reg_w)
      reg_w = strlen(regs[i].name);
    for (size_t k = 0; k < regs[i].n_jobs; k++) {
      cleanup_free char *url = ep_url(&regs[i].jobs[k].ep);
      if (strlen(url) > url_w)
        url_w = strlen(url);
      if (strlen(tls_word(&regs[i].jobs[k].res)) > tls_w)
        tls_w = strlen(tls_word(&regs[i].jobs[k].res));
    }
  }
  printf("%-*s  %-*s  %-6s  %8s  %-4s  %-4s  %-*s  %s\n", (int)reg_w, "REGISTRY", (int)url_w,
         "ENDPOINT", "STATUS", "LATENCY", "HTTP", "VER", (int)tls_w, "TLS", "ERROR");
  for (size_t i = 0; i < n; i++) {
    const struct check_registry *c = &regs[i];
    size_t slow = 0;

    if (c->error) {
      printf("%s: %s\n", c->name, c->error);
      continue;
    }
    for (size_t k = 0; k < c->n_jobs; k++) {
      const struct registry_probe *p = &c->jobs[k].res;
      cleanup_free char *url = ep_url(&c->jobs[k].ep);
      char latency[32], status[24];

      snprintf(latency, sizeof(latency), "%" PRId64 "ms", p->latency_ms);
      if (p->status > 0)
        snprintf(status, sizeof(status), "%ld", p->status);
      else
        snprintf(status, sizeof(status), "-");
      printf("%-*s  %-*s  %-6s  %8s  %-4s  %-4s  %-*s  %s\n", (int)reg_w, c->name, (int)url_w, url,
             verdict(p), latency, status, p->http_version[0] ? p->http_version : "-", (int)tls_w,
             tls_word(p), p->error ? p->error : "-");
      slow += strcmp(verdict(p), "slow") == 0;
    }
    printf("%s: %zu of %zu endpoint%s answer%s", c->name, answering(c), c->n_jobs,
           c->n_jobs == 1 ? "" : "s", c->n_jobs == 1 ? "s" : "");
    if (slow > 0)
      printf(" (%zu slow)", slow);
    printf("\n");
  }
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

static int
print_json(const struct check_registry *regs, size_t n, struct error **err)
{
  json_t *root = json_object();
  json_t *list = json_array();
  char *text;

  for (size_t i = 0; i < n; i++) {
    const struct check_registry *c = &regs[i];
    json_t *r = json_object();
    json_t *eps = json_array();

    json_object_set_new(r, "registry", str_or_null(c->name));
    json_object_set_new(r, "host_dir", str_or_null(c->hc.host_dir));
    json_object_set_new(r, "file", str_or_null(c->hc.file));
    json_object_set_new(r, "error", str_or_null(c->error));
    for (size_t k = 0; k < c->n_jobs; k++) {
      const struct probe_job *j = &c->jobs[k];
      json_t *e = json_object();
      json_object_set_new(e, "url", str_or_null(j->ep.base));
      json_object_set_new(e, "ns", str_or_null(j->ep.ns));
      json_object_set_new(e, "status", json_string(verdict(&j->res)));
      json_object_set_new(e, "alive", json_boolean(j->res.alive));
      json_object_set_new(e, "latency_ms", json_integer(j->res.latency_ms));
      json_object_set_new(e, "http_status",
                          j->res.status > 0 ? json_integer(j->res.status) : json_null());
      json_object_set_new(e, "http_version",
                          str_or_null(j->res.http_version[0] ? j->res.http_version : NULL));
      json_object_set_new(e, "tls", str_or_null(j->res.tls));
      json_object_set_new(e, "error", str_or_null(j->res.error));
      json_array_append_new(eps, e);
    }
    json_object_set_new(r, "endpoints", eps);
    json_object_set_new(r, "answering", json_integer((json_int_t)answering(c)));
    json_object_set_new(r, "total", json_integer((json_int_t)c->n_jobs));
    json_array_append_new(list, r);
  }
  json_object_set_new(root, "registries", list);
  text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (text == NULL)
    return error_setc(err, ERR_INTERNAL, "hosts check: cannot encode JSON");
  printf("%s\n", text);
  free(text);
  return 0;
}

static void
check_registry_release(struct check_registry *c)
{
  for (size_t k = 0; k < c->n_jobs; k++) {
    registry_probe_release(&c->jobs[k].res);
    registry_ep_release(&c->jobs[k].ep);
  }
  free(c->jobs);
  hosts_config_release(&c->hc);
  free(c->error);
  free(c->name);
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

int
cmd_hosts_check(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_strv struct strv names = STRV_INIT;
  const struct ctrx_config *cfg = NULL;
  struct check_opts o = {0};
  struct registry_opts ro;
  struct registry *reg = NULL;
  struct check_registry *regs = NULL;
  int optind = 1;
  int rv = -1;

  /* Flags may come before, between and after the names; "--" ends them. */
  while (optind < argc) {
    int unknown = -1;
    int r;

    if (strcmp(argv[optind], "--") == 0) {
      for (optind++; optind < argc; optind++)
        strv_push(&args, argv[optind]);
      break;
    }
    r = cli_parse_flags(check_flags, argc, argv, &optind, check_flag, &o, &unknown, err);
    if (r < 0)
      return error_wrap(err, "hosts check");
    if (r == 1)
      return error_setc(err, ERR_USAGE, "hosts check: flag provided but not defined: %s",
                        argv[unknown]);
    if (optind < argc && strcmp(argv[optind], "--") != 0)
      strv_push(&args, argv[optind++]);
  }
  if (o.help) {
    const struct cmd *c = cmd_find(cmd_table, "hosts");
    if (c)
      c = cmd_find(c->sub, "check");
    if (c)
      cmd_print_help(stdout, c, "hosts check");
    return 0;
  }
  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0)
    return error_wrap(err, "hosts check");
  for (size_t i = 0; i < args.n; i++) {
    char *name = NULL;
    if (hosts_registry_of(args.v[i], &name, err) < 0)
      return error_wrap(err, "hosts check");
    if (strv_contains(&names, name))
      free(name);
    else
      strv_push_owned(&names, name);
  }
  if (args.n == 0) {
    registries_in(&dirs, &names);
    if (names.n == 0) {
      struct buf b = BUF_INIT;
      for (size_t i = 0; i < dirs.n; i++)
        buf_addf(&b, "%s%s", i ? ", " : "", dirs.v[i]);
      error_setc(err, ERR_NOT_FOUND,
                 "hosts check: no registry has a host directory in %s; name one",
                 b.len ? b.data : "(no hosts directory)");
      buf_release(&b);
      return -1;
    }
  }

  probe_opts(cli, cfg, &ro);
  if (registry_new(&ro, &reg, err) < 0)
    return error_wrap(err, "hosts check");
  regs = xcalloc(names.n, sizeof(*regs));
  for (size_t i = 0; i < names.n; i++) {
    struct check_registry *c = &regs[i];
    struct error *e = NULL;

    c->name = xstrdup(names.v[i]);
    if (hosts_resolve(c->name, &dirs, &c->hc, &e) < 0) {
      c->error = xstrdup(e->msg);
      error_free(e);
      continue;
    }
    for (size_t k = 0; k < c->hc.warnings.n; k++)
      fprintf(stderr, "ctrx: warning: %s\n", c->hc.warnings.v[k]);
    c->n_jobs = c->hc.endpoints.n;
    c->jobs = xcalloc(c->n_jobs ? c->n_jobs : 1, sizeof(*c->jobs));
    for (size_t k = 0; k < c->n_jobs; k++) {
      c->jobs[k].reg = reg;
      ep_from_hosts(&c->hc, &c->hc.endpoints.v[k], &c->jobs[k].ep);
    }
  }
  /* Every endpoint at once: the slowest decides how long this takes. */
  for (size_t i = 0; i < names.n; i++)
    for (size_t k = 0; k < regs[i].n_jobs; k++) {
      struct probe_job *j = &regs[i].jobs[k];
      j->started = pthread_create(&j->thread, NULL, probe_run, j) == 0;
      if (!j->started)
        probe_run(j);
    }
  for (size_t i = 0; i < names.n; i++)
    for (size_t k = 0; k < regs[i].n_jobs; k++)
      if (regs[i].jobs[k].started)
        pthread_join(regs[i].jobs[k].thread, NULL);

  if (o.json) {
    if (print_json(regs, names.n, err) < 0)
      goto out;
  } else {
    print_text(regs, names.n);
  }
  {
    struct buf bad = BUF_INIT;
    for (size_t i = 0; i < names.n; i++)
      if (regs[i].error != NULL || answering(&regs[i]) == 0)
        buf_addf(&bad, "%s%s", bad.len ? ", " : "", regs[i].name);
    if (bad.len > 0) {
      fflush(stdout);
      error_setc(err, ERR_UNAVAILABLE, "hosts check: no working endpoint for %s", bad.data);
      buf_release(&bad);
      goto out;
    }
  }
  rv = 0;
out:
  for (size_t i = 0; i < names.n; i++)
    check_registry_release(&regs[i]);
  free(regs);
  registry_free(reg);
  return rv;
}
