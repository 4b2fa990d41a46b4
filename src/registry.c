/* OCI distribution client: resolve, fetch and probe over the endpoints of
 * hosts.toml, on top of http.c (the exchange) and auth.c (challenges and
 * tokens). */
#include "registry.h"

#include <pthread.h>
#include <stdio.h>

#include "auth.h"
#include "digest.h"
#include "http.h"
#include "log.h"
#include "registry_internal.h"
#include "version.h"

/* What resolve accepts, in the order containerd sends it. */
#define RESOLVE_ACCEPT                                                                             \
  OCI_MT_DOCKER_MANIFEST ", " OCI_MT_DOCKER_LIST ", " OCI_MT_MANIFEST ", " OCI_MT_INDEX ", */*"

struct registry {
  struct http *http;
  struct auth *auth;
  bool debug;
  int64_t hedge_delay_ms;
  void (*on_failure)(const char *base, const struct error *e, void *arg);
  void *failure_arg;
};

int
registry_new(const struct registry_opts *opts, struct registry **out, struct error **err)
{
  static const struct registry_opts defaults = {0};
  struct registry *r = xcalloc(1, sizeof(*r));
  struct http_opts ho;

  (void)err;
  if (opts == NULL)
    opts = &defaults;
  ho = (struct http_opts){
      .user_agent = opts->user_agent ? opts->user_agent : "ctrx/" CTRX_VERSION,
      .debug = opts->debug,
      .connect_timeout_ms = opts->connect_timeout_ms > 0 ? (long)opts->connect_timeout_ms
                                                         : REGISTRY_CONNECT_TIMEOUT_MS,
      .first_byte_timeout_ms = opts->first_byte_timeout_ms > 0 ? opts->first_byte_timeout_ms
                                                               : REGISTRY_FIRST_BYTE_TIMEOUT_MS,
      .stall_timeout_ms =
          opts->stall_timeout_ms > 0 ? opts->stall_timeout_ms : REGISTRY_STALL_TIMEOUT_MS,
      .deadline_ms = opts->deadline_ms,
  };
  r->http = http_new(&ho);
  r->auth = auth_new(&(struct auth_opts){.user = opts->user,
                                         .docker_config = opts->docker_config,
                                         .path = opts->path,
                                         .deadline_ms = opts->deadline_ms});
  r->debug = opts->debug;
  r->hedge_delay_ms = opts->hedge_delay_ms > 0 ? opts->hedge_delay_ms : REGISTRY_HEDGE_DELAY_MS;
  r->on_failure = opts->on_endpoint_failure;
  r->failure_arg = opts->failure_arg;
  *out = r;
  return 0;
}

void
registry_free(struct registry *r)
{
  if (r == NULL)
    return;
  auth_free(r->auth);
  http_free(r->http);
  free(r);
}

void
registry_ep_release(struct registry_ep *e)
{
  free(e->base);
  free(e->ns);
  strv_release(&e->ca_files);
  free(e->client_cert);
  free(e->client_key);
  strv_release(&e->headers);
  memset(e, 0, sizeof(*e));
  e->skip_verify = -1;
}

char *
registry_url(const struct registry_ep *ep, const char *repo, const char *kind, const char *object)
{
  cleanup_free char *ns = NULL;

  if (ep->ns == NULL || ep->ns[0] == '\0')
    return xasprintf("%s/%s/%s/%s", ep->base, repo, kind, object);
  ns = http_query_escape(ep->ns);
  return xasprintf("%s/%s/%s/%s?ns=%s", ep->base, repo, kind, object, ns);
}

/* ---- resolve and fetch ---- */

/* What the transport needs of EP (borrowed from it). */
static struct http_endpoint
http_endpoint_of(const struct registry_ep *ep)
{
  return (struct http_endpoint){.headers = &ep->headers,
                                .skip_verify = ep->skip_verify,
                                .ca_files = &ep->ca_files,
                                .client_cert = ep->client_cert,
                                .client_key = ep->client_key,
                                .connect_timeout_ms = ep->connect_timeout_ms};
}

