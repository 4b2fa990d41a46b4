/* ctrx pull / ctrx images pull: ctrx's own registry client into containerd.
 * ctr pull flags that ctrx does not implement hand the pull to ctr, with the
 * reference expanded and the hosts directory filled in. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "grpc.h"
#include "hosts.h"
#include "pull.h"
#include "ref.h"

enum {
  P_PLATFORM,
  P_SNAPSHOTTER,
  P_LABEL,
  P_MAX,
  P_PLAIN_HTTP,
  P_SKIP_VERIFY,
  P_USER,
  P_HOSTS_DIR,
  P_PRINT_CHAINID,
  P_DRY_RUN,
  P_QUIET,
  P_MIRROR_CONNECT,
  P_MIRROR_FIRST_BYTE,
  P_MIRROR_STALL,
};

/* The flags of pull, with their help (see table.c); ctr's flags first. */
const struct flag cmd_pull_flags[] = {
    {"platform", FLAG_VALUE, P_PLATFORM, "OS/ARCH[/VARIANT]",
     "pull for this platform (default: this machine's)", "Flags (ctr's, run by ctrx):"},
    {"snapshotter", FLAG_VALUE, P_SNAPSHOTTER, "NAME",
     "unpack into this snapshotter [$CONTAINERD_SNAPSHOTTER]"},
    {"label", FLAG_VALUE, P_LABEL, "K=V", "label the image (repeatable)"},
    {"max-concurrent-downloads", FLAG_VALUE, P_MAX, "N", "layers downloaded at once (default 4)"},
    {"plain-http", FLAG_BOOL, P_PLAIN_HTTP, NULL, "talk http to the registry's default endpoint"},
    {"k skip-verify", FLAG_BOOL, P_SKIP_VERIFY, NULL, "do not verify registries' TLS certificates"},
    {"u user", FLAG_VALUE, P_USER, "USER[:PASSWORD]",
     "registry credentials (else docker's config.json)"},
    {"hosts-dir", FLAG_VALUE, P_HOSTS_DIR, "DIR", "registry hosts directory (repeatable)"},
    {"print-chainid", FLAG_BOOL, P_PRINT_CHAINID, NULL, "print the image's top chain ID"},
    {"dry-run", FLAG_BOOL, P_DRY_RUN, NULL, "print the name, hosts dirs and endpoints; do nothing",
     "Flags of ctrx:"},
    {"q quiet", FLAG_BOOL, P_QUIET, NULL, "no progress, no summary"},
    {"mirror-connect-timeout", FLAG_VALUE, P_MIRROR_CONNECT, "DUR",
     "per endpoint connect deadline (default 5s)"},
    {"mirror-first-byte-timeout", FLAG_VALUE, P_MIRROR_FIRST_BYTE, "DUR",
     "per request answer deadline (default 10s)"},
    {"mirror-stall-timeout", FLAG_VALUE, P_MIRROR_STALL, "DUR",
     "per transfer no-data deadline (default 15s)"},
    {NULL, FLAG_BOOL, 0},
};

struct bar {
  char id[20]; /* "sha256:" stripped, first 12 hex */
  const char *what;
  int64_t done, total;
  bool finished, existed;
};

struct pull_cmd {
  const char *platform;
  const char *snapshotter;
  struct strv labels;
  struct strv hosts_dirs;
  int64_t max;
  bool plain_http, skip_verify, print_chainid, dry_run, quiet;
  const char *user;
  bool debug;
  bool bars; /* stderr is a terminal: progress bars redrawn in place */
  struct bar *v;
  size_t n_bars;
  int drawn; /* lines of bars on screen */
  int unpacked;
  int64_t drawn_ms;
  int64_t t0;
  int64_t connect_ms, first_byte_ms, stall_ms; /* 0: config, else defaults */
};

