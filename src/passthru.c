#include "passthru.h"

#include "ctrargs.h"
#include "hosts.h"
#include "ref.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
same_file(const struct stat *a, const char *path)
{
  struct stat b;
  return stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

static bool
is_executable(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int
passthru_find_ctr(const char *env, const char *configured, const char *path, char **out,
                  struct error **err)
{
  struct stat self;
  bool have_self = stat("/proc/self/exe", &self) == 0;
  const char *p;

  if (env && *env) {
    if (!is_executable(env))
      return error_setc(err, ERR_NOT_FOUND, "CTRX_CTR='%s' is not an executable file", env);
    if (have_self && same_file(&self, env))
      return error_setc(err, ERR_INVALID,
                        "CTRX_CTR='%s' is ctrx itself; point it at containerd's ctr", env);
    *out = xstrdup(env);
    return 0;
  }
  if (configured && *configured) {
    if (!is_executable(configured))
      return error_setc(err, ERR_NOT_FOUND, "ctr '%s' from the ctrx config is not executable",
                        configured);
    if (have_self && same_file(&self, configured))
      return error_setc(err, ERR_INVALID, "ctr '%s' from the ctrx config is ctrx itself",
                        configured);
    *out = xstrdup(configured);
    return 0;
  }
  p = path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    cleanup_free char *cand = xasprintf("%.*s/ctr", (int)n, n ? p : ".");
    if (is_executable(cand) && !(have_self && same_file(&self, cand))) {
      *out = steal_pointer(&cand);
      return 0;
    }
    p += n;
    if (*p == ':')
      p++;
  }
  return error_setc(err, ERR_NOT_FOUND,
                    "no ctr found on PATH to run this command; install containerd's ctr or set "
                    "CTRX_CTR to its path");
}

void
passthru_build_argv(const struct passthru_globals *g, const char *ctr, const struct strv *args,
                    struct strv *out)
{
  strv_push(out, ctr);
  strv_push(out, "--address");
  strv_push(out, g->address);
  strv_push(out, "--namespace");
  strv_push(out, g->namespace);
  if (g->timeout) {
    strv_push(out, "--timeout");
    strv_push(out, g->timeout);
  }
  if (g->connect_timeout) {
    strv_push(out, "--connect-timeout");
    strv_push(out, g->connect_timeout);
  }
  if (g->debug)
    strv_push(out, "--debug");
  for (size_t i = 0; i < args->n; i++)
    strv_push(out, args->v[i]);
}

static bool
has_hosts_dir(const struct strv *args)
{
  for (size_t i = 0; i < args->n; i++) {
    const char *a = args->v[i];
    /* ctr 1.6 moves flags from anywhere to the front, so look at every word. */
    if (str_has_prefix(a, "-hosts-dir") || str_has_prefix(a, "--hosts-dir"))
      return true;
  }
  return false;
}

char *
passthru_pull_registry(const struct strv *args)
{
  cleanup_ref struct ref r = {0};
  const char *word;

  if (!ctrargs_is_pull(args) || (word = ctrargs_first_ref(args)) == NULL || has_hosts_dir(args))
    return NULL;
  if (ref_parse_docker(word, &r, NULL) < 0 || r.domain == NULL || *r.domain == '\0')
    return NULL;
  return steal_pointer(&r.domain);
}

/* ctr pulls see the hosts directory ctrx would use: the chain directory that
 * holds the reference's registry. */
void
passthru_add_hosts_dir(struct strv *args, const char *registry, const struct strv *chain)
{
  cleanup_free char *host_dir = NULL;
  char *slash;

  hosts_find_dir(chain, registry, &host_dir);
  if (host_dir == NULL || (slash = strrchr(host_dir, '/')) == NULL)
    return;
  *slash = '\0';
  ctrargs_insert_flag(args, 2, "--hosts-dir", host_dir[0] ? host_dir : "/");
}

void
passthru_rewrite_names(struct strv *args, const struct passthru_names *names)
{
  cleanup_free struct ctrargs_ref *refs = NULL;
  size_t n;

  if (args->n == 0)
    return;
  refs = xcalloc(args->n + 1, sizeof(*refs));
  n = ctrargs_refs(args, refs);

  /* "push REMOTE" pushes the local image REMOTE: when that is a local
   * name, it stays the local image and its expansion is the remote one. */
  if (n == 1 && ctrargs_is_push(args)) {
    size_t at = refs[0].index;
    bool local = false;
    cleanup_free char *name = names->existing(args->v[at], &local, names->data);
    if (local) {
      char *remote = names->created(args->v[at], names->data);
      strv_push_owned(args, NULL);
      memmove(args->v + at + 1, args->v + at, (args->n - 1 - at) * sizeof(*args->v));
      free(args->v[at]); /* the typed word, now in both slots */
      args->v[at] = remote;
      args->v[at + 1] = steal_pointer(&name);
      return;
    }
  }
  /* per name: one that exists as typed stays; the others are expanded */
  for (size_t i = 0; i < n; i++) {
    char **w = &args->v[refs[i].index];
    char *name =
        refs[i].existing ? names->existing(*w, NULL, names->data) : names->created(*w, names->data);
    free(*w);
    *w = name;
  }
}

#define REDACTED "***"

/* A flag whose value is a secret by its name alone. */
static bool
secret_flag_name(const char *name, size_t len)
{
  static const char *const words[] = {"pass", "secret", "token", "cred", "auth"};
  cleanup_free char *n = xstrndup(name, len);

  for (size_t i = 0; i < ARRAY_SIZE(words); i++)
    if (strstr(n, words[i]) != NULL)
      return true;
  return false;
}

/* "scheme://user:pass@host/path" loses "user:pass"; NULL when there is
 * no userinfo. */
static char *
redact_userinfo(const char *word)
{
  const char *scheme = strstr(word, "://");
  const char *host, *at;
  size_t hostlen;

  if (scheme == NULL)
    return NULL;
  host = scheme + 3;
  hostlen = strcspn(host, "/?#");
  at = memrchr(host, '@', hostlen);
  if (at == NULL)
    return NULL;
  return xasprintf("%.*s" REDACTED "%s", (int)(host - word), word, at);
}

/* USER:PASSWORD -> USER:***, the user being no secret */
static char *
redact_user_value(const char *v)
{
  const char *colon = strchr(v, ':');

  return colon ? xasprintf("%.*s:" REDACTED, (int)(colon - v), v) : xstrdup(v);
}

void
passthru_redact_argv(const struct strv *in, struct strv *out)
{
  enum { NONE, USER, SECRET } next = NONE;

  for (size_t i = 0; i < in->n; i++) {
    const char *w = in->v[i];
    const char *name, *eq;
    size_t len;
    char *r;

    /* -u takes the next word whatever it is; a secret-named flag of unknown
     * kind takes it unless it looks like a flag */
    if (next == USER || (next == SECRET && w[0] != '-')) {
      strv_push_owned(out, next == USER ? redact_user_value(w) : xstrdup(REDACTED));
      next = NONE;
      continue;
    }
    next = NONE;
    if ((r = redact_userinfo(w)) != NULL) {
      strv_push_owned(out, r);
      continue;
    }
    if (w[0] != '-' || w[1] == '\0' || strcmp(w, "--") == 0) {
      strv_push(out, w);
      continue;
    }
    name = w[1] == '-' ? w + 2 : w + 1;
    eq = strchr(name, '=');
    len = eq ? (size_t)(eq - name) : strlen(name);
    if ((len == 1 && name[0] == 'u') || (len == 4 && strncmp(name, "user", 4) == 0)) {
      if (eq == NULL) {
        next = USER;
        strv_push(out, w);
      } else {
        cleanup_free char *v = redact_user_value(eq + 1);
        strv_push_owned(out, xasprintf("%.*s%s", (int)(eq + 1 - w), w, v));
      }
    } else if (secret_flag_name(name, len)) {
      if (eq == NULL) {
        next = SECRET;
        strv_push(out, w);
      } else {
        strv_push_owned(out, xasprintf("%.*s" REDACTED, (int)(eq + 1 - w), w));
      }
    } else {
      strv_push(out, w);
    }
  }
}