int
registry_check_login(struct registry *r, const struct registry_ep *ep, struct error **err)
{
  struct http_endpoint hep = http_endpoint_of(ep);
  struct http_conn *c = NULL;
  int rv;

  if (http_ready(err) < 0)
    return -1;
  if ((c = http_conn_get(r->http)) == NULL)
    return error_setc(err, ERR_INTERNAL, "no connection from curl");
  rv = auth_check_login(r->auth, r->http, c, ep->base, &hep, err);
  http_conn_put(r->http, c);
  return rv;
}

/* The request to URL on EP, authenticated for REPO as it asks. */
static int
perform_authed(struct registry *r, struct http_conn *h, const struct registry_ep *ep,
               const char *repo, const char *url, struct http_req *q, struct error **err)
{
  struct http_endpoint hep = http_endpoint_of(ep);

  return auth_perform(r->auth, r->http, h, ep->base, &hep, repo, url, q, err);
}

/* ---- resolve and fetch ---- */

/* A digest of the grammar containerd accepts, of the one algorithm fetched. */
static bool
fetchable_digest(const char *digest)
{
  return oci_digest_valid(digest) && str_has_prefix(digest, "sha256:");
}

static char *
sha256_hex(const void *data, size_t len)
{
  char *r = digest_sha256(data, len, NULL);
  return r ? r : xstrdup("sha256:");
}

/* A Content-Type is named in messages: printable ASCII only. */
static bool
printable_ascii(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return false;
  return true;
}

static int
resolve_one(struct registry *r, struct http_conn *h, const struct registry_ep *ep, const char *repo,
            const char *object, bool by_digest, const volatile int *cancel, struct oci_desc *out,
            struct error **err)
{
  cleanup_free char *url = registry_url(ep, repo, "manifests", object);
  cleanup_free char *mt = NULL;
  struct http_req q = {
      .method = "HEAD", .accept = RESOLVE_ACCEPT, .sink_limit = -1, .cancel = cancel};
  int ret = -1;

  if (perform_authed(r, h, ep, repo, url, &q, err) < 0)
    goto out;
  if (q.status >= 200 && q.status <= 299) {
    if (q.content_length > (int64_t)OCI_MAX_DOCUMENT) {
      error_setc(err, ERR_EXHAUSTED, "manifest of %lld bytes is over the %u byte limit",
                 (long long)q.content_length, OCI_MAX_DOCUMENT);
      goto out;
    }
    /* A length of 0 is what some proxies answer to any HEAD: not a size. */
    if (q.content_type != NULL && !printable_ascii(q.content_type)) {
      error_setc(err, ERR_INVALID, "Content-Type with control characters");
      goto out;
    }
    if (q.content_type != NULL && q.content_length > 0 &&
        (by_digest || fetchable_digest(q.digest))) {
      out->media_type = oci_media_strip(q.content_type);
      out->digest = xstrdup(by_digest ? object : q.digest);
      out->size = q.content_length;
      ret = 0;
      goto out;
    }
  } else if (q.status != 405) {
    http_status_error(&q, err);
    goto out;
  }
  /* No usable answer to HEAD: fetch the manifest and measure it. */
  q.method = "GET";
  q.body_max = OCI_MAX_DOCUMENT;
  if (perform_authed(r, h, ep, repo, url, &q, err) < 0) {
    if (error_is(*err, ERR_EXHAUSTED)) {
      error_free(*err);
      *err = NULL;
      error_setc(err, ERR_EXHAUSTED, "manifest is over the %u byte limit", OCI_MAX_DOCUMENT);
    }
    goto out;
  }
  if (q.status < 200 || q.status > 299) {
    http_status_error(&q, err);
    goto out;
  }
  if (q.content_type == NULL) {
    error_setc(err, ERR_INVALID, "manifest without Content-Type");
    goto out;
  }
  if (!printable_ascii(q.content_type)) {
    error_setc(err, ERR_INVALID, "Content-Type with control characters");
    goto out;
  }
  out->digest = sha256_hex(q.body.data ? q.body.data : "", q.body.len);
  if (by_digest && strcmp(out->digest, object) != 0) {
    error_setc(err, ERR_DATA_LOSS, "manifest digest is %s", out->digest);
    oci_desc_release(out);
    goto out;
  }
  out->media_type = oci_media_strip(q.content_type);
  out->size = (int64_t)q.body.len;
  ret = 0;
out:
  http_req_release(&q);
  return ret;
}

