/* ctrx: the global flags, dispatch through the command table (cmd/table.c),
 * and turning errors into "ctrx: …" and an exit status. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "grpc.h"
#include "http.h"
#include "log.h"
#include "version.h"

/* Core modules' warnings and --debug lines: one write per line, so that
 * lines from several threads never interleave. */
/* A copy of text that a terminal shows as text: control characters (C0, DEL
 * and UTF-8-encoded C1, which covers escape sequences) become '?'. Errors and
 * log lines quote what servers, files and the command line said. */
static char *
terminal_safe(const char *text)
{
  char *out = xstrdup(text);

  for (unsigned char *p = (unsigned char *)out, prev = 0; *p; prev = *p++) {
    bool c0 = (*p < 0x20 && *p != '\t') || *p == 0x7f;
    bool raw_c1 = *p >= 0x80 && *p <= 0x9f && prev < 0x80;

    if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* C1 in UTF-8 */
      p[0] = '?', p[1] = '?';
    else if (c0 || raw_c1)
      *p = '?';
  }
  return out;
}

static void
log_to_stderr(enum log_level level, const char *line, void *data)
{
  cleanup_free char *safe = terminal_safe(line);
  cleanup_free char *out = xasprintf("ctrx: %s\n", safe);
  write_all(STDERR_FILENO, out, strlen(out));
}

struct global_parse {
  struct global_opts *g;
  bool help;
  bool version;
};

static const char *
env_get(const char *name)
{
  return getenv(name);
}

static int
global_flag(int id, const char *value, void *data, struct error **err)
{
  struct global_parse *p = data;
  struct global_opts *g = p->g;
  bool b = false;

  switch (id) {
  case G_ADDRESS:
    free(g->address);
    g->address = xstrdup(value);
    break;
  case G_NAMESPACE:
    g->namespace_flag = value;
    break;
  case G_TIMEOUT:
  case G_CONNECT_TIMEOUT: {
    int64_t ms;
    if (parse_duration_ms(value, &ms) < 0)
      return error_setc(err, ERR_USAGE, "invalid value \"%s\" for flag --%s: parse error", value,
                        id == G_TIMEOUT ? "timeout" : "connect-timeout");
    /* ctr sets a deadline only for a positive timeout */
    if (ms < 0)
      ms = 0;
    if (id == G_TIMEOUT) {
      g->timeout_ms = ms;
      g->timeout_arg = value;
    } else {
      g->connect_timeout_ms = ms;
      g->connect_timeout_arg = value;
    }
    break;
  }
  case G_DEBUG:
  case G_NO_EXPAND:
  case G_K8S:
  case G_HELP:
  case G_VERSION:
    if (cli_parse_bool(value, &b) < 0)
      return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", value);
    if (id == G_DEBUG)
      g->debug = b;
    else if (id == G_NO_EXPAND)
      g->no_expand = b;
    else if (id == G_K8S && b)
      g->namespace_flag = "k8s.io";
    else if (id == G_HELP)
      p->help = b;
    else if (id == G_VERSION)
      p->version = b;
    break;
  case G_HOSTS_DIR:
    strv_push(&g->hosts_dirs, value);
    break;
  }
  return 0;
}

/* -n or --k8s, then CONTAINERD_NAMESPACE, then the ctrx config, then
 * "default"; the config is read only when it decides. */
static int
resolve_namespace(struct cli *cli, struct error **err)
{
  const struct ctrx_config *cfg = NULL;
  const char *ns = config_pick(cli->g.namespace_flag, cli->env.namespace, NULL, NULL);

  if (ns == NULL) {
    if (cli_config(cli, &cfg, err) < 0)
      return -1;
    ns = config_pick(NULL, NULL, cfg->namespace, CTRX_DEFAULT_NAMESPACE);
  }
  cli->g.namespace = xstrdup(ns);
  return 0;
}

