/* ctrx pull / ctrx images pull: ctrx's own registry client into containerd.
 * ctr pull flags that ctrx does not implement hand the pull to ctr, with the
 * reference expanded and the hosts directory filled in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hosts.h"
#include "progress.h"
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
  P_NO_SPREAD,
};

/* The flags of pull, with their help (see table.c); ctr's flags first. */
const struct flag cmd_pull_flags[] = {
    {"platform", FLAG_VALUE, P_PLATFORM, "OS/ARCH[/VARIANT]",
     "pull for this platform (default: this machine's)", "Flags (ctr's, run by ctrx):"},
    {"snapshotter", FLAG_VALUE, P_SNAPSHOTTER, "NAME",
     "unpack into this snapshotter [$CONTAINERD_SNAPSHOTTER]"},
    {"label", FLAG_VALUE, P_LABEL, "K=V", "label the image (repeatable)"},
    {"max-concurrent-downloads", FLAG_VALUE, P_MAX, "N", "layers downloaded at once (default 3)"},
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
    {"no-spread", FLAG_BOOL, P_NO_SPREAD, NULL,
     "each blob from one endpoint at a time, in order (default: spread over all)"},
    {NULL, FLAG_BOOL, 0},
};

struct pull_cmd {
  const char *platform;
  const char *snapshotter;
  struct strv labels;
  struct strv hosts_dirs;
  int64_t max;
  bool plain_http, skip_verify, print_chainid, dry_run, no_spread;
  const char *user;
  struct progress progress;          /* .quiet: -q */
  struct progress_timeouts timeouts; /* 0: config, else defaults */
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
      pc->timeouts.connect_ms = ms;
    else if (id == P_MIRROR_FIRST_BYTE)
      pc->timeouts.first_byte_ms = ms;
    else
      pc->timeouts.stall_ms = ms;
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
    pc->progress.quiet = b;
  else if (id == P_NO_SPREAD)
    pc->no_spread = b;
  return 0;
}

static void
print_dry_run(const char *name, const struct hosts_config *hc)
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
}

/* --dry-run: where the pull of TYPED would go, nothing fetched. */
static int
dry_run(const char *typed, const struct strv *dirs, struct error **err)
{
  struct ref r = {0};
  struct hosts_config hc = {0};
  cleanup_free char *name = NULL;
  int rv;

  if (ref_parse_docker(typed, &r, err) < 0)
    return error_wrap(err, "invalid reference \"%s\"", typed);
  name = ref_string(&r);
  rv = hosts_resolve(r.domain, dirs, &hc, err);
  if (rv == 0)
    print_dry_run(name, &hc);
  hosts_config_release(&hc);
  ref_release(&r);
  return rv;
}

/* A flag of ctr's that ctrx does not implement, or not exactly one
 * reference: ctr decides, with names expanded and hosts dir added. */
static int
pull_passthru(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;

  strv_push(&args, "images");
  strv_push(&args, "pull");
  for (int i = 1; i < argc; i++)
    strv_push(&args, argv[i]);
  return cli_passthru(cli, (int)args.n, args.v, err);
}

static int
pull_ref(struct cli *cli, struct pull_cmd *pc, const char *ref, const struct strv *dirs,
         struct error **err)
{
  struct pull_result res = {0};
  struct pull_opts o = {0};
  int rv;

  o.ref = ref;
  o.platform = pc->platform;
  o.snapshotter = pc->snapshotter ? pc->snapshotter : cli->env.snapshotter;
  o.labels = &pc->labels;
  o.dirs = dirs;
  o.max_concurrent = (int)(pc->max > 32 ? 32 : pc->max);
  o.plain_http = pc->plain_http;
  o.skip_verify = pc->skip_verify ? 1 : -1;
  progress_registry_opts(cli, &pc->timeouts, &o.registry);
  o.registry.user = pc->user;
  if (pc->no_spread)
    o.registry.no_spread = true;
  rv = progress_run(cli, &o, &pc->progress, &res, err);
  if (rv == 0) {
    progress_print_done(&pc->progress, &res);
    if (pc->print_chainid && res.chain_id)
      printf("image chain ID: %s\n", res.chain_id);
  }
  pull_result_release(&res);
  return rv;
}

int
cmd_pull(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct pull_cmd pc = {.max = 0};
  cleanup_strv struct strv dirs = STRV_INIT;
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
  if (rv == 1 || argc - optind != 1)
    rv = pull_passthru(cli, argc, argv, err);
  else if (cli_hosts_dirs(cli, &pc.hosts_dirs, true, &dirs, err) < 0)
    rv = -1;
  else if (pc.dry_run)
    rv = dry_run(argv[optind], &dirs, err);
  else
    rv = pull_ref(cli, &pc, argv[optind], &dirs, err);
done:
  strv_release(&pc.labels);
  strv_release(&pc.hosts_dirs);
  return rv;
}
