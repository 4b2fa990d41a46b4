/* The pull scheduler (spread.h): a pool of connections shared by the open
 * blobs of one pull, ranges stolen by measured throughput, a spool per blob
 * for the bytes that come ahead of the ones handed on. */
#include "spread.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PUNCH_STEP (1LL << 20)
#define DEFAULT_SPOOL_DIR "/var/tmp"
#define RATE_MIN_BYTES (256 << 10)

/* ---- the pure decisions ---- */

static bool
ep_free(const struct spread_ep_state *e, uint64_t excluded, size_t i)
{
  return !e->failed && (excluded & (UINT64_C(1) << i)) == 0 && e->active < e->cap;
}

/* Whether a is a better choice than b (both free): an idle endpoint first
 * (every endpoint kept busy), then one not measured yet, then the best rate
 * per connection (an endpoint that caps each connection keeps its rate as it
 * gets more; one that caps all of them together does not), then the fewest
 * connections. */
static bool
ep_better(const struct spread_ep_state *a, const struct spread_ep_state *b)
{
  if ((a->active == 0) != (b->active == 0))
    return a->active == 0;
  if ((a->rate == 0) != (b->rate == 0))
    return a->rate == 0;
  if (a->rate != b->rate)
    return a->rate > b->rate;
  return a->active < b->active;
}

int
spread_pick_endpoint(const struct spread_ep_state *eps, size_t n, uint64_t excluded)
{
  int pick = -1;

  if (n > SPREAD_MAX_ENDPOINTS)
    n = SPREAD_MAX_ENDPOINTS;
  for (size_t i = 0; i < n; i++)
    if (ep_free(&eps[i], excluded, i) && (pick < 0 || ep_better(&eps[i], &eps[pick])))
      pick = (int)i;
  return pick;
}

int64_t
spread_steal_cut(int64_t cur, int64_t end, double owner_rate, double thief_rate, int64_t min_piece)
{
  int64_t rest = end - cur, keep;

  if (owner_rate <= 0)
    owner_rate = thief_rate;
  if (thief_rate <= 0)
    thief_rate = owner_rate;
  if (owner_rate <= 0)
    owner_rate = thief_rate = 1;
  keep = (int64_t)((double)rest * owner_rate / (owner_rate + thief_rate));
  if (keep < min_piece || rest - keep < min_piece)
    return -1;
  return cur + keep;
}

int64_t
spread_chunk_end(int64_t at, int64_t size, int64_t chunk)
{
  /* a last piece under half a chunk joins the one before it */
  if (size - at < chunk + chunk / 2)
    return size;
  return at + chunk;
}

int
spread_pool_size(size_t n_usable)
{
  size_t want = (n_usable > 0 ? n_usable : 1) * SPREAD_CONNS_PER_EP;

  return (int)(want > SPREAD_MAX_CONNS ? SPREAD_MAX_CONNS : want);
}

int
spread_start_want(size_t n_usable)
{
  return n_usable <= 1 ? SPREAD_START_ONE : SPREAD_START_MANY;
}

void
spread_grow(struct spread_growth *g, int cap, double rate)
{
  if (g->settled)
    return;
  if (g->prev_want > 0 && rate < g->prev_rate * SPREAD_GAIN) {
    g->want = g->prev_want;
    g->settled = true;
    return;
  }
  g->scales = g->scales || g->prev_want > 0;
  /* each connection fast: what holds the pull back is not the endpoint */
  if (g->want >= cap || rate / g->want >= SPREAD_SLOW_RATE) {
    g->settled = true;
    return;
  }
  g->prev_want = g->want;
  g->prev_rate = rate;
  g->want = 2 * g->want < cap ? 2 * g->want : cap;
}

bool
spread_in_window(int64_t head, int64_t start, int64_t window)
{
  return start - head <= window;
}

int
spread_pick_victim(const struct spread_running *r, size_t n, int64_t now_ms, int64_t min_piece)
{
  int pick = -1;
  double longest = -1;

  for (size_t i = 0; i < n; i++)
    if (r[i].cur < r[i].end && now_ms - r[i].last_ms >= SPREAD_STALL_STEAL_MS)
      return (int)i;
  for (size_t i = 0; i < n; i++) {
    int64_t rest = r[i].end - r[i].cur;
    double eta = r[i].rate > 0 ? (double)rest / r[i].rate : (double)rest;
    if (rest < 2 * min_piece)
      continue;
    if (eta > longest) {
      longest = eta;
      pick = (int)i;
    }
  }
  return pick;
}

