/* The pull scheduler: the bytes of the blobs of one pull spread over every
 * healthy endpoint with the pull capability, in byte ranges, by measured
 * throughput. A pool of connections takes work from the open blobs, lowest
 * blob first; a blob is cut into chunks of SPREAD_CHUNK, each connection takes
 * the next one when it is done (a faster one takes more), and once none is
 * left an idle connection steals the tail of the range that will take longest
 * (split in proportion to the two connections' rates), or the whole rest of a
 * range that stalled. Each endpoint may have a few connections at first; it
 * gets twice as many when the bytes it sent with them say that more would
 * pay (it caps each connection, not all of them together), and keeps the last
 * count that paid. Ranges land in a spool file at their offsets; each blob's
 * own thread hands its bytes to the sink in order, so the sink (digest,
 * containerd's sequential content writer) sees one stream. What waits out of
 * order is bounded by SPREAD_WINDOW per blob and lives in the page cache, not
 * the heap. */
#ifndef CTRX_SPREAD_H
#define CTRX_SPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "registry.h"

#define SPREAD_MAX_ENDPOINTS 64
#define SPREAD_CONNS_PER_EP 16       /* a sane bound for an endpoint that caps each connection */
#define SPREAD_MAX_CONNS 16          /* the whole pool */
#define SPREAD_MIN_PIECE (512 << 10) /* no range is split into pieces smaller than this */
#define SPREAD_WINDOW (64LL << 20)   /* most bytes of a blob ahead of what was handed on */
#define SPREAD_CHUNK (4LL << 20)     /* a blob is cut into ranges of about this many bytes */
/* The sink gets a blob's bytes in pieces of this size, only the last one
 * shorter, so a consumer that writes pieces of this size copies nothing. */
#define SPREAD_PIECE (256u << 10)
/* connections to each endpoint at first: a registry's only one, each of several */
#define SPREAD_START_ONE 4
#define SPREAD_START_MANY 2
/* an endpoint's rate is measured over at least this long and this many bytes */
#define SPREAD_EPOCH_MS 200
#define SPREAD_EPOCH_BYTES (1 << 20)
/* bytes/s: one connection slower than this may gain from more of them */
#define SPREAD_SLOW_RATE 16e6
/* twice the connections stay when they bring at least this much more */
#define SPREAD_GAIN 1.3
/* a range this long without a byte goes to an idle connection */
#define SPREAD_STALL_STEAL_MS 3000

/* ---- the pure decisions (unit-tested) ---- */

/* How many connections an endpoint gets, learned from what they brought. */
struct spread_growth {
  int want;         /* connections it may have now */
  int prev_want;    /* before the last step; 0: no step yet */
  double prev_rate; /* bytes/s all prev_want connections brought */
  bool scales;      /* more connections brought more: it caps each one */
  bool settled;     /* no more steps */
};

/* After WANT connections brought RATE bytes/s together: twice as many (CAP
 * at most) when this is the first measure or RATE is SPREAD_GAIN times what
 * half as many brought, and each brought under SPREAD_SLOW_RATE (faster ones
 * wait on something else: containerd, the disk); else back to the count
 * before, for good. */
void spread_grow(struct spread_growth *g, int cap, double rate);

/* Connections each endpoint may have at first, for N_USABLE endpoints. */
int spread_start_want(size_t n_usable);

/* What the scheduler knows of one endpoint. */
struct spread_ep_state {
  int active;     /* connections now */
  int cap;        /* most connections now (its growth's want) */
  bool failed;    /* failed in this pull: no more work */
  double rate;    /* measured bytes/s of one connection, 0: not measured yet */
  int64_t served; /* bytes it delivered */
  struct spread_growth grow;
  int cold;            /* its requests that brought no byte yet */
  int64_t epoch_ms;    /* its connections all sent from then on; 0: not measuring,
                          -1: all run, not all sent yet (a round trip is no rate) */
  int64_t epoch_bytes; /* served then */
};