static int
run(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct global_parse gp = {.g = &cli->g};
  const char *env_no_expand;
  const struct cmd *c;
  int optind = 1;
  int unknown = -1;
  int rv;

  config_read_env(&cli->env, env_get);
  cli->state_dir = config_state_dir(&cli->env, geteuid() == 0);
  env_no_expand = cli->env.no_expand;
  /* the flag, parsed below, replaces it */
  cli->g.address = xstrdup(config_pick(NULL, cli->env.address, NULL, CTRX_DEFAULT_ADDRESS));
  if (env_no_expand && *env_no_expand) {
    bool b = true;
    /* any value but a false one turns expansion off */
    cli->g.no_expand = cli_parse_bool(env_no_expand, &b) < 0 || b;
  }
  rv = cli_parse_flags(cmd_global_flags, argc, argv, &optind, global_flag, &gp, &unknown, err);
  if (rv < 0)
    return -1;
  log_set_sink(log_to_stderr, NULL, cli->g.debug);
  if (cli->g.timeout_ms > 0)
    cli->deadline_ms = now_ms() + cli->g.timeout_ms;
  if (rv == 1) {
    /* A global flag we do not know: ctr reports it exactly as ctr does. The
     * flags before it are already in cli->g and go to ctr from there, so
     * they are not handed over twice ("Cannot use two forms of the same
     * flag"). */
    if (resolve_namespace(cli, err) < 0)
      return -1;
    return cli_passthru(cli, argc - unknown, argv + unknown, err);
  }
  if (gp.version) {
    printf("ctrx version %s (%s)\n", CTRX_VERSION, CTRX_REVISION);
    return 0;
  }
  if (gp.help || optind >= argc || strcmp(argv[optind], "help") == 0 ||
      strcmp(argv[optind], "h") == 0) {
    if (!gp.help && optind < argc && optind + 1 < argc) {
      /* "ctrx help CMD": ours for our commands, ctr's for the others */
      c = cmd_find(cmd_table, argv[optind + 1]);
      if (c && (c->fn || c->sub)) {
        cmd_print_help(stdout, c, c->name);
        return 0;
      }
      if (resolve_namespace(cli, err) < 0)
        return -1;
      return cli_passthru(cli, argc - optind, argv + optind, err);
    }
    cmd_print_top_help(stdout);
    return optind >= argc && !gp.help ? 1 : 0;
  }
  if (resolve_namespace(cli, err) < 0)
    return -1;

  argc -= optind;
  argv += optind;
  c = cmd_find(cmd_table, argv[0]);
  if (c == NULL)
    return cli_passthru(cli, argc, argv, err);
  if (c->sub)
    return cmd_dispatch_sub(cli, c, argc, argv, err);
  if (cli_wants_help(argc, argv)) {
    cmd_print_help(stdout, c, c->name);
    return 0;
  }
  return c->fn(cli, argc, argv, err);
}

static void
cli_release(struct cli *cli)
{
  grpc_conn_free(cli->conn);
  if (cli->cfg_loaded)
    config_release(&cli->cfg);
  free(cli->g.address);
  free(cli->g.namespace);
  strv_release(&cli->g.hosts_dirs);
  free(cli->self_path);
  free(cli->docker_config);
  free(cli->state_dir);
}

int
main(int argc, char **argv)
{
  struct cli cli = {0};
  struct error *err = NULL;
  int status;

  http_gnutls_switch_set(getenv("GNUTLS_NO_IMPLICIT_INIT") != NULL);
  /* One malloc arena for all threads: ours wait on sockets, and an arena
   * each (glibc's default) adds about 0.4 MiB to a pull's peak RSS for no
   * speed we could measure. The user's own setting wins. */
  if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL)
    mallopt(M_ARENA_MAX, 1);
  status = run(&cli, argc, argv, &err);
  if (status < 0) {
    fflush(stdout);
    cleanup_free char *msg = terminal_safe(err ? err->msg : "unknown error");
    fprintf(stderr, "ctrx: %s\n", msg);
    if (err && err->code == ERR_USAGE)
      fprintf(stderr, "ctrx: see 'ctrx --help'\n");
    status = 1;
  }
  if (fflush(stdout) != 0 && errno != EPIPE && status == 0) {
    fprintf(stderr, "ctrx: write error: %s\n", strerror(errno));
    status = 1;
  }
  error_free(err);
  cli_release(&cli);
  return status;
}