/* ---- the scheduler ---- */

enum range_state { R_PENDING, R_RUNNING, R_DONE };

struct range {
  int64_t start, end; /* [start, end) of the blob */
  int64_t got;        /* bytes in the spool from start on */
  enum range_state state;
  size_t ep;
  int64_t got0;    /* got when the request started */
  int64_t t0_ms;   /* the request started */
  int64_t last_ms; /* its last byte (or its start) */
  volatile int cancel;
  bool taken;   /* cancelled by the scheduler: not the endpoint's fault */
  bool stalled; /* taken because it stalled: the endpoint's fault */
};

struct blob {
  const char *repo;
  const struct oci_desc *d;
  int rank;     /* lower: served first */
  int fd;       /* the spool */
  int64_t head; /* handed on up to here */
  int64_t punched;
  struct range **ranges;
  size_t n_ranges;
  uint64_t excluded;   /* endpoints that do not have it (404, 401) */
  uint64_t blamed;     /* endpoints named in failures */
  struct buf failures; /* "base: why; …" */
  int running;
  bool closing;
  bool spool_failed;
  pthread_cond_t cond; /* its thread waits here */
};

struct spread {
  struct registry *r;
  const struct registry_ep *eps;
  size_t n;
  struct spread_ep_state st[SPREAD_MAX_ENDPOINTS];
  struct spread_opts o;
  pthread_mutex_t mu;
  pthread_cond_t work; /* idle connections wait here */
  struct blob **blobs; /* open blobs, lowest rank first */
  size_t n_blobs;
  size_t n_usable; /* endpoints that take part */
  pthread_t tids[SPREAD_MAX_CONNS];
  int n_tids;
  bool stop;
};

struct job {
  struct blob *b;
  struct range *rg;
  size_t ep;
  int64_t from, to;
};

static struct range *
range_add(struct blob *b, int64_t start, int64_t end)
{
  struct range *rg = xcalloc(1, sizeof(*rg));

  rg->start = start;
  rg->end = end;
  b->ranges = xrealloc(b->ranges, (b->n_ranges + 1) * sizeof(*b->ranges));
  b->ranges[b->n_ranges++] = rg;
  return rg;
}

static void
claim(struct spread *s, struct job *j, struct blob *b, struct range *rg, size_t ep)
{
  int64_t now = now_ms();

  rg->state = R_RUNNING;
  rg->ep = ep;
  rg->got0 = rg->got;
  rg->t0_ms = rg->last_ms = now;
  rg->cancel = 0;
  rg->taken = rg->stalled = false;
  s->st[ep].active++;
  s->st[ep].cold++;
  b->running++;
  /* all its connections run: measure what they bring together once each
   * brings bytes */
  if (!s->st[ep].grow.settled && s->st[ep].epoch_ms == 0 && s->st[ep].active >= s->st[ep].cap)
    s->st[ep].epoch_ms = -1;
  *j = (struct job){b, rg, ep, rg->start + rg->got, rg->end};
}

static double
range_rate(const struct range *rg, int64_t now)
{
  int64_t dt = now - rg->t0_ms;
  return dt > 0 ? (double)(rg->got - rg->got0) * 1000.0 / (double)dt : 0;
}

/* A pending range of b within its window, with an endpoint for it. */
static bool
find_pending(struct spread *s, struct blob *b, struct job *j)
{
  for (size_t k = 0; k < b->n_ranges; k++) {
    struct range *rg = b->ranges[k];
    int ep;
    if (rg->state != R_PENDING || !spread_in_window(b->head, rg->start + rg->got, SPREAD_WINDOW))
      continue;
    ep = spread_pick_endpoint(s->st, s->n, b->excluded);
    if (ep < 0)
      return false;
    claim(s, j, b, rg, (size_t)ep);
    return true;
  }
  return false;
}

/* The tail of b's range that will take longest, or the rest of one that
 * stalled, for an idle connection. */
