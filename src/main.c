/* ctrx: global flags, the command table, and turning errors into
 * "ctrx: …" and an exit status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "grpc.h"
#include "log.h"
#include "version.h"

/* The flags of pull, for both of its table rows. */
#define PULL_FLAGS_HELP                                                                            \
  "\n"                                                                                             \
  "Flags (ctr's, run by ctrx):\n"                                                                  \
  "  --platform OS/ARCH[/VARIANT]    pull for this platform (default: this machine's)\n"           \
  "  --snapshotter NAME              unpack into this snapshotter [$CONTAINERD_SNAPSHOTTER]\n"     \
  "  --label K=V                     label the image (repeatable)\n"                               \
  "  --max-concurrent-downloads N    layers downloaded at once (default 4)\n"                      \
  "  --plain-http                    talk http to the registry's default endpoint\n"               \
  "  -k, --skip-verify               do not verify registries' TLS certificates\n"                 \
  "  -u, --user USER[:PASSWORD]      registry credentials (else docker's config.json)\n"           \
  "  --hosts-dir DIR                 registry hosts directory (repeatable)\n"                      \
  "  --print-chainid                 print the image's top chain ID\n"                             \
  "Flags of ctrx:\n"                                                                               \
  "  --dry-run                       print the name, hosts dirs and endpoints; do nothing\n"       \
  "  -q, --quiet                     no progress, no summary\n"                                    \
  "  --mirror-connect-timeout DUR    per endpoint connect deadline (default 5s)\n"                 \
  "  --mirror-first-byte-timeout DUR per request answer deadline (default 10s)\n"                  \
  "  --mirror-stall-timeout DUR      per transfer no-data deadline (default 15s)\n"                \
  "Any other ctr pull flag hands the pull to ctr, with the name expanded.\n"

/* Core modules' warnings and --debug lines: one write per line, so that
 * lines from several threads never interleave. */
static void
log_to_stderr(enum log_level level, const char *line, void *data)
{
  cleanup_free char *out = xasprintf("ctrx: %s\n", line);
  write_all(STDERR_FILENO, out, strlen(out));
}