/* Collects the failures of an endpoint loop into one error. */
struct failures {
  struct buf text;
  size_t n;
  size_t n_not_found;
  int first_code; /* of the first failure other than not found */
};

static void
failures_add(struct failures *f, const struct registry_ep *ep, struct error *e)
{
  buf_addf(&f->text, "%s%s: %s", f->n ? "; " : "", ep->base, e->msg);
  if (e->code == ERR_NOT_FOUND)
    f->n_not_found++;
  else if (f->n == f->n_not_found)
    f->first_code = e->code;
  f->n++;
  error_free(e);
}

static int
failures_error(struct failures *f, const char *what, struct error **err)
{
  int ret;

  if (f->n == 0)
    ret = error_setc(err, ERR_INVALID, "%s: no endpoint to try", what);
  else if (f->n == f->n_not_found)
    ret = error_setc(err, ERR_NOT_FOUND, "%s: not found", what);
  else
    ret = error_setc(err, f->first_code, "%s: %s", what, f->text.data);
  buf_release(&f->text);
  return ret;
}

/* One resolve attempt on its own thread, for hedging. */
struct attempt {
  struct registry *r;
  const struct registry_ep *ep;
  const char *repo;
  const char *object;
  bool by_digest;
  volatile int cancel;
  bool started, done;
  int rc;
  struct oci_desc desc;
  struct error *err;
  pthread_t thread;
  pthread_mutex_t *mu;
  pthread_cond_t *cond;
};

/* The attempts of one hedged resolve, and what they share. */
struct hedge {
  struct registry *r;
  struct attempt *at;
  size_t n;      /* one attempt per endpoint that may answer */
  size_t next;   /* how many have started */
  size_t winner; /* SIZE_MAX: none (yet) */
  int64_t last_start;
  pthread_mutex_t mu; /* guards the attempts' started, done, rc, desc and err */
  pthread_cond_t cond;
};

static void *
attempt_run(void *arg)
{
  struct attempt *a = arg;
  struct http_conn *h = http_conn_get(a->r->http);
  struct error *e = NULL;
  int rc;

  if (h == NULL)
    rc = error_setc(&e, ERR_INTERNAL, "curl_easy_init failed");
  else
    rc = resolve_one(a->r, h, a->ep, a->repo, a->object, a->by_digest, &a->cancel, &a->desc, &e);
  http_conn_put(a->r->http, h);
  pthread_mutex_lock(a->mu);
  a->rc = rc;
  a->err = e;
  a->done = true;
  pthread_cond_broadcast(a->cond);
  pthread_mutex_unlock(a->mu);
  return NULL;
}

/* The first good answer wins; among answers that came in together, the
 * earlier endpoint's. SIZE_MAX: none yet. */
static size_t
hedge_winner(const struct hedge *hg)
{
  for (size_t k = 0; k < hg->next; k++)
    if (hg->at[k].done && hg->at[k].err == NULL)
      return k;
  return SIZE_MAX;
}

/* Whether every attempt has started, and ended. */
static bool
hedge_all_done(const struct hedge *hg)
{
  bool all_done = hg->next == hg->n;

  for (size_t k = 0; k < hg->next; k++)
    all_done = all_done && hg->at[k].done;
  return all_done;
}

static bool
hedge_any_running(const struct hedge *hg)
{
  for (size_t k = 0; k < hg->next; k++)
    if (!hg->at[k].done)
      return true;
  return false;
}

static void
hedge_start_next(struct hedge *hg, bool any_running)
{
  struct attempt *a = &hg->at[hg->next];

  if (hg->next > 0 && any_running && hg->r->debug)
    log_debug("registry %s is slow to answer; also asking %s", hg->at[hg->next - 1].ep->base,
              a->ep->base);
  if (pthread_create(&a->thread, NULL, attempt_run, a) == 0) {
    a->started = true;
  } else {
    a->done = true;
    error_setc(&a->err, ERR_INTERNAL, "cannot start a thread");
  }
  hg->next++;
  hg->last_start = now_ms();
}

/* Waits for an attempt to end, until WAKE (now_ms clock) at most. */
static void
hedge_wait(struct hedge *hg, int64_t wake)
{
  struct timespec ts;
  int64_t left;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  left = wake - now_ms();
  if (left < 1)
    left = 1;
  ts.tv_sec += left / 1000;
  ts.tv_nsec += (left % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&hg->cond, &hg->mu, &ts);
}

