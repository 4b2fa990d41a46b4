/* The command-line machinery shared by every command: Go-style flag parsing,
 * the command table lookups and help, and lazily opened resources. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "ctd.h"
#include "ctrargs.h"
#include "goflag.h"
#include "grpc.h"
#include "hosts.h"
#include "log.h"
#include "passthru.h"
#include "ref.h"

int
cli_parse_bool(const char *s, bool *out)
{
  return goflag_parse_bool(s, out);
}

static const struct flag *
flag_lookup(const struct flag *flags, const char *name, size_t len)
{
  for (const struct flag *f = flags; f->names; f++)
    if (goflag_name_in(f->names, name, len))
      return f;
  return NULL;
}

int
cli_parse_flags(const struct flag *flags, int argc, char **argv, int *optind,
                int (*cb)(int id, const char *value, void *data, struct error **err), void *data,
                int *unknown, struct error **err)
{
  while (*optind < argc) {
    struct goflag g;
    const struct flag *f;
    enum goflag_kind kind = goflag_split(argv[*optind], &g);

    if (kind == GOFLAG_NONE)
      return 0;
    if (kind == GOFLAG_END) {
      (*optind)++;
      return 0;
    }
    /* bad syntax and unknown flags alike: the caller decides (ctr reports) */
    if (kind == GOFLAG_BAD || (f = flag_lookup(flags, g.name, g.len)) == NULL) {
      *unknown = *optind;
      return 1;
    }
    if (g.value == NULL && f->kind == FLAG_VALUE) {
      if (*optind + 1 >= argc)
        return error_setc(err, ERR_USAGE, "flag needs an argument: -%.*s", (int)g.len, g.name);
      if (cb(f->id, argv[*optind + 1], data, err) < 0)
        return -1;
      *optind += 2;
      continue;
    }
    if (cb(f->id, g.value ? g.value : "true", data, err) < 0)
      return -1;
    (*optind)++;
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
  return strcmp(c->name, name) == 0 ||
         (c->aliases != NULL && goflag_name_in(c->aliases, name, strlen(name)));
}

const struct cmd *
cmd_find(const struct cmd *table, const char *name)
{
  for (const struct cmd *c = table; c && c->name; c++)
    if (name_matches(c, name))
      return c;
  return NULL;
}

/* "-k, --name ARG" as --help shows a flag. */
static char *
flag_display(const struct flag *f, bool long_indent)
{
  cleanup_buf struct buf b = BUF_INIT;
  const char *p = f->names;
  bool has_short = false;

  while (*p) {
    size_t n = strcspn(p, " ");
    if (n == 1)
      has_short = true;
    buf_addf(&b, "%s-%s%.*s", b.len ? ", " : "", n == 1 ? "" : "-", (int)n, p);
    p += n;
    while (*p == ' ')
      p++;
  }
  if (f->arg)
    buf_addf(&b, " %s", f->arg);
  if (!has_short && long_indent)
    return xasprintf("    %s", b.data);
  return buf_steal(&b);
}

void
cmd_print_flags(FILE *out, const struct flag *flags, int width, bool long_indent)
{
  if (width == 0) {
    for (const struct flag *f = flags; f->names; f++) {
      cleanup_free char *d = f->help ? flag_display(f, long_indent) : NULL;
      if (d && (int)strlen(d) + 2 > width)
        width = (int)strlen(d) + 2; /* two blanks before the help */
    }
  }
  for (const struct flag *f = flags; f->names; f++) {
    cleanup_free char *d = NULL;
    const char *h = f->help;
    int len;

    if (h == NULL)
      continue;
    if (f->section)
      fprintf(out, "%s\n", f->section);
    d = flag_display(f, long_indent);
    len = (int)strlen(d);
    fprintf(out, "  %s%*s", d, len < width ? width - len : 2, "");
    /* the help's later lines start at the help column */
    while (*h) {
      size_t n = strcspn(h, "\n");
      fprintf(out, "%.*s\n", (int)n, h);
      h += n;
      if (*h == '\n' && *++h)
        fprintf(out, "  %*s", width, "");
    }
  }
}

void
cmd_print_help(FILE *out, const struct cmd *c, const char *path)
{
  fprintf(out, "ctrx %s - %s\n\n%s", path, c->summary, c->usage);
  if (c->flags) {
    fprintf(out, "\n");
    cmd_print_flags(out, c->flags, 0, false);
  }
  if (c->after_flags)
    fprintf(out, "%s", c->after_flags);
  if (c->sub) {
    fprintf(out, "\nCommands:\n");
    for (const struct cmd *s = c->sub; s->name; s++)
      fprintf(out, "  %-10s %s\n", s->name, s->summary);
  }
}