static const struct cmd images_cmds[] = {
    {"pull", "", cmd_pull, NULL,
     "pull an image by its Docker-style name, through hosts.toml mirrors",
     "Usage: ctrx images pull [ctr pull flags] REF\n"
     "\n"
     "REF may be a short name (nginx, nginx:alpine, bitnami/redis); it is expanded by\n"
     "Docker's rules. Mirrors come from hosts.toml (see 'ctrx hosts REF').\n"
     "Same as 'ctrx pull'.\n" PULL_FLAGS_HELP},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct cmd hosts_cmds[] = {
    {"add", "", cmd_hosts_add, NULL, "add a mirror to a registry's hosts.toml",
     "Usage: ctrx hosts add REGISTRY URL [--capabilities pull,resolve] [--skip-verify]\n"
     "                      [--ca FILE] [--override-path]\n"
     "\n"
     "Creates or extends <first hosts dir>/REGISTRY/hosts.toml with a [host.\"URL\"]\n"
     "table, keeping the lines already there. A URL already listed is refused.\n"},
    {"check", "", cmd_hosts_check, NULL, "probe every endpoint of registries and say which answer",
     "Usage: ctrx hosts check [--json] [REGISTRY|REF...]\n"
     "\n"
     "Asks every endpoint of each REGISTRY (default: every registry with a host\n"
     "directory in the hosts dirs), all at once and with a pull's deadlines, for\n"
     "GET /v2/. Prints one line per endpoint (status ok, slow or dead, latency, HTTP\n"
     "status and version, TLS verdict, error) and a summary line per registry;\n"
     "--json prints the same as JSON. Exit status 1 when a registry has no endpoint\n"
     "that answers.\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct cmd cmd_table[] = {
    {"version", "", cmd_version, NULL, "print the client and server versions",
     "Usage: ctrx version\n"},
    {"pull", "", cmd_pull, NULL,
     "pull an image by its Docker-style name, through hosts.toml mirrors",
     "Usage: ctrx pull [ctr pull flags] REF\n"
     "\n"
     "REF may be a short name (nginx, nginx:alpine, bitnami/redis); it is expanded by\n"
     "Docker's rules. Mirrors come from hosts.toml (see 'ctrx hosts REF').\n" PULL_FLAGS_HELP},
    {"images", "image i", NULL, images_cmds, "manage images (pull is ctrx's; the rest is ctr's)",
     "Usage: ctrx images COMMAND [flags] [args]\n"
     "\n"
     "'pull' is run by ctrx; every other images command is handed to ctr with image\n"
     "names expanded (see 'ctr images --help').\n"},
    {"run", "", cmd_run, NULL, "run a container, pulling its image first when it is missing",
     "Usage: ctrx run [ctr run flags] IMAGE ID [COMMAND] [ARG...]\n"
     "\n"
     "IMAGE may be a short name; it is pulled first (through the mirrors) when the\n"
     "namespace lacks it. The exit status is the container's (128+N when killed by N).\n"
     "\n"
     "Flags (ctr's, run by ctrx):\n"
     "  --rm                    remove the container and its snapshot afterwards\n"
     "  -d, --detach            start it and return (cannot go with --rm)\n"
     "  -t, --tty               allocate a terminal\n"
     "  --net-host              share the host's network namespace\n"
     "  --env K=V               set an environment variable (repeatable)\n"
     "  --env-file FILE         K=V lines to set\n"
     "  --mount SPEC            type=bind,src=/a,dst=/b,options=rbind:ro (repeatable)\n"
     "  --cwd DIR               working directory\n"
     "  --label K=V             container label, also an annotation (repeatable)\n"
     "  --annotation K=V        OCI annotation (repeatable)\n"
     "  --privileged            all capabilities and devices\n"
     "  --read-only             read-only root filesystem\n"
     "  --snapshotter NAME      snapshotter [$CONTAINERD_SNAPSHOTTER]\n"
     "  --runtime NAME          runtime (default io.containerd.runc.v2)\n"
     "  --cpus N                CPU limit\n"
     "  --memory-limit BYTES    memory limit\n"
     "  --cap-add CAP           add a capability (repeatable)\n"
     "  --cap-drop CAP          drop a capability (repeatable)\n"
     "  --hostname NAME         host name in the container\n"
     "  -u, --user USER[:GROUP] user to run as\n"
     "  --null-io               send all I/O to /dev/null\n"
     "  --pid-file FILE         write the task's pid here\n"
     "  --platform PLATFORM     the image's platform to run\n"
     "Any other ctr run flag hands the command to ctr (after pulling the image).\n"},
    {"ref", "", cmd_ref, NULL, "print the normalized form of image references",
     "Usage: ctrx ref [--familiar] [--] NAME...\n"
     "\n"
     "Prints each NAME as Docker normalizes it (nginx -> docker.io/library/nginx:latest),\n"
     "or with --familiar in its short form. An invalid NAME is reported and the exit\n"
     "status is 1; the valid ones are still printed.\n"},
    {"hosts", "", cmd_hosts, hosts_cmds, "show the registry endpoints a pull will try",
     "Usage: ctrx hosts REGISTRY|REF\n"
     "       ctrx hosts add REGISTRY URL [flags]\n"
     "       ctrx hosts check [--json] [REGISTRY|REF...]\n"
     "\n"
     "Lists, in the order they are tried, the endpoints of REGISTRY (or of the\n"
     "registry of REF) from hosts.toml, with capabilities, TLS settings, headers\n"
     "(secrets redacted) and the file each came from.\n"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

enum {
  G_ADDRESS,
  G_NAMESPACE,
  G_TIMEOUT,
  G_CONNECT_TIMEOUT,
  G_DEBUG,
  G_K8S,
  G_HOSTS_DIR,
  G_NO_EXPAND,
  G_HELP,
  G_VERSION,
};

static const struct flag global_flags[] = {
    {"a address", FLAG_VALUE, G_ADDRESS},
    {"n namespace", FLAG_VALUE, G_NAMESPACE},
    {"timeout", FLAG_VALUE, G_TIMEOUT},
    {"connect-timeout", FLAG_VALUE, G_CONNECT_TIMEOUT},
    {"debug", FLAG_BOOL, G_DEBUG},
    {"k8s", FLAG_BOOL, G_K8S},
    {"hosts-dir", FLAG_VALUE, G_HOSTS_DIR},
    {"no-expand", FLAG_BOOL, G_NO_EXPAND},
    {"h help", FLAG_BOOL, G_HELP},
    {"v version", FLAG_BOOL, G_VERSION},
    {NULL, FLAG_BOOL, 0},
};

struct global_parse {
  struct global_opts *g;
  bool help;
  bool version;
};

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

static void
print_top_help(FILE *out)
{
  fprintf(out,
          "ctrx - containerd's ctr, with Docker-style names, hosts.toml mirrors and namespaces\n"
          "\n"
          "Usage: ctrx [global flags] COMMAND [flags] [args]\n"
          "\n"
          "Commands run by ctrx:\n");
  for (const struct cmd *c = cmd_table; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out,
          "\n"
          "Every other command (containers, content, tasks, snapshots, ...) is handed to the\n"
          "real ctr with the same flags, the address and namespace made explicit and image\n"
          "names expanded.\n"
          "\n"
          "Global flags:\n"
          "  -a, --address ADDR      containerd's socket [$CONTAINERD_ADDRESS] (default %s)\n"
          "  -n, --namespace NS      namespace [$CONTAINERD_NAMESPACE, then ctrx config, then "
          "\"default\"]\n"
          "      --k8s               same as -n k8s.io, kubelet's namespace\n"
          "      --hosts-dir DIR     registry hosts directory (repeatable; default: ctrx config,\n"
          "                          containerd's CRI config_path, /etc/containerd/certs.d,\n"
          "                          /etc/docker/certs.d)\n"
          "      --timeout DUR       total timeout for the command (e.g. 30s)\n"
          "      --connect-timeout DUR  timeout for connecting to containerd (default 10s)\n"
          "      --debug             log gRPC calls and registry requests\n"
          "      --no-expand         take image names literally, as ctr does: no short-name\n"
          "                          expansion (also CTRX_NO_EXPAND=1)\n"
          "  -h, --help              this help; 'ctrx COMMAND --help' for a command's\n"
          "  -v, --version           print ctrx's version\n"
          "\n"
          "Environment: CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, CONTAINERD_SNAPSHOTTER,\n"
          "CTRX_CTR (the real ctr), CTRX_CONFIG, CTRX_CONTAINERD_CONFIG, CTRX_STATE_DIR,\n"
          "CTRX_NO_EXPAND, XDG_CONFIG_HOME, XDG_STATE_HOME, DOCKER_CONFIG. See ctrx(1).\n"
          "\n"
          "Image names: a name the command expects to exist (run, images rm/export/mount/\n"
          "push/label, the source of a tag, containers create) is used as typed when the\n"
          "namespace holds an image of exactly that name, and expanded by Docker's rules\n"
          "(mybox:1 -> docker.io/library/mybox:1) otherwise. New names (pull, tag targets)\n"
          "are always expanded, unless --no-expand.\n",
          CTRX_DEFAULT_ADDRESS);
}

static int
resolve_namespace(struct cli *cli, struct error **err)
{
  const char *env = getenv("CONTAINERD_NAMESPACE");
  const struct ctrx_config *cfg = NULL;

  if (cli->g.namespace_flag) {
    cli->g.namespace = xstrdup(cli->g.namespace_flag);
    return 0;
  }
  if (env && *env) {
    cli->g.namespace = xstrdup(env);
    return 0;
  }
  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  cli->g.namespace = xstrdup(cfg->namespace ? cfg->namespace : CTRX_DEFAULT_NAMESPACE);
  return 0;
}

static int
run(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct global_parse gp = {.g = &cli->g};
  const char *env_addr = getenv("CONTAINERD_ADDRESS");
  const char *env_no_expand = getenv("CTRX_NO_EXPAND");
  const struct cmd *c;
  int optind = 1;
  int unknown = -1;
  int rv;

  cli->g.address = xstrdup(env_addr && *env_addr ? env_addr : CTRX_DEFAULT_ADDRESS);
  if (env_no_expand && *env_no_expand) {
    bool b = true;
    /* any value but a false one turns expansion off */
    cli->g.no_expand = cli_parse_bool(env_no_expand, &b) < 0 || b;
  }
  rv = cli_parse_flags(global_flags, argc, argv, &optind, global_flag, &gp, &unknown, err);
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
    print_top_help(stdout);
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
}

int
main(int argc, char **argv)
{
  struct cli cli = {0};
  struct error *err = NULL;
  int status;

  status = run(&cli, argc, argv, &err);
  if (status < 0) {
    fflush(stdout);
    fprintf(stderr, "ctrx: %s\n", err ? err->msg : "unknown error");
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
