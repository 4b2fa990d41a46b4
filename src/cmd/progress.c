/* Pull progress and options shared by the commands that pull. */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc.h"
#include "hosts.h"

struct progress_bar {
  char id[20]; /* "sha256:" stripped, first 12 hex */
  const char *what;
  int64_t done, total;
  bool finished, existed;
};

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

static struct progress_bar *
bar_for(struct progress *p, const struct pull_event *ev)
{
  const char *hex = strchr(ev->digest, ':');
  char id[20];

  snprintf(id, sizeof(id), "%.12s", hex ? hex + 1 : ev->digest);
  for (size_t i = 0; i < p->n_bars; i++)
    if (strcmp(p->v[i].id, id) == 0)
      return &p->v[i];
  p->v = xrealloc(p->v, (p->n_bars + 1) * sizeof(*p->v));
  memset(&p->v[p->n_bars], 0, sizeof(*p->v));
  memcpy(p->v[p->n_bars].id, id, sizeof(id));
  p->v[p->n_bars].what = ev->what;
  return &p->v[p->n_bars++];
}

/* Redraw every bar in place: up over the old ones, then one line each. */
static void
draw(struct progress *p, bool force)
{
  int64_t now = now_ms();

  if (!force && now - p->drawn_ms < 50)
    return;
  p->drawn_ms = now;
  if (p->drawn > 0)
    fprintf(stderr, "\033[%dA", p->drawn);
  for (size_t i = 0; i < p->n_bars; i++) {
    const struct progress_bar *b = &p->v[i];
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
  fprintf(stderr, "\033[2Kelapsed %.1fs, %d layer%s unpacked\n", (double)(now - p->t0) / 1000.0,
          p->unpacked, p->unpacked == 1 ? "" : "s");
  p->drawn = (int)p->n_bars + 1;
}

static void
on_event(const struct pull_event *ev, void *arg)
{
  struct progress *p = arg;
  char size[32];

  if (p->quiet && ev->kind != PULL_WARNING && !(ev->kind == PULL_NOTE && p->debug))
    return;
  if (p->bars &&
      (ev->kind == PULL_PROGRESS || ev->kind == PULL_BLOB || ev->kind == PULL_UNPACKED)) {
    if (ev->kind == PULL_UNPACKED) {
      p->unpacked++;
    } else {
      struct progress_bar *b = bar_for(p, ev);
      b->done = ev->size;
      b->total = ev->kind == PULL_PROGRESS ? ev->total : ev->size;
      b->finished = ev->kind == PULL_BLOB;
      b->existed = ev->existed;
    }
    draw(p, ev->kind != PULL_PROGRESS);
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
    if (p->debug)
      fprintf(stderr, "ctrx: %s\n", ev->what);
    break;
  }
}

/* Mirror deadlines: flags, else the ctrx config's [mirror], else defaults. */
void
progress_registry_opts(struct cli *cli, const struct progress_timeouts *t, struct registry_opts *ro)
{
  static const struct progress_timeouts none = {0, 0, 0};
  const struct ctrx_config *cfg = NULL;

  if (t == NULL)
    t = &none;
  if (cli_config(cli, &cfg, NULL) < 0)
    cfg = NULL;
  ro->debug = cli->g.debug;
  ro->deadline_ms = cli->deadline_ms;
  ro->connect_timeout_ms = t->connect_ms                        ? t->connect_ms
                           : cfg && cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
                                                                : 0;
  ro->first_byte_timeout_ms = t->first_byte_ms                        ? t->first_byte_ms
                              : cfg && cfg->first_byte_timeout_ms > 0 ? cfg->first_byte_timeout_ms
                                                                      : 0;
  ro->stall_timeout_ms = t->stall_ms                        ? t->stall_ms
                         : cfg && cfg->stall_timeout_ms > 0 ? cfg->stall_timeout_ms
                                                            : 0;
}

int
progress_run(struct cli *cli, struct pull_opts *o, struct progress *p, struct pull_result *res,
             struct error **err)
{
  struct grpc_conn *conn = NULL;
  cleanup_free char *state = xasprintf("%s/endpoints", cli->state_dir);
  int rv;

  if (cli_conn(cli, &conn, err) < 0)
    return -1;
  o->ns = cli->g.namespace;
  o->state_path = state;
  o->on_event = on_event;
  o->arg = p;
  p->debug = cli->g.debug;
  p->t0 = now_ms();
  p->bars = !p->debug && isatty(STDERR_FILENO);
  rv = pull_image(conn, o, res, err);
  if (p->bars && p->n_bars)
    draw(p, true);
  free(steal_pointer(&p->v));
  p->n_bars = 0;
  return rv;
}

void
progress_print_done(const struct progress *p, const struct pull_result *res)
{
  if (!p->quiet)
    printf("%s %s from %s in %.1fs\n", res->name, res->digest, res->endpoint,
           (double)(now_ms() - p->t0) / 1000.0);
}

int
progress_pull(struct cli *cli, const char *ref, const char *platform, const char *snapshotter,
              struct error **err)
{
  struct progress p = {0};
  cleanup_strv struct strv dirs = STRV_INIT;
  struct pull_result res = {0};
  struct pull_opts o = {0};
  int rv;

  if (cli_hosts_dirs(cli, NULL, true, &dirs, err) < 0)
    return -1;
  o.ref = ref;
  o.platform = platform;
  o.snapshotter = snapshotter;
  o.dirs = &dirs;
  o.skip_verify = -1;
  progress_registry_opts(cli, NULL, &o.registry);
  rv = progress_run(cli, &o, &p, &res, err);
  pull_result_release(&res);
  return rv;
}