static int
pull_flag(int id, const char *v, void *data, struct error **err)
{
  struct pull_cmd *pc = data;
  bool b = false;

  switch (id) {
  case P_PLATFORM:
    pc->platform = v;
    return 0;
  case P_SNAPSHOTTER:
    pc->snapshotter = v;
    return 0;
  case P_LABEL:
    strv_push(&pc->labels, v);
    return 0;
  case P_USER:
    pc->user = v;
    return 0;
  case P_HOSTS_DIR:
    strv_push(&pc->hosts_dirs, v);
    return 0;
  case P_MIRROR_CONNECT:
  case P_MIRROR_FIRST_BYTE:
  case P_MIRROR_STALL: {
    int64_t ms;
    if (parse_duration_ms(v, &ms) < 0 || ms <= 0)
      return error_setc(err, ERR_USAGE, "invalid duration \"%s\" for a mirror timeout", v);
    if (id == P_MIRROR_CONNECT)
      pc->connect_ms = ms;
    else if (id == P_MIRROR_FIRST_BYTE)
      pc->first_byte_ms = ms;
    else
      pc->stall_ms = ms;
    return 0;
  }
  case P_MAX:
    if (parse_int64(v, 10, &pc->max) < 0 || pc->max < 0)
      return error_setc(err, ERR_USAGE,
                        "invalid value \"%s\" for flag -max-concurrent-downloads: parse error", v);
    return 0;
  }
  if (cli_parse_bool(v, &b) < 0)
    return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", v);
  if (id == P_PLAIN_HTTP)
    pc->plain_http = b;
  else if (id == P_SKIP_VERIFY)
    pc->skip_verify = b;
  else if (id == P_PRINT_CHAINID)
    pc->print_chainid = b;
  else if (id == P_DRY_RUN)
    pc->dry_run = b;
  else if (id == P_QUIET)
    pc->quiet = b;
  return 0;
}

static void
human(int64_t n, char *out, size_t len)
{
  if (n >= 1 << 20)
    snprintf(out, len, "%.1f MiB", (double)n / (1 << 20));
  else if (n >= 1 << 10)
    snprintf(out, len, "%.1f KiB", (double)n / (1 << 10));
  else
    snprintf(out, len, "%" PRId64 " B", n);
}

static struct bar *
bar_for(struct pull_cmd *pc, const struct pull_event *ev)
{
  const char *hex = strchr(ev->digest, ':');
  char id[20];

  snprintf(id, sizeof(id), "%.12s", hex ? hex + 1 : ev->digest);
  for (size_t i = 0; i < pc->n_bars; i++)
    if (strcmp(pc->v[i].id, id) == 0)
      return &pc->v[i];
  pc->v = xrealloc(pc->v, (pc->n_bars + 1) * sizeof(*pc->v));
  memset(&pc->v[pc->n_bars], 0, sizeof(*pc->v));
  memcpy(pc->v[pc->n_bars].id, id, sizeof(id));
  pc->v[pc->n_bars].what = ev->what;
  return &pc->v[pc->n_bars++];
}

/* Redraw every bar in place: up over the old ones, then one line each. */
static void
draw(struct pull_cmd *pc, bool force)
{
  int64_t now = now_ms();

  if (!force && now - pc->drawn_ms < 50)
    return;
  pc->drawn_ms = now;
  if (pc->drawn > 0)
    fprintf(stderr, "\033[%dA", pc->drawn);
  for (size_t i = 0; i < pc->n_bars; i++) {
    const struct bar *b = &pc->v[i];
    char done[32], total[32], gauge[31];
    int fill = b->total > 0 ? (int)(30 * b->done / b->total) : 0;

    human(b->done, done, sizeof(done));
    human(b->total, total, sizeof(total));
    if (fill > 30)
      fill = 30;
    memset(gauge, '=', (size_t)fill);
    memset(gauge + fill, ' ', (size_t)(30 - fill));
    if (fill < 30)
      gauge[fill] = '>';
    gauge[30] = '\0';
    if (b->finished)
      fprintf(stderr, "\033[2K%-8s %s  %-32s %10s\n", b->what, b->id,
              b->existed ? "already present" : "done", total);
    else
      fprintf(stderr, "\033[2K%-8s %s  [%s] %10s / %s\n", b->what, b->id, gauge, done, total);
  }
  fprintf(stderr, "\033[2Kelapsed %.1fs, %d layer%s unpacked\n", (double)(now - pc->t0) / 1000.0,
          pc->unpacked, pc->unpacked == 1 ? "" : "s");
  pc->drawn = (int)pc->n_bars + 1;
}