static bool
find_steal(struct spread *s, struct blob *b, struct job *j)
{
  struct spread_running run[64];
  struct range *of[64];
  size_t n = 0;
  int64_t now = now_ms(), cut;
  struct range *v;
  int k, ep;
  bool stalled;

  for (size_t i = 0; i < b->n_ranges && n < ARRAY_SIZE(run); i++) {
    struct range *rg = b->ranges[i];
    if (rg->state != R_RUNNING || rg->taken)
      continue;
    run[n] =
        (struct spread_running){rg->start + rg->got, rg->end, range_rate(rg, now), rg->last_ms};
    of[n++] = rg;
  }
  k = spread_pick_victim(run, n, now, SPREAD_MIN_PIECE);
  if (k < 0)
    return false;
  v = of[k];
  stalled = now - v->last_ms >= SPREAD_STALL_STEAL_MS;
  ep = spread_pick_endpoint(s->st, s->n, b->excluded | (stalled ? UINT64_C(1) << v->ep : 0));
  if (ep < 0)
    return false;
  /* cutting a request short throws away what its server had in flight:
   * worth it for another endpoint, for one that caps each connection, or to
   * learn whether it does (all its connections busy, to measure them) while
   * its connections are slow: the range to cut has run long enough to tell,
   * under SPREAD_SLOW_RATE (on a fast one, cutting only wastes bytes) */
  if (!stalled && (size_t)ep == v->ep && !s->st[ep].grow.scales &&
      (s->st[ep].grow.settled || now - v->t0_ms < SPREAD_EPOCH_MS ||
       run[k].rate >= SPREAD_SLOW_RATE))
    return false;
  cut = stalled
            ? run[k].cur
            : spread_steal_cut(run[k].cur, v->end, run[k].rate, s->st[ep].rate, SPREAD_MIN_PIECE);
  if (cut < 0 || !spread_in_window(b->head, cut, SPREAD_WINDOW))
    return false;
  claim(s, j, b, range_add(b, cut, v->end), (size_t)ep);
  v->end = cut;
  if (stalled) {
    v->cancel = 1;
    v->taken = v->stalled = true;
  }
  return true;
}

/* Under s->mu: work for an idle connection, lowest blob first. */
static bool
find_job(struct spread *s, struct job *j)
{
  for (size_t i = 0; i < s->n_blobs; i++)
    if (!s->blobs[i]->closing && find_pending(s, s->blobs[i], j))
      return true;
  for (size_t i = 0; i < s->n_blobs; i++)
    if (!s->blobs[i]->closing && find_steal(s, s->blobs[i], j))
      return true;
  return false;
}

struct sink_ctx {
  struct spread *s;
  struct job *j;
};

/* Under s->mu: one of endpoint i's requests brought its first byte, or ended
 * without one; when none is left waiting, a measure that waited starts. */
static void
warm(struct spread *s, size_t i, int64_t now)
{
  struct spread_ep_state *st = &s->st[i];

  st->cold--;
  if (st->epoch_ms == -1 && st->cold <= 0) {
    st->epoch_ms = now;
    st->epoch_bytes = st->served;
  }
}

/* Under s->mu: when endpoint i's connections have run together long enough,
 * what they brought decides how many it gets. */
static void
epoch_check(struct spread *s, size_t i, int64_t now)
{
  struct spread_ep_state *st = &s->st[i];
  int64_t dt = now - st->epoch_ms, bytes = st->served - st->epoch_bytes;
  double rate;

  if (st->epoch_ms <= 0 || dt < SPREAD_EPOCH_MS || bytes < SPREAD_EPOCH_BYTES)
    return;
  rate = (double)bytes * 1000.0 / (double)dt;
  spread_grow(&st->grow, SPREAD_CONNS_PER_EP, rate);
  log_debug("sched: %s: %d connections brought %.1f MB/s: %d from now on%s", s->eps[i].base,
            st->cap, rate / 1e6, st->grow.want, st->grow.settled ? ", settled" : "");
  st->cap = st->grow.want;
  st->epoch_ms = 0;
  pthread_cond_broadcast(&s->work);
}