/* The endpoint an idle connection should use: not failed, not in excluded
 * (a bit per endpoint), a free slot; one with no connection first (every
 * endpoint kept busy), then an unmeasured one (to measure it), then the best
 * rate per connection, then the fewest connections, then the lowest index.
 * -1 when none. */
int spread_pick_endpoint(const struct spread_ep_state *eps, size_t n, uint64_t excluded);

/* Where a thief cuts a running range whose next byte is CUR and whose end is
 * END: the owner keeps [cur, cut), the thief takes [cut, end), sized so that
 * both finish together at their rates (an unknown rate counts as the other's;
 * both unknown: halves). -1 when either part would be under min_piece. */
int64_t spread_steal_cut(int64_t cur, int64_t end, double owner_rate, double thief_rate,
                         int64_t min_piece);

/* Where the range that starts at AT of a blob of SIZE bytes ends: CHUNK on,
 * or SIZE when less than a chunk and a half is left (no tiny last range). */
int64_t spread_chunk_end(int64_t at, int64_t size, int64_t chunk);

/* How many connections the pool has for N_USABLE endpoints: room for each
 * to grow to SPREAD_CONNS_PER_EP, SPREAD_MAX_CONNS at most. */
int spread_pool_size(size_t n_usable);

/* Whether a range starting at START may be fetched while the blob has been
 * handed on up to HEAD: the spool stays within WINDOW bytes ahead. */
bool spread_in_window(int64_t head, int64_t start, int64_t window);

/* The running range to steal from, given each one's next byte, end, owner
 * rate and stall: a stalled one first, else the one that needs longest to
 * finish (lower index wins ties: lower blobs first); -1 when none is worth
 * it. now_ms and last_ms[i] (its last byte) tell a stall (SPREAD_STALL_STEAL_MS). */
struct spread_running {
  int64_t cur, end;
  double rate;
  int64_t last_ms;
};
int spread_pick_victim(const struct spread_running *r, size_t n, int64_t now_ms, int64_t min_piece);

/* ---- the scheduler ---- */

struct spread_opts {
  const char *spool_dir; /* where out-of-order ranges wait; NULL: /var/tmp */
  /* an endpoint failed a range in a way that says it is unwell (not 404/401) */
  void (*on_failure)(const char *base, const struct error *e, void *arg);
  void *arg;
};

struct spread;

/* A scheduler over EPS (borrowed, must outlive it) of which those with
 * usable[i] and the pull capability take part, each base once; R (borrowed)
 * makes the requests. */
struct spread *spread_new(struct registry *r, const struct registry_ep *eps, size_t n,
                          const bool *usable, const struct spread_opts *o);
/* Stops and joins the connections. NULL is fine. */
void spread_free(struct spread *s);

/* Bytes [offset, size) of blob DESC of REPO, spread over the endpoints, into
 * sink in order; blobs of lower RANK get connections first (a pull's lower
 * layers, so that each can be unpacked while the next come in). 0 when every byte came (the caller
 * checks the digest); -1 when no endpoint could give the rest: *err names every endpoint with its
 * failure, and *delivered says how far sink got. From any thread, several at
 * once (one per blob). */
int spread_fetch(struct spread *s, const char *repo, const struct oci_desc *desc, int rank,
                 int64_t offset, registry_sink sink, void *arg, int64_t *delivered,
                 struct error **err);

/* Take endpoint i out of this pull (the caller found it serving wrong bytes). */
void spread_endpoint_failed(struct spread *s, size_t i);
/* How many endpoints delivered bytes so far. */
size_t spread_endpoints_used(struct spread *s);
/* How many endpoints the pull may spread over (usable, with pull, each once). */
size_t spread_usable(const struct spread *s);
/* Bytes endpoint i delivered so far. */
int64_t spread_endpoint_bytes(struct spread *s, size_t i);

#endif