static void
on_event(const struct pull_event *ev, void *arg)
{
  struct pull_cmd *pc = arg;
  char size[32];

  if (pc->quiet && ev->kind != PULL_WARNING && !(ev->kind == PULL_NOTE && pc->debug))
    return;
  if (pc->bars &&
      (ev->kind == PULL_PROGRESS || ev->kind == PULL_BLOB || ev->kind == PULL_UNPACKED)) {
    if (ev->kind == PULL_UNPACKED) {
      pc->unpacked++;
    } else {
      struct bar *b = bar_for(pc, ev);
      b->done = ev->size;
      b->total = ev->kind == PULL_PROGRESS ? ev->total : ev->size;
      b->finished = ev->kind == PULL_BLOB;
      b->existed = ev->existed;
    }
    draw(pc, ev->kind != PULL_PROGRESS);
    return;
  }
  human(ev->size, size, sizeof(size));
  switch (ev->kind) {
  case PULL_RESOLVED:
    fprintf(stderr, "resolved  %s (%s) from %s\n", ev->digest, ev->what, ev->endpoint);
    break;
  case PULL_PROGRESS:
    break; /* lines only when a blob is in */
  case PULL_BLOB:
    fprintf(stderr, "%-9s %s %10s %s\n", ev->what, ev->digest, size,
            ev->existed ? "(already present)" : "done");
    break;
  case PULL_UNPACKED:
    fprintf(stderr, "unpacked  %s\n", ev->digest);
    break;
  case PULL_WARNING:
    fprintf(stderr, "ctrx: warning: %s\n", ev->what);
    break;
  case PULL_NOTE:
    if (pc->debug)
      fprintf(stderr, "ctrx: %s\n", ev->what);
    break;
  }
}

static int
dry_run(const char *name, const struct hosts_config *hc)
{
  printf("image     %s\n", name);
  printf("hosts dirs:");
  for (size_t i = 0; i < hc->dirs.n; i++)
    printf(" %s", hc->dirs.v[i]);
  printf("%s\n", hc->dirs.n ? "" : " (none)");
  printf("host dir  %s\n", hc->host_dir ? hc->host_dir : "(none: built-in defaults)");
  for (size_t i = 0; i < hc->endpoints.n; i++) {
    cleanup_free char *url = hosts_endpoint_url(&hc->endpoints.v[i]);
    printf("endpoint  %s%s%s\n", url, hc->endpoints.v[i].ns ? "?ns=" : "",
           hc->endpoints.v[i].ns ? hc->registry : "");
  }
  return 0;
}

/* Mirror deadlines: flags, else the ctrx config's [mirror], else defaults. */
static void
registry_opts_for(struct cli *cli, const struct pull_cmd *pc, struct registry_opts *ro)
{
  const struct ctrx_config *cfg = NULL;

  if (cli_config(cli, &cfg, NULL) < 0)
    cfg = NULL;
  ro->debug = cli->g.debug;
  ro->deadline_ms = cli->deadline_ms;
  ro->connect_timeout_ms = pc->connect_ms                       ? pc->connect_ms
                           : cfg && cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
                                                                : 0;
  ro->first_byte_timeout_ms = pc->first_byte_ms                       ? pc->first_byte_ms
                              : cfg && cfg->first_byte_timeout_ms > 0 ? cfg->first_byte_timeout_ms
                                                                      : 0;
  ro->stall_timeout_ms = pc->stall_ms                       ? pc->stall_ms
                         : cfg && cfg->stall_timeout_ms > 0 ? cfg->stall_timeout_ms
                                                            : 0;
}

