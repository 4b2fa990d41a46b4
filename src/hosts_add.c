/* `ctrx hosts add`: a [host."URL"] table appended to a registry's hosts.toml
 * (see hosts_add_mirror in hosts.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosts.h"
#include "hosts_internal.h"
#include "toml.h"

static void
toml_quote(struct buf *b, const char *s)
{
  buf_add(b, "\"", 1);
  for (const char *p = s; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\')
      buf_addf(b, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7F)
      buf_addf(b, "\\u%04x", ch);
    else
      buf_add(b, p, 1);
  }
  buf_add(b, "\"", 1);
}

/* `hosts add` writes what any URL parser reads the same way: RFC 3986's
 * characters only, so that the TOML key needs no escape that an older TOML
 * parser (containerd 1.6's) could misread, and no user information, which
 * containerd would drop. Messages do not echo the URL: it may hold a
 * password or terminal control characters. */
static int
check_mirror_url(const char *url, struct error **err)
{
  static const char allowed[] = "-._~:/?#[]@!$&'()*+,;=%";
  const char *sep = strstr(url, "://");
  const char *auth = sep ? sep + 3 : url;
  size_t al;

  for (const char *p = url; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    size_t at = (size_t)(p - url) + 1;
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');

    if (ch <= ' ' || ch >= 0x7F)
      return error_setc(err, ERR_INVALID,
                        "mirror URL: invalid byte 0x%02x at position %zu (percent-encode it)", ch,
                        at);
    if (!alnum && strchr(allowed, ch) == NULL)
      return error_setc(err, ERR_INVALID,
                        "mirror URL: invalid character '%c' at position %zu (percent-encode it)",
                        ch, at);
    if (ch == '%' && !(isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])))
      return error_setc(err, ERR_INVALID, "mirror URL: invalid %%-escape at position %zu", at);
  }
  al = strcspn(auth, "/?#");
  if (memchr(auth, '@', al) != NULL)
    return error_setc(err, ERR_INVALID,
                      "mirror URL: user information (user:password@) is ignored by containerd; "
                      "give credentials in the Docker config instead");
  return 0;
}

/* The part of hosts_add_mirror done under the registry directory's lock:
 * read the file as it is now, append table, check, replace. */
static int
add_locked(const char *registry, const char *dir, const char *file, const char *url,
           const char *want_url, const char *table, struct error **err)
{
  cleanup_buf struct buf text = BUF_INIT;
  cleanup_free char *target = NULL;
  struct hosts_list have = {NULL, 0};
  struct hosts_list check = {NULL, 0};
  struct stat st, lst;
  bool exists = true;
  cleanup_error struct error *e = NULL;

  /* a symlinked hosts.toml is written through: the link stays a link */
  if (lstat(file, &lst) == 0 && S_ISLNK(lst.st_mode)) {
    target = realpath(file, NULL);
    if (target == NULL)
      return error_set(err, errno, "resolve symbolic link '%s'", file);
  } else {
    target = xstrdup(file);
  }
  if (toml_read_file(target, HOSTS_TOML_MAX_BYTES, &text, &st, &e) < 0) {
    if (e->sys_errno != ENOENT) {
      *err = steal_pointer(&e);
      return -1;
    }
    exists = false;
    buf_release(&text);
  }
  if (text.len > 0) {
    if (hosts_parse(registry, dir, file, text.data, text.len, &have, err) < 0)
      return -1;
    for (size_t i = 0; i < have.n; i++) {
      cleanup_free char *u = hosts_endpoint_url(&have.v[i]);
      if (!have.v[i].upstream && strcmp(u, want_url) == 0) {
        hosts_list_release(&have);
        return error_setc(err, ERR_ALREADY_EXISTS, "\"%s\" is already a mirror of %s in %s", url,
                          registry, file);
      }
    }
    hosts_list_release(&have);
    if (text.data[text.len - 1] != '\n')
      buf_add(&text, "\n", 1);
    buf_add(&text, "\n", 1);
  } else {
    cleanup_free char *up = hosts_upstream_url(registry);
    buf_addstr(&text, "server = ");
    toml_quote(&text, up);
    buf_addstr(&text, "\n\n");
  }
  buf_addstr(&text, table);
  if (hosts_parse(registry, dir, file, text.data, text.len, &check, err) < 0)
    return error_wrap(err, "the new file would not parse");
  hosts_list_release(&check);
  return write_file_atomic(target, text.data, text.len, 0644, exists ? &st : NULL, err);
}

