/* hosts.toml entries as registry endpoints (see endpoints.h). */
#include "endpoints.h"

#include <stdlib.h>
#include <string.h>

static unsigned
caps_of(unsigned hosts_caps)
{
  return (hosts_caps & HOSTS_CAP_PULL ? REGISTRY_PULL : 0) |
         (hosts_caps & HOSTS_CAP_RESOLVE ? REGISTRY_RESOLVE : 0) |
         (hosts_caps & HOSTS_CAP_PUSH ? REGISTRY_PUSH : 0);
}

/* --plain-http is ctr's for the registry itself: a mirror, or a `server`
 * that a hosts.toml wrote with its scheme, keeps its scheme. */
static const char *
scheme_of(const struct hosts_config *hc, const struct hosts_endpoint *h,
          const struct endpoints_opts *o)
{
  if (o->plain_http && h->upstream && hc->source != HOSTS_SOURCE_TOML)
    return "http";
  return h->scheme;
}

static void
ep_from_hosts(const struct hosts_config *hc, const struct hosts_endpoint *h,
              const struct endpoints_opts *o, struct registry_ep *e)
{
  memset(e, 0, sizeof(*e));
  e->base = xasprintf("%s://%s%s", scheme_of(hc, h, o), h->host, h->path);
  e->ns = h->ns ? xstrdup(hc->registry) : NULL;
  e->caps = caps_of(h->caps);
  e->skip_verify = o->skip_verify ? 1 : h->skip_verify;
  e->connect_timeout_ms = h->dial_timeout_ms > 0 ? h->dial_timeout_ms : 0;
  for (size_t i = 0; i < h->ca.n; i++)
    strv_push(&e->ca_files, h->ca.v[i]);
  if (h->n_clients > 0) {
    e->client_cert = xstrdup(h->clients[0].cert);
    e->client_key = h->clients[0].key && *h->clients[0].key ? xstrdup(h->clients[0].key) : NULL;
  }
  for (size_t i = 0; i < h->n_headers; i++)
    for (size_t k = 0; k < h->headers[i].values.n; k++)
      strv_push_owned(&e->headers,
                      xasprintf("%s: %s", h->headers[i].name, h->headers[i].values.v[k]));
}

struct registry_ep *
endpoints_from_hosts(const struct hosts_config *hc, const struct endpoints_opts *o, size_t *n)
{
  static const struct endpoints_opts none = {0};
  size_t count = hc->endpoints.n;
  struct registry_ep *eps = xcalloc(count ? count : 1, sizeof(*eps));

  for (size_t i = 0; i < count; i++)
    ep_from_hosts(hc, &hc->endpoints.v[i], o ? o : &none, &eps[i]);
  *n = count;
  return eps;
}

void
endpoints_free(struct registry_ep *eps, size_t n)
{
  for (size_t i = 0; eps && i < n; i++)
    registry_ep_release(&eps[i]);
  free(eps);
}
