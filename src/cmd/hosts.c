/* ctrx hosts REGISTRY|REF: the endpoints a pull will try, in order.
 * ctrx hosts add REGISTRY URL: add a mirror to the registry's hosts.toml. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hosts.h"

static void
print_help(const char *group, const char *sub)
{
  const struct cmd *c = cmd_find(cmd_table, group);
  cleanup_free char *path = NULL;

  if (c && sub)
    c = cmd_find(c->sub, sub);
  if (c == NULL)
    return;
  path = sub ? xasprintf("%s %s", group, sub) : xstrdup(group);
  cmd_print_help(stdout, c, path);
}

/* Go's flag package stops at the first non-flag; `hosts add` also takes its
 * flags after REGISTRY and URL, as its usage line shows, so positionals are
 * collected between runs of flags. "--" ends the flags. */
static int
parse_args(const char *what, const struct flag *flags, int argc, char **argv,
           int (*cb)(int id, const char *value, void *data, struct error **err), void *data,
           struct strv *args, struct error **err)
{
  int optind = 1;
  bool flags_done = false;

  while (optind < argc) {
    int unknown = -1;
    int r;

    if (flags_done) {
      strv_push(args, argv[optind++]);
      continue;
    }
    if (strcmp(argv[optind], "--") == 0) {
      flags_done = true;
      optind++;
      continue;
    }
    r = cli_parse_flags(flags, argc, argv, &optind, cb, data, &unknown, err);
    if (r < 0)
      return error_wrap(err, "%s", what);
    if (r == 1)
      return error_setc(err, ERR_USAGE, "%s: flag provided but not defined: %s", what,
                        argv[unknown]);
    if (optind < argc && strcmp(argv[optind], "--") != 0)
      strv_push(args, argv[optind++]);
  }
  return 0;
}

enum { HOSTS_F_HELP };

static const struct flag hosts_flags[] = {
    {"h help", FLAG_BOOL, HOSTS_F_HELP},
    {NULL, FLAG_BOOL, 0},
};

static int
hosts_flag(int id, const char *value, void *data, struct error **err)
{
  bool *help = data;

  (void)err;
  if (id == HOSTS_F_HELP)
    *help = strcmp(value, "false") != 0;
  return 0;
}

int
cmd_hosts(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_strv struct strv all = STRV_INIT;
  cleanup_free char *registry = NULL;
  cleanup_buf struct buf out = BUF_INIT;
  const struct ctrx_config *cfg = NULL;
  struct hosts_config hc = {0};
  bool help = false;

  if (parse_args("hosts", hosts_flags, argc, argv, hosts_flag, &help, &args, err) < 0)
    return -1;
  if (help) {
    print_help("hosts", NULL);
    return 0;
  }
  if (args.n != 1)
    return error_setc(err, ERR_USAGE, "hosts: expected one REGISTRY or REF, got %zu arguments",
                      args.n);
  if (hosts_registry_of(args.v[0], &registry, err) < 0)
    return error_wrap(err, "hosts");
  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0 ||
      cli_hosts_dirs(cli, NULL, false, &all, err) < 0)
    return error_wrap(err, "hosts");
  if (hosts_resolve(registry, &dirs, &hc, err) < 0)
    return error_wrap(err, "hosts");
  /* the two built-in defaults are often absent; anything else missing is news */
  for (size_t i = 0; i < all.n; i++)
    if (!strv_contains(&dirs, all.v[i]) && strcmp(all.v[i], HOSTS_CONTAINERD_CERTS_D) != 0 &&
        strcmp(all.v[i], HOSTS_DOCKER_CERTS_D) != 0)
      strv_push(&hc.missing, all.v[i]);
  for (size_t i = 0; i < hc.warnings.n; i++)
    fprintf(stderr, "ctrx: warning: %s\n", hc.warnings.v[i]);
  hosts_describe(&hc, &out);
  hosts_config_release(&hc);
  fwrite(out.data, 1, out.len, stdout);
  return 0;
}

enum {
  ADD_F_HELP,
  ADD_F_CAPS,
  ADD_F_SKIP_VERIFY,
  ADD_F_CA,
  ADD_F_OVERRIDE_PATH,
};

/* The flags of hosts add, with their help (see table.c). */
const struct flag cmd_hosts_add_flags[] = {
    {"h help", FLAG_BOOL, ADD_F_HELP, NULL, "show this help", "Flags:"},
    {"capabilities", FLAG_VALUE, ADD_F_CAPS, "LIST",
     "what the mirror may serve: pull, resolve, push, referrers\n(default: pull,resolve)"},
    {"skip-verify", FLAG_BOOL, ADD_F_SKIP_VERIFY, NULL,
     "do not verify the mirror's TLS certificate"},
    {"ca", FLAG_VALUE, ADD_F_CA, "FILE", "trust this CA certificate for the mirror"},
    {"override-path", FLAG_BOOL, ADD_F_OVERRIDE_PATH, NULL,
     "the URL's path is the API root (no /v2 added)"},
    {NULL, FLAG_BOOL, 0},
};

struct add_opts {
  bool help;
  struct hosts_mirror_opts m;
};

static int
add_flag(int id, const char *value, void *data, struct error **err)
{
  struct add_opts *o = data;
  bool b = false;

  switch (id) {
  case ADD_F_CAPS:
    if (hosts_caps_parse(value, &o->m.caps, err) < 0)
      return error_wrap(err, "--capabilities");
    if (o->m.caps == 0)
      return error_setc(err, ERR_USAGE, "--capabilities: empty list");
    return 0;
  case ADD_F_CA:
    if (*value == '\0')
      return error_setc(err, ERR_USAGE, "--ca: empty file name");
    o->m.ca = value;
    return 0;
  default:
    break;
  }
  if (cli_parse_bool(value, &b) < 0)
    return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", value);
  if (id == ADD_F_HELP)
    o->help = b;
  else if (id == ADD_F_SKIP_VERIFY)
    o->m.skip_verify = b;
  else if (id == ADD_F_OVERRIDE_PATH)
    o->m.override_path = b;
  return 0;
}

int
cmd_hosts_add(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv chain = STRV_INIT;
  cleanup_free char *registry = NULL;
  cleanup_free char *file = NULL;
  const struct ctrx_config *cfg = NULL;
  struct add_opts o = {0};
  const char *root;

  if (parse_args("hosts add", cmd_hosts_add_flags, argc, argv, add_flag, &o, &args, err) < 0)
    return -1;
  if (o.help) {
    print_help("hosts", "add");
    return 0;
  }
  if (args.n != 2)
    return error_setc(err, ERR_USAGE, "hosts add: expected REGISTRY and URL, got %zu arguments",
                      args.n);
  if (hosts_registry_of(args.v[0], &registry, err) < 0)
    return error_wrap(err, "hosts add");
  o.m.url = args.v[1];
  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  /* the first directory of the chain, even one that does not exist yet */
  if (cli_hosts_dirs(cli, NULL, false, &chain, err) < 0)
    return error_wrap(err, "hosts add");
  root = chain.n > 0 ? chain.v[0] : HOSTS_CONTAINERD_CERTS_D;
  if (hosts_add_mirror(root, registry, &o.m, &file, err) < 0)
    return error_wrap(err, "hosts add");
  printf("added mirror %s to %s\n", o.m.url, file);
  return 0;
}
