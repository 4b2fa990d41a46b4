/* The command layer (src/cmd/): global options, the command table shared by
 * dispatch and --help (src/cmd/table.c), and a ctr-compatible flag parser
 * (Go's flag package rules, see goflag.h). */
#ifndef CTRX_CLI_H
#define CTRX_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "util.h"

struct grpc_conn;

#define CTRX_DEFAULT_ADDRESS "/run/containerd/containerd.sock"
#define CTRX_DEFAULT_NAMESPACE "default"

struct global_opts {
  char *address;              /* effective address (flag, env, default) */
  char *namespace;            /* effective namespace, see cli_namespace() */
  const char *namespace_flag; /* -n value or "k8s.io" for --k8s, NULL if neither */
  const char *timeout_arg;    /* --timeout as given, NULL if not */
  const char *connect_timeout_arg;
  int64_t timeout_ms;         /* 0 = none */
  int64_t connect_timeout_ms; /* 0 = ctrx's default */
  bool debug;
  bool no_expand;         /* --no-expand or CTRX_NO_EXPAND: image names as typed */
  struct strv hosts_dirs; /* --hosts-dir, in order */
};

struct cli {
  struct global_opts g;
  struct ctrx_env env; /* read once by main (config_read_env) */
  struct ctrx_config cfg;
  bool cfg_loaded;
  struct grpc_conn *conn; /* opened on first use by cli_conn() */
  char *self_path;        /* /proc/self/exe, to never exec ourselves */
  char *state_dir;        /* config_state_dir(), resolved at start */
  int64_t deadline_ms;    /* monotonic deadline from --timeout, 0 = none */
  char *docker_config;    /* Docker's config.json path, see cli_docker_config() */
  unsigned ctr_lines;     /* the real ctr's line (ctrargs.h), 0 until asked */
};

/* Connect on first use; later calls return the same connection. */
int cli_conn(struct cli *cli, struct grpc_conn **out, struct error **err);
/* Docker's config.json: $DOCKER_CONFIG/config.json, else
 * $HOME/.docker/config.json; NULL when neither is set. Borrowed. */
const char *cli_docker_config(struct cli *cli);
/* Load the ctrx config on first use. */
int cli_config(struct cli *cli, const struct ctrx_config **out, struct error **err);

/* A command: argv[0] is the command's own name. Returns the exit status
 * (>= 0) or < 0 with *err set. */
typedef int (*cmd_fn)(struct cli *cli, int argc, char **argv, struct error **err);

struct flag;

struct cmd {
  const char *name;
  const char *aliases;   /* space separated, "" for none */
  cmd_fn fn;             /* NULL: hand to ctr */
  const struct cmd *sub; /* sub-command table, or NULL */
  const char *summary;
  const char *usage;        /* --help text after the summary line, before the flags */
  const struct flag *flags; /* listed in --help when they have help, or NULL */
  const char *after_flags;  /* --help text after the flags, or NULL */
};

const struct cmd *cmd_find(const struct cmd *table, const char *name);
/* Run a sub-command table: argv[0] names the group, argv[1] the sub-command.
 * Rows with fn == NULL, and unknown names, go to ctr. */
int cmd_dispatch_sub(struct cli *cli, const struct cmd *group, int argc, char **argv,
                     struct error **err);
void cmd_print_help(FILE *out, const struct cmd *c, const char *path);
/* 'ctrx --help'. */
void cmd_print_top_help(FILE *out);
/* One line per flag that has help: "  -k, --name ARG   help", the help
 * column at width (0: one past the longest flag). long_indent indents the
 * flags without a short name as if they had one. */
void cmd_print_flags(FILE *out, const struct flag *flags, int width, bool long_indent);
/* True when argv holds -h/--help/-help before any "--" or positional. */
bool cli_wants_help(int argc, char **argv);

/* Flag definitions for cli_parse_flags. */
enum flag_kind { FLAG_BOOL, FLAG_VALUE };
struct flag {
  const char *names; /* space separated, without dashes: "n namespace" */
  enum flag_kind kind;
  int id;
  const char *arg;     /* the value's name in --help ("DIR"), NULL for booleans */
  const char *help;    /* --help text, lines after the first indented; NULL: not listed */
  const char *section; /* a heading --help prints before this flag, or NULL */
};

/* Parse flags from argv[*optind] on. For each flag calls cb(id, value, data)
 * (value "true"/"false" for booleans). Stops at the first non-flag or after
 * "--". An unknown flag sets *unknown to its index and returns 1 (the caller
 * usually hands the command to ctr); a missing value returns -1 with *err.
 * Returns 0 when all flags were known. */
int cli_parse_flags(const struct flag *flags, int argc, char **argv, int *optind,
                    int (*cb)(int id, const char *value, void *data, struct error **err),
                    void *data, int *unknown, struct error **err);
/* "true"/"false"/"1"/"0"/"t"/"f" as Go's strconv.ParseBool (goflag_parse_bool). */
int cli_parse_bool(const char *s, bool *out);

/* The command tables (src/cmd/table.c); each command in src/cmd/. */
extern const struct cmd cmd_table[];
/* The global flags, before the command; main.c handles them by id. */
enum global_flag_id {
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
extern const struct flag cmd_global_flags[];
/* The flags of pull (src/cmd/pull.c) and run (src/cmd/run.c). */
extern const struct flag cmd_pull_flags[];
extern const struct flag cmd_run_flags[];
extern const struct flag cmd_hosts_add_flags[];
extern const struct flag cmd_hosts_check_flags[];
/* The flags of login and logout (src/cmd/login.c). */
extern const struct flag cmd_login_flags[];
extern const struct flag cmd_logout_flags[];

int cmd_version(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_ref(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts_add(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts_check(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_pull(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_run(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_login(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_logout(struct cli *cli, int argc, char **argv, struct error **err);

/* The name to use for an image the command expects to exist, as typed in
 * TYPED: TYPED itself when expansion is off, when it is its own expansion, or
 * when the namespace holds an image of exactly that name (one Images/Get);
 * else its expansion, or TYPED when it has none (an invalid name). *local says whether the
 * name is a local one that differs from its expansion (never pulled), and
 * may be NULL. *out is allocated. Never fails: anything containerd says
 * other than "it exists" means the expansion. */
char *cli_existing_image(struct cli *cli, const char *typed, bool *local);
/* The name to use for an image the command creates (pull, tag target):
 * TYPED expanded unless expansion is off or it does not normalize. */
char *cli_new_image(struct cli *cli, const char *typed);

/* The hosts-dirs chain, in order: the global --hosts-dir flags and then
 * cmd_dirs (a command's own --hosts-dir, may be NULL), else the ctrx
 * config's, else containerd's CRI config_path and the two certs.d
 * directories (hosts_dirs); with existing_only, only the directories that
 * exist. Every command derives the chain here. */
int cli_hosts_dirs(struct cli *cli, const struct strv *cmd_dirs, bool existing_only,
                   struct strv *out, struct error **err);

/* The lines of ctr (ctrargs.h) the real ctr may be, for the command args
 * that will be handed to it: its version, asked once per binary and kept in
 * ctrx's state directory. CTRARGS_ANY when ctr cannot be found or its
 * version cannot be told, and for commands that take no images. */
unsigned cli_ctr_lines(struct cli *cli, const struct strv *args);

/* Hand argv (starting at the command name) to the real ctr, its image names
 * rewritten and the global flags made explicit (passthru.h); returns only on
 * error. */
int cli_passthru(struct cli *cli, int argc, char **argv, struct error **err);

#endif
