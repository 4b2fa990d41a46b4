/* The command line: global options, the command table shared by dispatch and
 * --help, and a ctr-compatible flag parser (Go's flag package rules: -flag and
 * --flag, -flag=value or -flag value, parsing stops at the first non-flag). */
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
  struct ctrx_config cfg;
  bool cfg_loaded;
  struct grpc_conn *conn; /* opened on first use by cli_conn() */
  char *self_path;        /* /proc/self/exe, to never exec ourselves */
  int64_t deadline_ms;    /* monotonic deadline from --timeout, 0 = none */
};

/* Connect on first use; later calls return the same connection. */
int cli_conn(struct cli *cli, struct grpc_conn **out, struct error **err);
/* Load the ctrx config on first use. */
int cli_config(struct cli *cli, const struct ctrx_config **out, struct error **err);

/* A command: argv[0] is the command's own name. Returns the exit status
 * (>= 0) or < 0 with *err set. */
typedef int (*cmd_fn)(struct cli *cli, int argc, char **argv, struct error **err);

struct cmd {
  const char *name;
  const char *aliases;   /* space separated, "" for none */
  cmd_fn fn;             /* NULL: hand to ctr */
  const struct cmd *sub; /* sub-command table, or NULL */
  const char *summary;
  const char *usage; /* full --help text after the summary line */
};

const struct cmd *cmd_find(const struct cmd *table, const char *name);
/* Run a sub-command table: argv[0] names the group, argv[1] the sub-command.
 * Rows with fn == NULL, and unknown names, go to ctr. */
int cmd_dispatch_sub(struct cli *cli, const struct cmd *group, int argc, char **argv,
                     struct error **err);
void cmd_print_help(FILE *out, const struct cmd *c, const char *path);
/* True when argv holds -h/--help/-help before any "--" or positional. */
bool cli_wants_help(int argc, char **argv);

/* Flag definitions for cli_parse_flags. */
enum flag_kind { FLAG_BOOL, FLAG_VALUE };
struct flag {
  const char *names; /* space separated, without dashes: "n namespace" */
  enum flag_kind kind;
  int id;
};

/* Parse flags from argv[*optind] on. For each flag calls cb(id, value, data)
 * (value "true"/"false" for booleans). Stops at the first non-flag or after
 * "--". An unknown flag sets *unknown to its index and returns 1 (the caller
 * usually hands the command to ctr); a missing value returns -1 with *err.
 * Returns 0 when all flags were known. */
int cli_parse_flags(const struct flag *flags, int argc, char **argv, int *optind,
                    int (*cb)(int id, const char *value, void *data, struct error **err),
                    void *data, int *unknown, struct error **err);
/* "true"/"false"/"1"/"0"/"t"/"f" as Go's strconv.ParseBool. */
int cli_parse_bool(const char *s, bool *out);

/* The command tables live in main.c; each command in src/cmd/. */
extern const struct cmd cmd_table[];

int cmd_version(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_ref(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts_add(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_hosts_check(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_pull(struct cli *cli, int argc, char **argv, struct error **err);
int cmd_run(struct cli *cli, int argc, char **argv, struct error **err);
/* Pull REF as 'ctrx pull REF' does, progress on stderr (for run). */
int cmd_pull_ref(struct cli *cli, const char *ref, const char *platform, const char *snapshotter,
                 struct error **err);

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

/* Hand argv (starting at the command name) to the real ctr; returns only on
 * error. See passthru.h. */
int cli_passthru(struct cli *cli, int argc, char **argv, struct error **err);

#endif
