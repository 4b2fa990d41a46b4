/* The command-line machinery shared by every command: Go-style flag parsing,
 * the command table lookups and help, and lazily opened resources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctd.h"
#include "grpc.h"
#include "ref.h"

int
cli_parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

  for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

static const struct flag *
flag_lookup(const struct flag *flags, const char *name, size_t len)
{
  for (const struct flag *f = flags; f->names; f++) {
    const char *p = f->names;
    while (*p) {
      size_t n = strcspn(p, " ");
      if (n == len && strncmp(p, name, len) == 0)
        return f;
      p += n;
      while (*p == ' ')
        p++;
    }
  }
  return NULL;
}

int
cli_parse_flags(const struct flag *flags, int argc, char **argv, int *optind,
                int (*cb)(int id, const char *value, void *data, struct error **err), void *data,
                int *unknown, struct error **err)
{
  while (*optind < argc) {
    const char *arg = argv[*optind];
    const char *name, *eq;
    const struct flag *f;
    size_t len;

    if (arg[0] != '-' || arg[1] == '\0')
      return 0;
    if (strcmp(arg, "--") == 0) {
      (*optind)++;
      return 0;
    }
    name = arg + 1;
    if (*name == '-')
      name++;
    if (*name == '-' || *name == '=') {
      *unknown = *optind;
      return 1;
    }
    eq = strchr(name, '=');
    len = eq ? (size_t)(eq - name) : strlen(name);
    f = flag_lookup(flags, name, len);
    if (f == NULL) {
      *unknown = *optind;
      return 1;
    }
    if (f->kind == FLAG_BOOL) {
      if (cb(f->id, eq ? eq + 1 : "true", data, err) < 0)
        return -1;
      (*optind)++;
      continue;
    }
    if (eq) {
      if (cb(f->id, eq + 1, data, err) < 0)
        return -1;
      (*optind)++;
      continue;
    }
    if (*optind + 1 >= argc)
      return error_setc(err, ERR_USAGE, "flag needs an argument: -%.*s", (int)len, name);
    if (cb(f->id, argv[*optind + 1], data, err) < 0)
      return -1;
    *optind += 2;
  }
  return 0;
}

bool
cli_wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0 || a[0] != '-')
      return false;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--h") == 0 || strcmp(a, "-help") == 0 ||
        strcmp(a, "--help") == 0)
      return true;
  }
  return false;
}

static bool
name_matches(const struct cmd *c, const char *name)
{
  const char *p = c->aliases;

  if (strcmp(c->name, name) == 0)
    return true;
  if (p == NULL)
    return false;
  while (*p) {
    size_t n;
    while (*p == ' ')
      p++;
    n = strcspn(p, " ");
    if (n > 0 && strlen(name) == n && strncmp(p, name, n) == 0)
      return true;
    p += n;
  }
  return false;
}

const struct cmd *
cmd_find(const struct cmd *table, const char *name)
{
  for (const struct cmd *c = table; c && c->name; c++)
    if (name_matches(c, name))
      return c;
  return NULL;
}

void
cmd_print_help(FILE *out, const struct cmd *c, const char *path)
{
  fprintf(out, "ctrx %s - %s\n\n%s", path, c->summary, c->usage);
  if (c->sub) {
    fprintf(out, "\nCommands:\n");
    for (const struct cmd *s = c->sub; s->name; s++)
      fprintf(out, "  %-10s %s\n", s->name, s->summary);
  }
}

int
cli_config(struct cli *cli, const struct ctrx_config **out, struct error **err)
{
  if (!cli->cfg_loaded) {
    if (config_load(&cli->cfg, err) < 0)
      return -1;
    cli->cfg_loaded = true;
  }
  *out = &cli->cfg;
  return 0;
}

int
cli_conn(struct cli *cli, struct grpc_conn **out, struct error **err)
{
  if (cli->conn == NULL) {
    if (ctd_connect(cli->g.address, cli->g.connect_timeout_ms, &cli->conn, err) < 0)
      return -1;
    ctd_set_namespace(cli->conn, cli->g.namespace);
    grpc_conn_set_deadline(cli->conn, cli->deadline_ms);
    grpc_conn_set_debug(cli->conn, cli->g.debug);
  }
  *out = cli->conn;
  return 0;
}

int
cmd_dispatch_sub(struct cli *cli, const struct cmd *group, int argc, char **argv,
                 struct error **err)
{
  const struct cmd *sub = argc > 1 ? cmd_find(group->sub, argv[1]) : NULL;

  if (sub && sub->fn) {
    if (cli_wants_help(argc - 1, argv + 1)) {
      cleanup_free char *path = xasprintf("%s %s", group->name, sub->name);
      cmd_print_help(stdout, sub, path);
      return 0;
    }
    return sub->fn(cli, argc - 1, argv + 1, err);
  }
  if (group->fn) {
    if (cli_wants_help(argc, argv)) {
      cmd_print_help(stdout, group, group->name);
      return 0;
    }
    return group->fn(cli, argc, argv, err);
  }
  return cli_passthru(cli, argc, argv, err);
}

char *
cli_new_image(struct cli *cli, const char *typed)
{
  char *n = cli->g.no_expand ? NULL : ref_normalize(typed, NULL);

  return n ? n : xstrdup(typed);
}

char *
cli_existing_image(struct cli *cli, const char *typed, bool *local)
{
  cleanup_free char *n = NULL;
  struct grpc_conn *conn = NULL;
  struct error *e = NULL;
  bool exists;

  if (local)
    *local = false;
  if (cli->g.no_expand)
    return xstrdup(typed);
  n = ref_normalize(typed, NULL);
  if (n && strcmp(n, typed) == 0)
    return steal_pointer(&n);
  /* A name that differs from its expansion may still be an image's own
   * name: ctr keeps images under any name (tag, import --base-name). */
  exists = cli_conn(cli, &conn, &e) == 0 && ctd_image_get(conn, typed, NULL, NULL, &e) == 0;
  error_free(e);
  if (!exists)
    return n ? steal_pointer(&n) : xstrdup(typed);
  if (local)
    *local = true;
  return xstrdup(typed);
}