/* Starts attempts until one wins or all have failed; the others are
 * cancelled, and every thread joined. */
static void
hedge_run(struct hedge *hg)
{
  pthread_mutex_lock(&hg->mu);
  for (;;) {
    hg->winner = hedge_winner(hg);
    if (hg->winner != SIZE_MAX || hedge_all_done(hg))
      break;
    /* start the next endpoint now when every started one has failed, or
     * when the hedge delay has passed */
    if (hg->next < hg->n) {
      bool any_running = hedge_any_running(hg);
      if (!any_running || now_ms() - hg->last_start >= hg->r->hedge_delay_ms) {
        hedge_start_next(hg, any_running);
        continue;
      }
    }
    hedge_wait(hg, hg->next < hg->n ? hg->last_start + hg->r->hedge_delay_ms : now_ms() + 1000);
  }
  for (size_t k = 0; k < hg->next; k++)
    if (k != hg->winner)
      hg->at[k].cancel = 1;
  pthread_mutex_unlock(&hg->mu);
  for (size_t k = 0; k < hg->next; k++)
    if (hg->at[k].started)
      pthread_join(hg->at[k].thread, NULL);
}

/* Tells on_failure of attempt K: it failed in a way that says the endpoint
 * is unwell, or it was asked before the winner and is still silent. */
static void
hedge_report_failure(const struct hedge *hg, size_t k)
{
  const struct registry *r = hg->r;
  const struct error *e = hg->at[k].err;
  bool cancelled = hg->at[k].cancel && str_has_prefix(e->msg, "cancelled");

  if (r->on_failure == NULL)
    return;
  if (cancelled && k < hg->winner) {
    /* asked before the winner and still silent: slow, so try it later */
    struct error *slow = NULL;
    error_setc(&slow, ERR_DEADLINE, "no answer before %s answered", hg->at[hg->winner].ep->base);
    r->on_failure(hg->at[k].ep->base, slow, r->failure_arg);
    error_free(slow);
  } else if (!cancelled && e->code != ERR_NOT_FOUND && e->code != ERR_UNAUTHENTICATED &&
             e->code != ERR_INVALID) {
    r->on_failure(hg->at[k].ep->base, e, r->failure_arg);
  }
}

/* The winner's descriptor into *out; every other attempt's failure reported
 * and, when nothing won, collected into F. */
static void
hedge_finish(struct hedge *hg, const struct registry_ep *eps, struct oci_desc *out,
             size_t *served_by, struct failures *f)
{
  for (size_t k = 0; k < hg->n; k++) {
    struct attempt *a = &hg->at[k];

    if (k == hg->winner) {
      *out = a->desc;
      if (served_by)
        *served_by = (size_t)(a->ep - eps);
      continue;
    }
    oci_desc_release(&a->desc);
    if (k >= hg->next || a->err == NULL)
      continue;
    hedge_report_failure(hg, k);
    if (hg->winner == SIZE_MAX)
      failures_add(f, a->ep, a->err);
    else
      error_free(a->err);
  }
}

int
registry_resolve(struct registry *r, const struct registry_ep *eps, size_t n_eps, const char *repo,
                 const char *ref_object, struct oci_desc *out, size_t *served_by,
                 struct error **err)
{
  bool by_digest = strchr(ref_object, ':') != NULL;
  unsigned need = by_digest ? REGISTRY_PULL : (REGISTRY_PULL | REGISTRY_RESOLVE);
  cleanup_free char *what =
      xasprintf("resolve \"%s%s%s\"", repo, by_digest ? "@" : ":", ref_object);
  struct failures f = {BUF_INIT, 0, 0, ERR_UNAVAILABLE};
  struct hedge hg = {.r = r, .winner = SIZE_MAX, .mu = PTHREAD_MUTEX_INITIALIZER};
  pthread_condattr_t ca;