/* The [host."URL"] table hosts add appends. */
static int
mirror_table(const struct hosts_mirror_opts *o, struct buf *table, struct error **err)
{
  unsigned caps = o->caps ? o->caps : HOSTS_CAP_PULL | HOSTS_CAP_RESOLVE;
  bool first = true;

  buf_addstr(table, "[host.");
  toml_quote(table, o->url);
  buf_addstr(table, "]\n  capabilities = [");
  for (size_t i = 0; i < HOSTS_N_CAPS; i++) {
    if (!(caps & (1u << i)))
      continue;
    buf_addf(table, "%s\"%s\"", first ? "" : ", ", hosts_cap_names[i]);
    first = false;
  }
  buf_addstr(table, "]\n");
  if (o->skip_verify)
    buf_addstr(table, "  skip_verify = true\n");
  if (o->ca) {
    cleanup_free char *ca = NULL;
    if (o->ca[0] == '/') {
      ca = xstrdup(o->ca);
    } else {
      cleanup_free char *cwd = getcwd(NULL, 0);
      if (cwd == NULL)
        return error_set(err, errno, "getcwd");
      ca = hosts_path_join(cwd, o->ca);
    }
    buf_addstr(table, "  ca = ");
    toml_quote(table, ca);
    buf_add(table, "\n", 1);
  }
  if (o->override_path)
    buf_addstr(table, "  override_path = true\n");
  return 0;
}

/* root's directory for registry: an existing one in either spelling
 * ("host_port_" or "host:port"), else root/registry. */
static char *
registry_dir(const char *root, const char *registry)
{
  const char *port = hosts_host_port(registry);

  if (port) {
    cleanup_free char *ported = xasprintf("%.*s_%s_", (int)(port - 1 - registry), registry, port);
    char *p = hosts_path_join(root, ported);
    if (hosts_is_dir(p))
      return p;
    free(p);
  }
  return hosts_path_join(root, registry);
}

/* The file as it would be written for a new registry must parse (a
 * registry name can make a `server` URL that does not). */
static int
check_fresh(const char *registry, const char *dir, const char *file, const char *table,
            struct error **err)
{
  cleanup_buf struct buf fresh = BUF_INIT;
  cleanup_free char *up = hosts_upstream_url(registry);
  struct hosts_list check = {NULL, 0};

  buf_addstr(&fresh, "server = ");
  toml_quote(&fresh, up);
  buf_addstr(&fresh, "\n\n");
  buf_addstr(&fresh, table);
  if (hosts_parse(registry, dir, file, fresh.data, fresh.len, &check, err) < 0)
    return error_wrap(err, "the new file would not parse");
  hosts_list_release(&check);
  return 0;
}

/* Writers of one registry take turns, each re-reading the file the one
 * before wrote: a read-modify-write without this loses mirrors. */
static int
lock_dir(const char *dir, int *dfd, struct error **err)
{
  int r;

  *dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*dfd < 0)
    return error_set(err, errno, "open '%s'", dir);
  while ((r = flock(*dfd, LOCK_EX)) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return error_set(err, errno, "lock '%s'", dir);
  return 0;
}

int
hosts_add_mirror(const char *root, const char *registry, const struct hosts_mirror_opts *o,
                 char **out_file, struct error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *file = NULL;
  cleanup_free char *want_url = NULL;
  cleanup_free char *created = NULL;
  cleanup_buf struct buf table = BUF_INIT;
  cleanup_close int dfd = -1;

  /* everything is checked before anything is created */
  if (hosts_check_registry(registry, err) < 0 || check_mirror_url(o->url, err) < 0 ||
      hosts_mirror_url(registry, o->url, o->override_path, &want_url, err) < 0 ||
      mirror_table(o, &table, err) < 0)
    return -1;
  dir = registry_dir(root, registry);
  file = hosts_path_join(dir, "hosts.toml");
  if (check_fresh(registry, dir, file, table.data, err) < 0)
    return -1;

  if (mkdir_p(dir, &created, err) < 0)
    return -1;
  if (lock_dir(dir, &dfd, err) < 0 ||
      add_locked(registry, dir, file, o->url, want_url, table.data, err) < 0) {
    rmdir_created(dir, created);
    return -1; /* closing dfd releases the lock */
  }
  *out_file = steal_pointer(&file);
  return 0;
}