static int
write_at(int fd, const void *data, size_t len, int64_t at)
{
  const char *p = data;

  while (len > 0) {
    ssize_t w = pwrite(fd, p, len, (off_t)at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
    at += w;
  }
  return 0;
}

/* A range's bytes into the spool at their place; what lies past its end (a
 * thief took it meanwhile) is dropped and ends the request. */
static int
range_sink(const void *data, size_t len, void *arg, struct error **err)
{
  struct sink_ctx *c = arg;
  struct range *rg = c->j->rg;
  struct blob *b = c->j->b;
  int64_t pos, n;
  int rv = 0;

  pthread_mutex_lock(&c->s->mu);
  pos = rg->start + rg->got;
  n = rg->end - pos < (int64_t)len ? rg->end - pos : (int64_t)len;
  if (n > 0 && write_at(b->fd, data, (size_t)n, pos) < 0) {
    b->spool_failed = true;
    rv = error_set(err, errno, "write the spool");
  } else if (n > 0) {
    bool first = rg->got == rg->got0;
    rg->got += n;
    rg->last_ms = now_ms();
    c->s->st[c->j->ep].served += n;
    if (first)
      warm(c->s, c->j->ep, rg->last_ms);
    epoch_check(c->s, c->j->ep, rg->last_ms);
    pthread_cond_broadcast(&b->cond);
  }
  if (rv == 0 && n < (int64_t)len) {
    rg->taken = true;
    rv = error_setc(err, ERR_CANCELLED, "taken over at byte %" PRId64, rg->end);
  }
  pthread_mutex_unlock(&c->s->mu);
  return rv;
}

static void
note_range(struct spread *s, const struct job *j, const struct error *e, int64_t ms)
{
  if (!log_debug_on())
    return;
  log_debug("sched: %s bytes %" PRId64 "-%" PRId64 " from %s in %" PRId64 " ms%s%s",
            j->b->d->digest, j->from, j->from + j->rg->got - j->rg->got0 - 1, s->eps[j->ep].base,
            ms, e ? ": " : "", e ? e->msg : "");
}

/* Under s->mu: what a request's end means for its range, its endpoint and
 * its blob. *blame: the endpoint is unwell (the caller tells on_failure). */
static void
finish(struct spread *s, struct job *j, struct error *e, bool *blame)
{
  struct range *rg = j->rg;
  struct blob *b = j->b;
  struct spread_ep_state *st = &s->st[j->ep];
  int64_t now = now_ms(), bytes = rg->got - rg->got0;
  uint64_t bit = UINT64_C(1) << j->ep;

  *blame = false;
  st->active--;
  if (bytes == 0)
    warm(s, j->ep, now);
  b->running--;
  rg->state = rg->got >= rg->end - rg->start ? R_DONE : R_PENDING;
  /* a small range measures the round trip more than the rate */
  if (bytes >= RATE_MIN_BYTES && now > rg->t0_ms && !rg->stalled) {
    double sample = (double)bytes * 1000.0 / (double)(now - rg->t0_ms);
    st->rate = st->rate > 0 ? 0.6 * st->rate + 0.4 * sample : sample;
  }
  if (rg->stalled || (e != NULL && !rg->taken && rg->state == R_PENDING && !b->spool_failed)) {
    bool absent = e && !rg->stalled && (e->code == ERR_NOT_FOUND || e->code == ERR_UNAUTHENTICATED);
    if (absent)
      b->excluded |= bit;
    else
      st->failed = true;
    *blame = !absent && e && e->code != ERR_UNIMPLEMENTED;
    if ((b->blamed & bit) == 0)
      buf_addf(&b->failures, "%s%s: %s", b->failures.len ? "; " : "", s->eps[j->ep].base,
               rg->stalled ? "stalled: no data while others had work" : e->msg);
    b->blamed |= bit;
  }
  pthread_cond_broadcast(&b->cond);
  pthread_cond_broadcast(&s->work);
}

static void
run_job(struct spread *s, struct job *j)
{
  struct sink_ctx c = {s, j};
  struct error *e = NULL;
  int64_t t0 = now_ms();
  bool blame = false;
  const char *base = s->eps[j->ep].base;

  registry_fetch_range(s->r, &s->eps[j->ep], j->b->repo, j->b->d, j->from, j->to, range_sink, &c,
                       &j->rg->cancel, &e);
  note_range(s, j, e, now_ms() - t0);
  pthread_mutex_lock(&s->mu);
  if (j->rg->stalled && e == NULL)
    error_setc(&e, ERR_DEADLINE, "stalled: no data for %d ms", SPREAD_STALL_STEAL_MS);
  finish(s, j, e, &blame);
  pthread_mutex_unlock(&s->mu);
  if (blame && s->o.on_failure)
    s->o.on_failure(base, e, s->o.arg);
  error_free(e);
}

static void *
conn_thread(void *arg)
{
  struct spread *s = arg;
  struct job j;

  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    if (!find_job(s, &j)) {
      struct timespec ts;
      /* woken by new work, or in a while to look for stalls */
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait(&s->work, &s->mu, &ts);
      continue;
    }
    pthread_mutex_unlock(&s->mu);
    run_job(s, &j);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

struct spread *
spread_new(struct registry *r, const struct registry_ep *eps, size_t n, const bool *usable,
           const struct spread_opts *o)
{
  struct spread *s = xcalloc(1, sizeof(*s));

  s->r = r;
  s->eps = eps;
  s->n = n < SPREAD_MAX_ENDPOINTS ? n : SPREAD_MAX_ENDPOINTS;
  if (o)
    s->o = *o;
  for (size_t i = 0; i < s->n; i++) {
    s->st[i].failed = !usable[i] || (eps[i].caps & REGISTRY_PULL) == 0;
    /* listed twice (a mirror that is also the server): one endpoint */
    for (size_t k = 0; k < i; k++)
      if (!s->st[k].failed && strcmp(eps[k].base, eps[i].base) == 0)
        s->st[i].failed = true;
    s->n_usable += !s->st[i].failed;
  }
  for (size_t i = 0; i < s->n; i++)
    s->st[i].cap = s->st[i].grow.want = spread_start_want(s->n_usable);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  return s;
}

size_t
spread_usable(const struct spread *s)
{
  return s->n_usable;
}

void
spread_free(struct spread *s)
{
  if (s == NULL)
    return;
  pthread_mutex_lock(&s->mu);
  s->stop = true;
  pthread_cond_broadcast(&s->work);
  pthread_mutex_unlock(&s->mu);
  for (int i = 0; i < s->n_tids; i++)
    pthread_join(s->tids[i], NULL);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->work);
  free(s->blobs);
  free(s);
}

/* Under s->mu: the pool, started with the first blob. */
static void
start_pool(struct spread *s)
{
  int want = spread_pool_size(s->n_usable);

  if (s->n_tids > 0)
    return;
  for (int i = 0; i < want; i++)
    if (pthread_create(&s->tids[s->n_tids], NULL, conn_thread, s) == 0)
      s->n_tids++;
}

static int
open_spool(const struct spread *s, struct error **err)
{
  const char *dir = s->o.spool_dir ? s->o.spool_dir : DEFAULT_SPOOL_DIR;
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd < 0) {
    cleanup_free char *tmpl = xasprintf("%s/ctrx-spool-XXXXXX", dir);
    fd = mkostemp(tmpl, O_CLOEXEC);
    if (fd >= 0)
      unlink(tmpl);
  }
  if (fd < 0)
    return error_set(err, errno, "spool in '%s'", dir);
  return fd;
}