  memset(out, 0, sizeof(*out));
  if (by_digest && !fetchable_digest(ref_object))
    return error_setc(err, ERR_INVALID, "%s: unsupported digest", what);
  if (http_ready(err) < 0)
    return error_wrap(err, "%s", what);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&hg.cond, &ca);
  pthread_condattr_destroy(&ca);
  hg.at = xcalloc(n_eps ? n_eps : 1, sizeof(*hg.at));
  for (size_t i = 0; i < n_eps; i++) {
    if ((eps[i].caps & need) != need)
      continue;
    hg.at[hg.n++] = (struct attempt){.r = r,
                                     .ep = &eps[i],
                                     .repo = repo,
                                     .object = ref_object,
                                     .by_digest = by_digest,
                                     .mu = &hg.mu,
                                     .cond = &hg.cond};
  }
  hedge_run(&hg);
  hedge_finish(&hg, eps, out, served_by, &f);
  free(hg.at);
  pthread_cond_destroy(&hg.cond);
  pthread_mutex_destroy(&hg.mu);
  if (hg.winner != SIZE_MAX) {
    buf_release(&f.text);
    return 0;
  }
  return failures_error(&f, what, err);
}

int
registry_fetch(struct registry *r, const struct registry_ep *eps, size_t n_eps, const char *repo,
               const struct oci_desc *desc, int64_t offset, registry_sink sink, void *arg,
               size_t *served_by, struct error **err)
{
  enum oci_media kind = oci_media_kind(desc->media_type);
  bool manifest =
      kind == OCI_MEDIA_INDEX || kind == OCI_MEDIA_MANIFEST || kind == OCI_MEDIA_SCHEMA1;
  cleanup_free char *what = xasprintf("fetch \"%s@%s\"", repo, desc->digest ? desc->digest : "");
  cleanup_free char *accept = NULL;
  struct failures f = {BUF_INIT, 0, 0, ERR_UNAVAILABLE};
  bool has_pull = false;
  struct http_conn *h;

  if (!fetchable_digest(desc->digest))
    return error_setc(err, ERR_INVALID, "%s: unsupported digest", what);
  if (desc->size == 0)
    return error_setc(err, ERR_INVALID, "%s: descriptor reports content size of zero", what);
  if (offset < 0 || (desc->size > 0 && offset >= desc->size))
    return error_setc(err, ERR_OUT_OF_RANGE, "%s: offset %lld out of range", what,
                      (long long)offset);
  for (size_t i = 0; i < n_eps; i++)
    has_pull = has_pull || (eps[i].caps & REGISTRY_PULL) != 0;
  if (!has_pull)
    return error_setc(err, ERR_INVALID, "%s: no endpoint with the pull capability", what);
  if (http_ready(err) < 0)
    return error_wrap(err, "%s", what);
  h = http_conn_get(r->http);
  if (h == NULL)
    return error_setc(err, ERR_INTERNAL, "%s: curl_easy_init failed", what);
  accept = desc->media_type && desc->media_type[0] ? xasprintf("%s, */*", desc->media_type)
                                                   : xstrdup("*/*");
  /* Every endpoint, whatever its capabilities, as containerd does. */
  for (size_t i = 0; i < n_eps; i++) {
    cleanup_free char *url =
        registry_url(&eps[i], repo, manifest ? "manifests" : "blobs", desc->digest);
    struct http_req q = {.method = "GET",
                         .accept = accept,
                         .offset = offset,
                         .sink = sink,
                         .arg = arg,
                         .sink_limit = desc->size > 0 ? desc->size - offset : -1};
    struct error *e = NULL;
    int rc = perform_authed(r, h, &eps[i], repo, url, &q, &e);

    if (rc == 0 && (q.status < 200 || q.status > 299))
      rc = http_status_error(&q, &e);
    if (rc == 0) {
      http_req_release(&q);
      http_conn_put(r->http, h);
      buf_release(&f.text);
      if (served_by)
        *served_by = i;
      return 0;
    }
    if (q.delivered > 0) {
      /* The sink has part of it: the caller resumes from its new offset. */
      http_req_release(&q);
      http_conn_put(r->http, h);
      buf_release(&f.text);
      *err = e;
      return error_wrap(err, "%s: %s", what, eps[i].base);
    }
    http_req_release(&q);
    failures_add(&f, &eps[i], e);
  }
  http_conn_put(r->http, h);
  return failures_error(&f, what, err);
}

