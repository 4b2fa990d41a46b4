/* ctrx login [-u USER] [-p PASSWORD | --password-stdin] [REGISTRY] and
 * ctrx logout [REGISTRY]: Docker's config.json written as docker and nerdctl
 * write it, the credentials checked against the registry's /v2/ first, and
 * handed to the credential helper when config.json names one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "credhelper.h"
#include "dockercfg.h"
#include "endpoints.h"
#include "hosts.h"
#include "progress.h"
#include "registry.h"

enum { L_USER, L_PASSWORD, L_PASSWORD_STDIN };

const struct flag cmd_login_flags[] = {
    {"u username", FLAG_VALUE, L_USER, "USER", "the user name (asked for on a terminal)"},
    {"p password", FLAG_VALUE, L_PASSWORD, "PASSWORD",
     "the password (insecure; prefer --password-stdin)"},
    {"password-stdin", FLAG_BOOL, L_PASSWORD_STDIN, NULL, "read the password from stdin"},
    {NULL, FLAG_BOOL, 0},
};

/* --help is main's (cli_wants_help); logout has no flag of its own. */
const struct flag cmd_logout_flags[] = {
    {NULL, FLAG_BOOL, 0},
};

struct login_cmd {
  const char *user;
  const char *password;
  bool password_stdin;
};

static int
login_flag(int id, const char *v, void *data, struct error **err)
{
  struct login_cmd *lc = data;
  bool b = false;

  if (id == L_USER) {
    lc->user = v;
  } else if (id == L_PASSWORD) {
    lc->password = v;
  } else {
    if (cli_parse_bool(v, &b) < 0)
      return error_setc(err, ERR_USAGE, "invalid boolean value \"%s\"", v);
    lc->password_stdin = b;
  }
  return 0;
}

/* Flags, then at most one REGISTRY (default Docker Hub): its host part,
 * "docker.io" for Docker Hub's names and its config.json key. */
static int
parse(const char *what, const struct flag *flags, int argc, char **argv, struct login_cmd *lc,
      char **registry, struct error **err)
{
  int optind = 1, unknown = -1, r;
  const char *arg = "docker.io";
  cleanup_free char *key = NULL;

  r = cli_parse_flags(flags, argc, argv, &optind, login_flag, lc, &unknown, err);
  if (r < 0)
    return error_wrap(err, "%s", what);
  if (r == 1)
    return error_setc(err, ERR_USAGE, "%s: flag provided but not defined: %s", what, argv[unknown]);
  if (optind < argc)
    arg = argv[optind++];
  if (optind < argc)
    return error_setc(err, ERR_USAGE, "%s: one REGISTRY at most, got \"%s\" too", what,
                      argv[optind]);
  key = dockercfg_key(arg);
  if (strcmp(key, DOCKERCFG_HUB_KEY) == 0)
    *registry = xstrdup("docker.io");
  else
    *registry = steal_pointer(&key);
  if ((*registry)[0] == '\0')
    return error_setc(err, ERR_USAGE, "%s: no registry in \"%s\"", what, arg);
  return 0;
}

/* One line of stdin (or all of it with ALL), without its line end. */
static char *
read_line(bool all)
{
  struct buf b = BUF_INIT;
  char c;

  buf_addstr(&b, "");
  while (read(STDIN_FILENO, &c, 1) == 1 && (all || c != '\n'))
    buf_add(&b, &c, 1);
  while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
    b.data[--b.len] = '\0';
  return buf_steal(&b);
}

/* Ask on the terminal; without echo for a password. */
static char *
prompt(const char *what, bool secret)
{
  struct termios old, quiet;
  bool restore = false;
  char *s;

  fprintf(stderr, "%s: ", what);
  fflush(stderr);
  if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  s = read_line(false);
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  return s;
}