const char *
cli_docker_config(struct cli *cli)
{
  const char *dir = cli->env.docker_config, *home = cli->env.home;

  if (cli->docker_config == NULL && dir != NULL && dir[0] != '\0')
    cli->docker_config = xasprintf("%s/config.json", dir);
  else if (cli->docker_config == NULL && home != NULL && home[0] != '\0')
    cli->docker_config = xasprintf("%s/.docker/config.json", home);
  return cli->docker_config;
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

int
cli_hosts_dirs(struct cli *cli, const struct strv *cmd_dirs, bool existing_only, struct strv *out,
               struct error **err)
{
  const struct ctrx_config *cfg = NULL;
  cleanup_strv struct strv flag_dirs = STRV_INIT;

  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  for (size_t i = 0; i < cli->g.hosts_dirs.n; i++)
    strv_push(&flag_dirs, cli->g.hosts_dirs.v[i]);
  for (size_t i = 0; cmd_dirs && i < cmd_dirs->n; i++)
    strv_push(&flag_dirs, cmd_dirs->v[i]);
  return hosts_dirs(&flag_dirs, &cfg->hosts_dirs,
                    config_pick(NULL, cli->env.containerd_config, cfg->containerd_config, NULL),
                    existing_only, out, err);
}

static char *
existing_name(const char *typed, bool *local, void *data)
{
  return cli_existing_image(data, typed, local);
}

static char *
created_name(const char *typed, void *data)
{
  return cli_new_image(data, typed);
}

/* The exec line for --debug, secrets redacted. */
static void
log_exec(const struct strv *full)
{
  cleanup_strv struct strv shown = STRV_INIT;
  cleanup_buf struct buf line = BUF_INIT;

  passthru_redact_argv(full, &shown);
  buf_addstr(&line, "exec");
  for (size_t i = 0; i < shown.n; i++)
    buf_addf(&line, " %s", shown.v[i]);
  log_debug("%s", line.data);
}

/* The first line `ctr --version` prints, or NULL when ctr could not be run. */
static char *
ask_ctr_version(const char *ctr)
{
  char *const argv[] = {(char *)ctr, (char *)"--version", NULL};
  cleanup_buf struct buf out = BUF_INIT;
  posix_spawn_file_actions_t fa;
  int fds[2];
  int status = 0;
  bool read_ok;
  pid_t pid;
  int rc;

  if (pipe2(fds, O_CLOEXEC) < 0)
    return NULL;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  rc = posix_spawn(&pid, ctr, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  read_ok = rc == 0 && read_fd(fds[0], 4096, &out) == 0;
  close(fds[0]);
  if (rc != 0 || waitpid(pid, &status, 0) < 0 || !read_ok)
    return NULL;
  return xstrndup(out.data, strcspn(out.data, "\n"));
}

/* The lines of ctr the binary ctr may be: from its version, asked once and
 * kept in the state directory (passthru_version_cached); when that cannot be
 * written, asked again on the next command. */
static unsigned
ctr_lines(struct cli *cli, const char *ctr)
{
  cleanup_free char *cache = NULL;
  cleanup_free char *version = NULL;
  struct error *e = NULL;
  struct stat st;

  if (cli->ctr_lines != 0)
    return cli->ctr_lines;
  if (stat(ctr, &st) < 0)
    return CTRARGS_ANY;
  if (cli->state_dir != NULL) {
    cache = xasprintf("%s/ctr-version", cli->state_dir);
    version = passthru_version_cached(cache, ctr, &st);
  }
  if (version == NULL) {
    version = ask_ctr_version(ctr);
    if (version != NULL && cache != NULL &&
        passthru_version_save(cache, ctr, &st, version, &e) < 0) {
      log_debug("ctr version not cached: %s", e->msg);
      error_free(e);
    }
  }
  cli->ctr_lines = version ? ctrargs_line_of_version(version) : CTRARGS_ANY;
  log_debug("ctr '%s' is version \"%s\": its line %s", ctr, version ? version : "",
            ctrargs_line_name(cli->ctr_lines));
  return cli->ctr_lines;
}

unsigned
cli_ctr_lines(struct cli *cli, const struct strv *args)
{
  const struct ctrx_config *cfg = NULL;
  cleanup_free char *ctr = NULL;
  struct error *e = NULL;

  if (!ctrargs_takes_images(args))
    return CTRARGS_ANY;
  if (cli_config(cli, &cfg, &e) < 0 ||
      passthru_find_ctr(cli->env.ctr, cfg->ctr, cli->env.path, &ctr, &e) < 0) {
    error_free(e);
    return CTRARGS_ANY; /* the pass-through reports it */
  }
  return ctr_lines(cli, ctr);
}

int
cli_passthru(struct cli *cli, int argc, char **argv, struct error **err)
{
  const struct ctrx_config *cfg = NULL;
  const struct passthru_names names = {existing_name, created_name, cli};
  const struct passthru_globals g = {
      cli->g.address,     cli->g.namespace ? cli->g.namespace : CTRX_DEFAULT_NAMESPACE,
      cli->g.timeout_arg, cli->g.connect_timeout_arg,
      cli->g.debug,
  };
  cleanup_free char *ctr = NULL;
  cleanup_free char *registry = NULL;
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv full = STRV_INIT;
  unsigned lines = CTRARGS_ANY;

  if (cli_config(cli, &cfg, err) < 0)
    return -1;
  if (passthru_find_ctr(cli->env.ctr, cfg->ctr, cli->env.path, &ctr, err) < 0)
    return -1;
  for (int i = 0; i < argc; i++)
    strv_push(&args, argv[i]);
  if (ctrargs_takes_images(&args))
    lines = ctr_lines(cli, ctr);
  if (!cli->g.no_expand && passthru_rewrite_names(lines, &args, &names, err) < 0)
    return -1;
  if ((registry = passthru_pull_registry(lines, &args)) != NULL) {
    cleanup_strv struct strv chain = STRV_INIT;
    if (cli_hosts_dirs(cli, NULL, true, &chain, err) < 0)
      return -1;
    passthru_add_hosts_dir(&args, registry, &chain);
  }
  passthru_build_argv(&g, ctr, &args, &full);
  if (cli->g.debug)
    log_exec(&full);
  fflush(stdout);
  fflush(stderr);
  execv(ctr, full.v);
  return error_set(err, errno, "exec '%s'", ctr);
}