int
registry_fetch_range(struct registry *r, const struct registry_ep *ep, const char *repo,
                     const struct oci_desc *desc, int64_t from, int64_t to, registry_sink sink,
                     void *arg, const volatile int *cancel, struct error **err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *accept = NULL;
  struct http_req q = {0};
  struct http_conn *h;
  int rc;

  if (!fetchable_digest(desc->digest))
    return error_setc(err, ERR_INVALID, "unsupported digest");
  if (from < 0 || to <= from || to > desc->size)
    return error_setc(err, ERR_OUT_OF_RANGE, "range %lld-%lld out of range", (long long)from,
                      (long long)to);
  if (http_ready(err) < 0)
    return -1;
  h = http_conn_get(r->http);
  if (h == NULL)
    return error_setc(err, ERR_INTERNAL, "curl_easy_init failed");
  url = registry_url(ep, repo, "blobs", desc->digest);
  accept = desc->media_type && desc->media_type[0] ? xasprintf("%s, */*", desc->media_type)
                                                   : xstrdup("*/*");
  q = (struct http_req){.method = "GET",
                        .accept = accept,
                        .offset = from,
                        .range_end = to,
                        .sink = sink,
                        .arg = arg,
                        .sink_limit = to - from,
                        .cancel = cancel};
  rc = perform_authed(r, h, ep, repo, url, &q, err);
  if (rc == 0 && (q.status < 200 || q.status > 299))
    rc = http_status_error(&q, err);
  if (rc == 0 && q.delivered != to - from)
    rc = error_setc(err, ERR_DATA_LOSS, "short range: %lld of %lld bytes", (long long)q.delivered,
                    (long long)(to - from));
  http_req_release(&q);
  http_conn_put(r->http, h);
  return rc;
}

/* Whether curl's words say the TLS layer failed. */
static bool
tls_error(const char *msg)
{
  return strstr(msg, "SSL") || strstr(msg, "TLS") || strstr(msg, "certificate") ||
         strstr(msg, "handshake");
}

int
registry_probe(struct registry *r, const struct registry_ep *ep, struct registry_probe *out)
{
  cleanup_free char *url = NULL;
  struct http_req q = {.method = "GET", .body_max = HTTP_MAX_ERROR_BODY, .sink_limit = -1};
  struct error *e = NULL;
  int64_t t0 = now_ms();
  bool https = str_has_prefix(ep->base, "https://");
  struct http_conn *h;

  memset(out, 0, sizeof(*out));
  if (http_ready(&e) < 0 || (h = http_conn_get(r->http)) == NULL) {
    out->error = xstrdup(e ? e->msg : "curl_easy_init failed");
    out->tls = xstrdup("-");
    error_free(e);
    return -1;
  }
  if (ep->ns != NULL && ep->ns[0] != '\0') {
    cleanup_free char *ns = http_query_escape(ep->ns);
    url = xasprintf("%s/?ns=%s", ep->base, ns);
  } else {
    url = xasprintf("%s/", ep->base);
  }
  {
    struct http_endpoint hep = http_endpoint_of(ep);
    http_perform(r->http, h, &hep, url, NULL, &q, &e);
  }
  out->latency_ms = now_ms() - t0;
  out->status = q.status;
  if (q.status > 0)
    snprintf(out->http_version, sizeof(out->http_version), "%s", http_conn_version(h));
  if (!https)
    out->tls = xstrdup("plain http");
  else if (e != NULL && q.status == 0 && !tls_error(e->msg))
    out->tls = xstrdup("-"); /* no answer at all: TLS was not what failed */
  else if (e != NULL && q.status == 0)
    out->tls = xasprintf("failed: %s", e->msg);
  else
    out->tls = xstrdup(ep->skip_verify == 1 ? "not verified (skip_verify)" : "verified");
  if (e != NULL) {
    out->error = xstrdup(e->msg);
  } else if (q.status == 200 || q.status == 401) {
    out->alive = true;
  } else {
    struct error *se = NULL;
    http_status_error(&q, &se);
    out->error = xstrdup(se->msg);
    error_free(se);
  }
  error_free(e);
  http_req_release(&q);
  http_conn_put(r->http, h);
  return out->alive ? 0 : -1;
}

void
registry_probe_release(struct registry_probe *p)
{
  free(p->tls);
  free(p->error);
  memset(p, 0, sizeof(*p));
}