static void
wipe(char **p)
{
  if (*p != NULL) {
    explicit_bzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}
#define cleanup_secret __attribute__((cleanup(wipe)))

/* The user and password: flags, stdin, or the terminal, as docker takes them. */
static int
credentials(const struct login_cmd *lc, char **user, char **password, struct error **err)
{
  bool tty = isatty(STDIN_FILENO);

  if (lc->password_stdin && lc->password != NULL)
    return error_setc(err, ERR_USAGE, "login: --password and --password-stdin are exclusive");
  if (lc->password_stdin && lc->user == NULL)
    return error_setc(err, ERR_USAGE, "login: --password-stdin needs --username");
  if (lc->password != NULL)
    fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  if (lc->user == NULL || (lc->password == NULL && !lc->password_stdin)) {
    if (!tty)
      return error_setc(err, ERR_USAGE,
                        "login: no terminal to ask on: give --username and --password-stdin");
  }
  *user = lc->user ? xstrdup(lc->user) : prompt("Username", false);
  if (lc->password_stdin)
    *password = read_line(true);
  else
    *password = lc->password ? xstrdup(lc->password) : prompt("Password", true);
  if ((*user)[0] == '\0' || (*password)[0] == '\0')
    return error_setc(err, ERR_USAGE, "login: the user name and the password may not be empty");
  return 0;
}

/* REGISTRY's own endpoint (the server of its hosts.toml, else the default),
 * asked for /v2/ with USER and PASSWORD. */
static int
check(struct cli *cli, const char *registry, const char *user, const char *password,
      struct error **err)
{
  cleanup_strv struct strv dirs = STRV_INIT;
  cleanup_secret char *up = xasprintf("%s:%s", user, password);
  struct hosts_config hc = {0};
  struct registry_opts ro = {0};
  struct registry *reg = NULL;
  struct registry_ep *eps = NULL;
  size_t n = 0;
  int rv = -1;

  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0 ||
      hosts_resolve(registry, &dirs, &hc, err) < 0)
    return -1;
  eps = endpoints_from_hosts(&hc, NULL, &n);
  progress_registry_opts(cli, NULL, &ro);
  ro.user = up;
  if (n == 0)
    error_setc(err, ERR_NOT_FOUND, "no endpoint for %s", registry);
  else if (registry_new(&ro, &reg, err) == 0)
    rv = registry_check_login(reg, &eps[n - 1], err);
  registry_free(reg);
  endpoints_free(eps, n);
  hosts_config_release(&hc);
  return rv;
}

static struct credhelper_opts
helper_opts(struct cli *cli)
{
  return (struct credhelper_opts){.path = cli->env.path, .deadline_ms = cli->deadline_ms};
}

/* The helper config.json names for KEY (credHelpers, else credsStore), or NULL. */
static const char *
helper_for(json_t *root, const char *key)
{
  const char *h = json_string_value(json_object_get(json_object_get(root, "credHelpers"), key));

  if (h != NULL && h[0] != '\0')
    return h;
  return dockercfg_store(root);
}

static int
save(struct cli *cli, const char *key, const char *user, const char *password, struct error **err)
{
  const char *path = cli_docker_config(cli);
  struct credhelper_opts ho = helper_opts(cli);
  json_t *root = NULL;
  const char *helper;
  int rv = -1;

  if (path == NULL)
    return error_setc(err, ERR_INVALID, "neither DOCKER_CONFIG nor HOME is set");
  if (dockercfg_load(path, &root, err) < 0)
    return -1;
  helper = helper_for(root, key);
  if (helper != NULL && credhelper_store(&ho, helper, key, user, password, err) < 0)
    goto out;
  dockercfg_set_auth(root, key, helper ? NULL : user, helper ? NULL : password);
  rv = dockercfg_save(path, root, err);
out:
  dockercfg_free(root);
  return rv;
}

int
cmd_login(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct login_cmd lc = {0};
  cleanup_free char *registry = NULL, *key = NULL;
  cleanup_secret char *user = NULL;
  cleanup_secret char *password = NULL;

  if (parse("login", cmd_login_flags, argc, argv, &lc, &registry, err) < 0)
    return -1;
  if (credentials(&lc, &user, &password, err) < 0)
    return -1;
  key = dockercfg_key(registry);
  if (check(cli, registry, user, password, err) < 0)
    return error_wrap(err, "login to %s", registry);
  if (save(cli, key, user, password, err) < 0)
    return error_wrap(err, "login to %s: save the credentials", registry);
  printf("Login Succeeded\n");
  return 0;
}

int
cmd_logout(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct login_cmd lc = {0};
  cleanup_free char *registry = NULL, *key = NULL;
  struct credhelper_opts ho = helper_opts(cli);
  const char *path = cli_docker_config(cli);
  const char *helper;
  json_t *root = NULL;
  int erased = 0, rv = -1;

  if (parse("logout", cmd_logout_flags, argc, argv, &lc, &registry, err) < 0)
    return -1;
  key = dockercfg_key(registry);
  if (dockercfg_load(path, &root, err) < 0)
    return error_wrap(err, "logout from %s", registry);
  helper = helper_for(root, key);
  if (helper != NULL && (erased = credhelper_erase(&ho, helper, key, err)) < 0) {
    error_wrap(err, "logout from %s", registry);
    goto out;
  }
  erased |= dockercfg_erase_auth(root, key);
  if (erased && path != NULL && dockercfg_save(path, root, err) < 0) {
    error_wrap(err, "logout from %s", registry);
    goto out;
  }
  printf(erased ? "Removing login credentials for %s\n" : "Not logged in to %s\n", key);
  rv = 0;
out:
  dockercfg_free(root);
  return rv;
}
