#include "passthru.h"

#include "ctrargs.h"
#include "hosts.h"
#include "ref.h"

#include <errno.h>
#include <stdint.h>
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
passthru_pull_registry(unsigned lines, const struct strv *args)
{
  cleanup_ref struct ref r = {0};
  const char *word;

  if (!ctrargs_is_pull(args) || (word = ctrargs_first_ref(lines, args)) == NULL ||
      has_hosts_dir(args))
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

int
passthru_rewrite_names(unsigned lines, struct strv *args, const struct passthru_names *names,
                       struct error **err)
{
  cleanup_free struct ctrargs_ref *refs = NULL;
  int n;

  if (args->n == 0)
    return 0;
  refs = xcalloc(args->n + 1, sizeof(*refs));
  n = ctrargs_refs(lines, args, refs, err);
  if (n < 0)
    return -1;

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
      return 0;
    }
  }
  /* per name: one that exists as typed stays; the others are expanded */
  for (int i = 0; i < n; i++) {
    char **w = &args->v[refs[i].index];
    char *name =
        refs[i].existing ? names->existing(*w, NULL, names->data) : names->created(*w, names->data);
    free(*w);
    *w = name;
  }
  return 0;
}

#define VERSION_HEADER "ctrx-ctr-version 1"
#define VERSION_MAX 4096

/* "DEV INO SIZE MTIME_S MTIME_NS PATH": what identifies a binary. */
static char *
ctr_identity(const char *path, const struct stat *st)
{
  return xasprintf("%ju %ju %jd %jd %ld %s", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
                   (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec,
                   path);
}

char *
passthru_version_cached(const char *file, const char *path, const struct stat *st)
{
  cleanup_buf struct buf b = BUF_INIT;
  cleanup_free char *id = ctr_identity(path, st);
  char *p, *end;

  /* three lines: the header, the identity, the version */
  if (read_file(file, VERSION_MAX, &b) < 0 || !str_has_prefix(b.data, VERSION_HEADER "\n"))
    return NULL;
  p = b.data + strlen(VERSION_HEADER "\n");
  if (!str_has_prefix(p, id) || p[strlen(id)] != '\n')
    return NULL;
  p += strlen(id) + 1;
  end = strchr(p, '\n');
  if (end == NULL || end == p || end[1] != '\0')
    return NULL;
  return xstrndup(p, (size_t)(end - p));
}

int
passthru_version_save(const char *file, const char *path, const struct stat *st,
                      const char *version, struct error **err)
{
  cleanup_free char *id = ctr_identity(path, st);
  cleanup_free char *line = xstrndup(version, strcspn(version, "\n"));
  cleanup_free char *data = NULL;
  cleanup_free char *dir = xstrdup(file);
  char *slash = strrchr(dir, '/');

  if (strchr(path, '\n') != NULL || line[0] == '\0')
    return error_setc(err, ERR_INVALID, "nothing to cache for '%s'", path);
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    if (mkdir_p(dir, NULL, err) < 0)
      return -1;
  }
  data = xasprintf(VERSION_HEADER "\n%s\n%s\n", id, line);
  return write_file_atomic(file, data, strlen(data), 0644, NULL, err);
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
