/* The registry client's transport: one HTTP exchange over libcurl (loaded on
 * first use), its deadlines, the redirects it follows itself, a pool of
 * connections to reuse and the CA bundles built for endpoints. No knowledge
 * of repositories, tokens or manifests: registry.c and auth.c build on it. */
#ifndef CTRX_HTTP_H
#define CTRX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

#define HTTP_MAX_ERROR_BODY (64u * 1024u)

/* Everything of one client that requests share. */
struct http_opts {
  const char *user_agent;        /* sent unless the endpoint's headers have one */
  bool debug;                    /* a log_debug line per request */
  long connect_timeout_ms;       /* when the endpoint sets none */
  int64_t first_byte_timeout_ms; /* no response this long after the request */
  int64_t stall_timeout_ms;      /* no body bytes this long mid-transfer */
  int64_t deadline_ms;           /* absolute (now_ms clock) end of everything, 0: none */
};
struct http;

/* Copies OPTS. -1 with *err when libcurl cannot be loaded is for the first
 * request to say, not here. */
struct http *http_new(const struct http_opts *opts);
void http_free(struct http *h);
/* libcurl is there (loaded on the first call). */
int http_ready(struct error **err);
/* Whether the environment already has GNUTLS_NO_IMPLICIT_INIT (main says,
 * before any thread): if not, libcurl loads with it set, and without it
 * afterwards (http.c says why). */
void http_gnutls_switch_set(bool set);

/* A connection (a curl easy handle) from the pool, or a new one; NULL when
 * curl cannot make one. Give it back with http_conn_put (NULL is fine). */
struct http_conn;
struct http_conn *http_conn_get(struct http *h);
void http_conn_put(struct http *h, struct http_conn *c);
/* The HTTP version of C's last answer: "1.0", "1.1", "2" or "3". */
const char *http_conn_version(struct http_conn *c);

/* What a request needs of its endpoint; borrowed, all may be empty. */
struct http_endpoint {
  const struct strv *headers;  /* "Name: value" lines from hosts.toml */
  int skip_verify;             /* 1: no certificate check */
  const struct strv *ca_files; /* PEM files added to the system roots */
  const char *client_cert;     /* PEM client certificate, NULL for none */
  const char *client_key;      /* its key; NULL: in client_cert */
  int64_t connect_timeout_ms;  /* 0: the client's */
};

/* Takes a 2xx body as it streams in; 0 to go on, -1 to abort (its error kept). */
typedef int (*http_sink)(const void *data, size_t len, void *arg, struct error **err);

/* One request and its answer. Zero it, set the request part, hand it to
 * http_perform (as often as wanted) and free it with http_req_release. */
struct http_req {
  /* request */
  const char *method; /* "GET", "HEAD", or "POST" with post_form */
  const char *accept;
  int64_t offset;             /* Range start, 0: none */
  int64_t range_end;          /* with it, Range bytes=offset-(range_end-1): a
                                 bounded range, which a 200 does not answer;
                                 0: to the end */
  size_t body_max;            /* bytes of a 2xx body kept in .body */
  http_sink sink;             /* or a 2xx body streamed here */
  void *arg;                  /* for sink */
  int64_t sink_limit;         /* most bytes the sink may get, -1: no limit */
  bool no_ep_headers;         /* a token request: only User-Agent */
  const char *basic_creds;    /* "user:pass" for a token request */
  const char *post_form;      /* POST: the x-www-form-urlencoded body (a secret) */
  const volatile int *cancel; /* set by another thread: give up */
  /* response */
  long status;
  char *content_type;
  char *digest;           /* Docker-Content-Digest */
  int64_t content_length; /* -1: not sent */
  int64_t range_start;    /* from Content-Range, -1: none */
  struct strv www_auth;
  struct buf body; /* a 2xx body without sink; the start of an error body */
  bool too_large;
  int64_t delivered; /* bytes the sink took */
  /* the transfer's own state */
  int64_t skip;       /* bytes still to drop before the sink (a 200 to a Range) */
  unsigned char held; /* the descriptor's last byte, kept back until the body ends */
  bool has_held;
  bool body_started;
  struct error *sink_err;
  const struct http *http;
  int64_t started_ms;
  int64_t progress_ms; /* when the last byte came */
  int64_t last_dlnow;
  bool answered; /* the status line arrived */
  char why[128]; /* why the progress callback stopped the transfer */
};
void http_req_release(struct http_req *q);

/* Request URL, following redirects ourselves: once the target is another
 * origin (blob storage, or anyone a hostile registry names), it gets no
 * AUTH (a whole Authorization value, may be NULL), no Basic credentials of a
 * token request and no header of EP; a POST is not followed there (its 3xx
 * is the answer).
 * -1 with *err on a transport failure or
 * a sink error; any HTTP status is 0 (q->status says which). */
int http_perform(struct http *h, struct http_conn *c, const struct http_endpoint *ep,
                 const char *url, const char *auth, struct http_req *q, struct error **err);

/* The error for Q's non-2xx status, with the registry's own message (the
 * first errors[].message of its JSON body, fit for a terminal) when there
 * is one. Returns -1. */
int http_status_error(const struct http_req *q, struct error **err);
/* That message alone, or NULL. */
char *http_message(const struct buf *body);

/* Percent-encode S for a URL query value: all but A-Z a-z 0-9 - . _ ~. */
char *http_query_escape(const char *s);
/* "scheme://host[:port]" of URL (userinfo dropped); host[:port] alone with
 * hostonly. */
char *http_url_origin(const char *url, bool hostonly);

#endif