int
cmd_pull_ref(struct cli *cli, const char *ref, const char *platform, const char *snapshotter,
             struct error **err)
{
  struct pull_cmd pc = {.platform = platform, .snapshotter = snapshotter};
  cleanup_strv struct strv dirs = STRV_INIT;
  struct grpc_conn *conn = NULL;
  struct pull_result res = {0};
  struct pull_opts o = {0};
  int rv;

  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0 || cli_conn(cli, &conn, err) < 0)
    return -1;
  o.ref = ref;
  o.ns = cli->g.namespace;
  o.platform = platform;
  o.snapshotter = snapshotter;
  o.dirs = &dirs;
  o.skip_verify = -1;
  pc.debug = cli->g.debug;
  registry_opts_for(cli, &pc, &o.registry);
  o.on_event = on_event;
  o.arg = &pc;
  pc.t0 = now_ms();
  pc.bars = !pc.debug && isatty(STDERR_FILENO);
  rv = pull_image(conn, &o, &res, err);
  if (pc.bars && pc.n_bars)
    draw(&pc, true);
  free(pc.v);
  pull_result_release(&res);
  return rv;
}

int
cmd_pull(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct pull_cmd pc = {.max = 0};
  cleanup_strv struct strv dirs = STRV_INIT;
  struct grpc_conn *conn = NULL;
  struct pull_result res = {0};
  struct pull_opts o = {0};
  int optind = 1, unknown = -1, rv;

  rv = cli_parse_flags(cmd_pull_flags, argc, argv, &optind, pull_flag, &pc, &unknown, err);
  if (rv < 0)
    goto done;
  if (rv == 0 && argc - optind == 1 && cli->g.no_expand) {
    /* a literal name that is not a full one is ctr's to judge */
    cleanup_free char *n = ref_normalize(argv[optind], NULL);
    if (n == NULL || strcmp(n, argv[optind]) != 0)
      rv = 1;
  }
  if (rv == 1 || argc - optind != 1) {
    /* A flag of ctr's that ctrx does not implement, or not exactly one
     * reference: ctr decides, with names expanded and hosts dir added. */
    cleanup_strv struct strv args = STRV_INIT;
    strv_push(&args, "images");
    strv_push(&args, "pull");
    for (int i = 1; i < argc; i++)
      strv_push(&args, argv[i]);
    rv = cli_passthru(cli, (int)args.n, args.v, err);
    goto done;
  }
  if (cli_hosts_dirs(cli, &pc.hosts_dirs, true, &dirs, err) < 0) {
    rv = -1;
    goto done;
  }
  if (pc.dry_run) {
    struct ref r = {0};
    struct hosts_config hc = {0};
    cleanup_free char *name = NULL;
    if (ref_parse_docker(argv[optind], &r, err) < 0) {
      rv = error_wrap(err, "invalid reference \"%s\"", argv[optind]);
      goto done;
    }
    name = ref_string(&r);
    rv = hosts_resolve(r.domain, &dirs, &hc, err);
    if (rv == 0)
      rv = dry_run(name, &hc);
    hosts_config_release(&hc);
    ref_release(&r);
    goto done;
  }
  if (cli_conn(cli, &conn, err) < 0) {
    rv = -1;
    goto done;
  }
  o.ref = argv[optind];
  o.ns = cli->g.namespace;
  o.platform = pc.platform;
  o.snapshotter = pc.snapshotter ? pc.snapshotter : cli->env.snapshotter;
  o.labels = &pc.labels;
  o.dirs = &dirs;
  o.max_concurrent = (int)(pc.max > 32 ? 32 : pc.max);
  o.plain_http = pc.plain_http;
  o.skip_verify = pc.skip_verify ? 1 : -1;
  pc.debug = cli->g.debug;
  registry_opts_for(cli, &pc, &o.registry);
  o.registry.user = pc.user;
  o.on_event = on_event;
  o.arg = &pc;
  pc.t0 = now_ms();
  pc.bars = !pc.debug && isatty(STDERR_FILENO);
  rv = pull_image(conn, &o, &res, err);
  if (pc.bars && pc.n_bars)
    draw(&pc, true);
  free(pc.v);
  if (rv == 0) {
    if (!pc.quiet)
      printf("%s %s from %s in %.1fs\n", res.name, res.digest, res.endpoint,
             (double)(now_ms() - pc.t0) / 1000.0);
    if (pc.print_chainid && res.chain_id)
      printf("image chain ID: %s\n", res.chain_id);
  }
  pull_result_release(&res);
done:
  strv_release(&pc.labels);
  strv_release(&pc.hosts_dirs);
  return rv;
}
