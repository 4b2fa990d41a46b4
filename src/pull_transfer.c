/* A pull through containerd 2.x's Transfer service: the daemon fetches the
 * blobs itself (one copy fewer than streaming them through Content/Write) and
 * unpacks them, and leaves what ctr 2.x's default pull leaves. ctrx keeps the
 * choice of endpoint: the daemon is given only the one that resolved the
 * reference, healthiest first, in a hosts directory of its own, and pulls the
 * resolved digest. Any failure is the caller's cue to pull the rest itself. */
#include <errno.h>
#include <sys/stat.h>

#include "ctd.h"
#include "health.h"
#include "image.h"
#include "pull_internal.h"

static void
toml_str(struct buf *b, const char *s)
{
  buf_addstr(b, "\"");
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      buf_addstr(b, "\\");
    buf_add(b, s, 1);
  }
  buf_addstr(b, "\"");
}

char *
pull_transfer_hosts_toml(const struct registry_ep *ep)
{
  struct buf b = BUF_INIT;
  size_t n = strlen(ep->base);
  bool v2 = n >= 3 && strcmp(ep->base + n - 3, "/v2") == 0;
  cleanup_free char *server = xstrndup(ep->base, v2 ? n - 3 : n);

  buf_addstr(&b, "server = ");
  toml_str(&b, server);
  buf_addstr(&b, "\ncapabilities = [\"pull\", \"resolve\"]\n");
  if (!v2)
    buf_addstr(&b, "override_path = true\n");
  if (ep->skip_verify >= 0)
    buf_addf(&b, "skip_verify = %s\n", ep->skip_verify ? "true" : "false");
  if (ep->ca_files.n > 0) {
    buf_addstr(&b, "ca = [");
    for (size_t i = 0; i < ep->ca_files.n; i++) {
      buf_addstr(&b, i ? ", " : "");
      toml_str(&b, ep->ca_files.v[i]);
    }
    buf_addstr(&b, "]\n");
  }
  if (ep->client_cert) {
    buf_addstr(&b, "client = [[");
    toml_str(&b, ep->client_cert);
    if (ep->client_key) {
      buf_addstr(&b, ", ");
      toml_str(&b, ep->client_key);
    }
    buf_addstr(&b, "]]\n");
  }
  if (ep->headers.n > 0)
    buf_addstr(&b, "[header]\n");
  for (size_t i = 0; i < ep->headers.n; i++) {
    const char *h = ep->headers.v[i];
    const char *colon = strchr(h, ':');
    cleanup_free char *name = colon ? xstrndup(h, (size_t)(colon - h)) : xstrdup(h);
    const char *value = colon ? colon + 1 : "";
    while (*value == ' ')
      value++;
    buf_addstr(&b, "  ");
    toml_str(&b, name);
    buf_addstr(&b, " = [");
    toml_str(&b, value);
    buf_addstr(&b, "]\n");
  }
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

/* DIR/<domain>/hosts.toml for the endpoint: *dir is the new directory. */
static int
hosts_dir_write(const struct pull_transfer *t, char **dir, struct error **err)
{
  char tmpl[] = "/tmp/ctrx-transfer-XXXXXX";
  cleanup_free char *sub = NULL;
  cleanup_free char *file = NULL;
  cleanup_free char *toml = pull_transfer_hosts_toml(t->ep);

  if (mkdtemp(tmpl) == NULL)
    return error_set(err, errno, "create a hosts directory for the daemon");
  *dir = xstrdup(tmpl);
  sub = xasprintf("%s/%s", tmpl, t->domain);
  file = xasprintf("%s/hosts.toml", sub);
  if (mkdir(sub, 0700) < 0)
    return error_set(err, errno, "create '%s'", sub);
  return write_file_atomic(file, toml, strlen(toml), 0600, NULL, err);
}

static void
hosts_dir_remove(const char *dir, const char *domain)
{
  cleanup_free char *sub = xasprintf("%s/%s", dir, domain);
  cleanup_free char *file = xasprintf("%s/hosts.toml", sub);

  unlink(file);
  rmdir(sub);
  rmdir(dir);
}

/* The daemon's progress as pull's events: a blob in (or there already), and
 * bytes so far. */
static void
on_progress(const struct ctd_progress *pr, void *arg)
{
  const struct pull_transfer *t = arg;
  struct pull_event ev = {0};

  if (t->on_event == NULL || pr->digest == NULL || pr->event == NULL)
    return;
  ev.what = image_blob_kind(pr->media_type);
  ev.digest = pr->digest;
  if (strcmp(pr->event, "complete") == 0 || strcmp(pr->event, "already exists") == 0) {
    ev.kind = PULL_BLOB;
    ev.size = pr->size;
    ev.endpoint = t->ep->base;
    ev.existed = strcmp(pr->event, "already exists") == 0;
  } else if (pr->total > 0) {
    ev.kind = PULL_PROGRESS;
    ev.size = pr->progress;
    ev.total = pr->total;
  } else {
    return;
  }
  t->on_event(&ev, t->arg);
}

static int
transfer(const struct pull_transfer *t, struct error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *ref = xasprintf("%s/%s@%s", t->domain, t->repo, t->root->digest);
  cleanup_strv struct strv plat = STRV_INIT;
  struct ctd_transfer_pull tp = {0};
  int rv;

  for (const char *s = t->platform; *s;) {
    size_t n = strcspn(s, "/");
    strv_push_owned(&plat, xstrndup(s, n));
    s += n + (s[n] == '/');
  }
  if (plat.n < 2)
    return error_setc(err, ERR_INVALID, "platform '%s'", t->platform);
  if (hosts_dir_write(t, &dir, err) < 0) {
    if (dir)
      hosts_dir_remove(dir, t->domain);
    return -1;
  }
  tp = (struct ctd_transfer_pull){
      .reference = ref,
      .host_dir = dir,
      .name = t->name,
      .labels = t->labels,
      .os = plat.v[0],
      .arch = plat.v[1],
      .variant = plat.n > 2 ? plat.v[2] : NULL,
      .snapshotter = t->snapshotter,
      .stall_ms = t->stall_ms,
      .cancel = t->cancel,
      .on_progress = on_progress,
      .arg = (void *)t,
  };
  rv = ctd_transfer_pull(t->c, t->lease, &tp, err);
  hosts_dir_remove(dir, t->domain);
  return rv;
}

static void
note(const struct pull_transfer *t, const char *msg)
{
  struct pull_event ev = {PULL_NOTE, msg, NULL, 0, NULL, false, 0};

  if (t->on_event)
    t->on_event(&ev, t->arg);
}

bool
pull_by_daemon(const struct pull_transfer *t, struct pull_result *res)
{
  cleanup_buf struct buf cfg = BUF_INIT;
  cleanup_free char *msg = NULL;
  struct error *e = NULL;

  if (transfer(t, &e) == 0 &&
      image_read_config(t->c, t->root->media_type, t->root->digest, t->platform, t->snapshotter,
                        &cfg, &res->chain_id, &e) == 0) {
    health_ok(t->health, t->ep->base);
    res->name = xstrdup(t->name);
    res->digest = xstrdup(t->root->digest);
    return true;
  }
  if (error_is(e, ERR_CANCELLED)) {
    error_free(e);
    return false;
  }
  if (!error_is(e, ERR_UNIMPLEMENTED) && !error_is(e, ERR_UNAUTHENTICATED) &&
      !error_is(e, ERR_PERMISSION))
    health_failed(t->health, t->ep->base);
  msg =
      xasprintf("the daemon's pull from %s failed (%s): ctrx pulls the rest", t->ep->base, e->msg);
  note(t, msg);
  error_free(e);
  return false;
}