/* Under s->mu: bytes from b->head on that are in the spool, across the ends
 * of ranges that are complete; SPREAD_CHUNK or a little more is enough for
 * one delivery, and it bounds the walk. */
static int64_t
contiguous(const struct blob *b)
{
  int64_t at = b->head;
  bool moved = true;

  while (moved && at - b->head < SPREAD_CHUNK) {
    moved = false;
    for (size_t k = 0; k < b->n_ranges && !moved; k++) {
      const struct range *rg = b->ranges[k];
      if (rg->start <= at && at < rg->start + rg->got) {
        at = rg->start + rg->got;
        moved = true;
      }
    }
  }
  return at - b->head;
}

/* Under s->mu: nothing runs and nobody may take what is pending. */
static bool
stuck(const struct spread *s, const struct blob *b)
{
  if (b->running > 0)
    return false;
  for (size_t i = 0; i < s->n; i++)
    if (!s->st[i].failed && (b->excluded & (UINT64_C(1) << i)) == 0)
      return false;
  return true;
}

/* Hand n spooled bytes from *pos on to the sink, moving *pos (s->mu not
 * held: *pos is the blob thread's own copy of its head). */
static int
deliver(struct blob *b, int64_t *pos, int64_t n, registry_sink sink, void *arg, struct error **err)
{
  /* taken for this burst only: the blobs of a pull seldom deliver at once,
   * so they share what the allocator keeps */
  cleanup_free char *buf = xmalloc(SPREAD_PIECE);

  while (n > 0) {
    size_t want = n < (int64_t)SPREAD_PIECE ? (size_t)n : SPREAD_PIECE;
    ssize_t r = pread(b->fd, buf, want, (off_t)*pos);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return error_set(err, r < 0 ? errno : EIO, "read the spool");
    if (sink(buf, (size_t)r, arg, err) < 0)
      return -1;
    *pos += r;
    n -= r;
  }
  if (*pos - b->punched >= PUNCH_STEP) {
    int64_t to = *pos / PUNCH_STEP * PUNCH_STEP;
    /* what was handed on leaves the disk; failing that, it just stays */
    (void)fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)b->punched,
                    (off_t)(to - b->punched));
    b->punched = to;
  }
  return 0;
}

