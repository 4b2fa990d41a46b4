/* A pull as the commands that pull run it (pull, and run for an image it
 * lacks): the hosts-dirs chain and the mirror deadlines from the command
 * line and the ctrx config, and progress on stderr -- bars redrawn in place
 * on a terminal, else one line per blob -- and the final line. */
#ifndef CTRX_CMD_PROGRESS_H
#define CTRX_CMD_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "pull.h"

struct progress_bar;

struct progress {
  bool quiet; /* only warnings (and with --debug, notes) */
  bool debug;
  bool bars; /* stderr is a terminal: progress bars redrawn in place */
  struct progress_bar *v;
  size_t n_bars;
  int drawn; /* lines of bars on screen */
  int unpacked;
  int64_t drawn_ms;
  int64_t t0;
};

/* Mirror deadlines a command's flags set; 0: the config's, else defaults. */
struct progress_timeouts {
  int64_t connect_ms, first_byte_ms, stall_ms;
};

/* --debug, the --timeout deadline and the mirror deadlines, into *ro. t may
 * be NULL. */
void progress_registry_opts(struct cli *cli, const struct progress_timeouts *t,
                            struct registry_opts *ro);

/* Pull with *o, ns filled in from cli; p (zeroed but for quiet) draws the
 * progress and *res receives the result (the caller releases it). */
int progress_run(struct cli *cli, struct pull_opts *o, struct progress *p, struct pull_result *res,
                 struct error **err);
/* "NAME DIGEST from ENDPOINT in Ns" on stdout, unless quiet. */
void progress_print_done(const struct progress *p, const struct pull_result *res);

/* Pull REF as 'ctrx pull REF' does, progress on stderr: for a command that
 * needs an image pulled. platform and snapshotter may be NULL (this
 * machine's; the namespace's default). */
int progress_pull(struct cli *cli, const char *ref, const char *platform, const char *snapshotter,
                  struct error **err);

#endif