/* Under s->mu: the blob's thread hands bytes on as they become contiguous,
 * until the end, a sink error or no endpoint left. */
static int
drain(struct spread *s, struct blob *b, registry_sink sink, void *arg, struct error **err)
{
  while (b->head < b->d->size) {
    int64_t n = contiguous(b), pos = b->head;
    if (pos + n < b->d->size)
      n -= n % SPREAD_PIECE; /* whole pieces, but for the last */
    if (n > 0) {
      int rv;
      pthread_mutex_unlock(&s->mu);
      rv = deliver(b, &pos, n, sink, arg, err);
      pthread_mutex_lock(&s->mu);
      b->head = pos;
      pthread_cond_broadcast(&s->work); /* the window moved */
      if (rv < 0)
        return -1;
      continue;
    }
    if (b->spool_failed)
      return error_setc(err, ERR_INTERNAL, "the spool failed");
    if (stuck(s, b))
      return error_setc(err, ERR_UNAVAILABLE, "%s",
                        b->failures.len ? b->failures.data : "no endpoint to try");
    pthread_cond_wait(&b->cond, &s->mu);
  }
  return 0;
}

static void
blob_register(struct spread *s, struct blob *b)
{
  size_t at = s->n_blobs;

  s->blobs = xrealloc(s->blobs, (s->n_blobs + 1) * sizeof(*s->blobs));
  while (at > 0 && s->blobs[at - 1]->rank > b->rank) {
    s->blobs[at] = s->blobs[at - 1];
    at--;
  }
  s->blobs[at] = b;
  s->n_blobs++;
  start_pool(s);
  pthread_cond_broadcast(&s->work);
}

/* Under s->mu: cancel what still runs for b, wait for it, forget b. */
static void
blob_close(struct spread *s, struct blob *b)
{
  b->closing = true;
  for (size_t k = 0; k < b->n_ranges; k++)
    if (b->ranges[k]->state == R_RUNNING) {
      b->ranges[k]->cancel = 1;
      b->ranges[k]->taken = true;
    }
  while (b->running > 0)
    pthread_cond_wait(&b->cond, &s->mu);
  for (size_t i = 0; i < s->n_blobs; i++)
    if (s->blobs[i] == b) {
      memmove(&s->blobs[i], &s->blobs[i + 1], (s->n_blobs - i - 1) * sizeof(*s->blobs));
      s->n_blobs--;
      break;
    }
}

int
spread_fetch(struct spread *s, const char *repo, const struct oci_desc *desc, int rank,
             int64_t offset, registry_sink sink, void *arg, int64_t *delivered, struct error **err)
{
  struct blob b = {.repo = repo, .d = desc, .rank = rank, .head = offset, .punched = offset};
  int rv;

  *delivered = offset;
  if (offset < 0 || offset >= desc->size)
    return error_setc(err, ERR_OUT_OF_RANGE, "offset %" PRId64 " out of range", offset);
  b.fd = open_spool(s, err);
  if (b.fd < 0)
    return -1;
  pthread_cond_init(&b.cond, NULL);
  pthread_mutex_lock(&s->mu);
  for (int64_t at = offset; at < desc->size; at = spread_chunk_end(at, desc->size, SPREAD_CHUNK))
    range_add(&b, at, spread_chunk_end(at, desc->size, SPREAD_CHUNK));
  blob_register(s, &b);
  rv = drain(s, &b, sink, arg, err);
  blob_close(s, &b);
  pthread_mutex_unlock(&s->mu);
  *delivered = b.head;
  for (size_t k = 0; k < b.n_ranges; k++)
    free(b.ranges[k]);
  free(b.ranges);
  buf_release(&b.failures);
  pthread_cond_destroy(&b.cond);
  close(b.fd);
  return rv;
}

void
spread_endpoint_failed(struct spread *s, size_t i)
{
  if (i >= s->n)
    return;
  pthread_mutex_lock(&s->mu);
  s->st[i].failed = true;
  pthread_mutex_unlock(&s->mu);
}

size_t
spread_endpoints_used(struct spread *s)
{
  size_t used = 0;

  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n; i++)
    used += s->st[i].served > 0;
  pthread_mutex_unlock(&s->mu);
  return used;
}

int64_t
spread_endpoint_bytes(struct spread *s, size_t i)
{
  int64_t v;

  if (i >= s->n)
    return 0;
  pthread_mutex_lock(&s->mu);
  v = s->st[i].served;
  pthread_mutex_unlock(&s->mu);
  return v;
}
