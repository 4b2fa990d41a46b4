/* Docker's config.json: where credentials are, the auths entry, a helper's
 * answer, and writing the file back. */
#include "dockercfg.h"

#include <errno.h>
#include <sys/stat.h>

#include "digest.h"
#include "util.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static void
wipe_str(char **p)
{
  if (*p != NULL) {
    explicit_bzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

void
dockercfg_creds_release(struct dockercfg_creds *c)
{
  free(c->helper);
  free(c->server_url);
  wipe_str(&c->user);
  wipe_str(&c->secret);
  memset(c, 0, sizeof(*c));
}

static bool
is_hub(const char *host)
{
  return strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0 ||
         strcmp(host, "registry-1.docker.io") == 0 || strcmp(host, DOCKERCFG_HUB_KEY) == 0;
}

/* "https://host:port/v1/" -> "host:port", as Docker's ConvertToHostname. */
static char *
host_part(const char *key)
{
  const char *s = key;

  if (str_has_prefix(s, "http://"))
    s += 7;
  else if (str_has_prefix(s, "https://"))
    s += 8;
  return xstrndup(s, strcspn(s, "/"));
}

char *
dockercfg_key(const char *host)
{
  cleanup_free char *h = host_part(host);

  if (is_hub(h) || strcmp(host, DOCKERCFG_HUB_KEY) == 0)
    return xstrdup(DOCKERCFG_HUB_KEY);
  return steal_pointer(&h);
}

/* Every string in the tree, wiped in place: jansson frees without wiping. */
static void
wipe_json(json_t *j)
{
  const char *k;
  json_t *v;
  size_t i;

  if (json_is_string(j)) {
    explicit_bzero((char *)json_string_value(j), json_string_length(j));
  } else if (json_is_object(j)) {
    json_object_foreach(j, k, v)
    {
      wipe_json(v);
    }
  } else if (json_is_array(j)) {
    json_array_foreach(j, i, v)
    {
      wipe_json(v);
    }
  }
}

void
dockercfg_free(json_t *root)
{
  if (root != NULL)
    wipe_json(root);
  json_decref(root);
}

int
dockercfg_load(const char *path, json_t **root, struct error **err)
{
  cleanup_buf struct buf data = BUF_INIT;
  json_error_t jerr;
  json_t *j;

  *root = NULL;
  if (path == NULL || read_file(path, DOCKERCFG_MAX, &data) < 0) {
    if (path == NULL || errno == ENOENT || errno == ENOTDIR) {
      *root = json_object();
      return 0;
    }
    return error_set(err, errno, "read '%s'", path);
  }
  j = json_loadb(data.data, data.len, 0, &jerr);
  explicit_bzero(data.data, data.len);
  if (j == NULL)
    /* Not jansson's text: it quotes the token it stumbled on, a password perhaps. */
    return error_setc(err, ERR_INVALID, "parse '%s': invalid JSON at line %d, column %d", path,
                      jerr.line, jerr.column);
  if (!json_is_object(j)) {
    dockercfg_free(j);
    return error_setc(err, ERR_INVALID, "parse '%s': not a JSON object", path);
  }
  *root = j;
  return 0;
}

static const char *
str_member(json_t *o, const char *name)
{
  const char *s = json_string_value(json_object_get(o, name));
  return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The helper named for KEY (or HOST) by credHelpers, else by credsStore. */
static int
lookup_helper(json_t *root, const char *key, const char *host, struct dockercfg_creds *out)
{
  json_t *helpers = json_object_get(root, "credHelpers");
  const char *name = str_member(helpers, key);

  if (name == NULL)
    name = str_member(helpers, host);
  if (name == NULL) {
    name = str_member(root, "credsStore");
    out->from_store = name != NULL;
  }
  if (name == NULL)
    return 0;
  out->kind = DOCKERCFG_HELPER;
  out->helper = xstrdup(name);
  out->server_url = xstrdup(key);
  return 1;
}

/* The auths entry of KEY: exactly, else by host part. */
static json_t *
auths_entry(json_t *root, const char *key)
{
  json_t *auths = json_object_get(root, "auths"), *e, *v;
  bool hub = strcmp(key, DOCKERCFG_HUB_KEY) == 0;
  const char *k;

  if (!json_is_object(auths))
    return NULL;
  if ((e = json_object_get(auths, key)) != NULL)
    return e;
  json_object_foreach(auths, k, v)
  {
    cleanup_free char *h = host_part(k);
    if (strcmp(h, key) == 0 || (hub && is_hub(h)))
      return v;
  }
  return NULL;
}

int
dockercfg_lookup(json_t *root, const char *path, const char *host, struct dockercfg_creds *out,
                 struct error **err)
{
  cleanup_free char *key = dockercfg_key(host);
  cleanup_free char *h = host_part(host);
  json_t *entry;
  const char *auth, *user, *pass, *idt;

  memset(out, 0, sizeof(*out));
  if (lookup_helper(root, key, h, out))
    return 0;
  entry = auths_entry(root, key);
  if (!json_is_object(entry))
    return 0;
  auth = str_member(entry, "auth");
  user = str_member(entry, "username");
  pass = json_string_value(json_object_get(entry, "password"));
  idt = str_member(entry, "identitytoken");
  if (auth != NULL) {
    size_t len = 0;
    char *dec = digest_base64_decode(auth, &len), *colon;
    if (dec == NULL || memchr(dec, '\0', len) != NULL || (colon = strchr(dec, ':')) == NULL) {
      if (dec != NULL)
        explicit_bzero(dec, len);
      free(dec);
      return error_setc(err, ERR_INVALID, "parse '%s': invalid \"auth\" for %s", path, host);
    }
    out->user = xstrndup(dec, (size_t)(colon - dec));
    out->secret = xstrdup(colon + 1);
    explicit_bzero(dec, len);
    free(dec);
  } else if (user != NULL) {
    out->user = xstrdup(user);
    out->secret = xstrdup(pass ? pass : "");
  }
  if (idt != NULL) {
    /* Docker sends the identity token instead of a password when it has one. */
    wipe_str(&out->secret);
    out->secret = xstrdup(idt);
    out->identity_token = true;
  }
  if (out->secret != NULL)
    out->kind = DOCKERCFG_AUTHS;
  return 0;
}

int
dockercfg_lookup_file(const char *path, const char *host, struct dockercfg_creds *out,
                      struct error **err)
{
  json_t *root = NULL;
  int rv;

  memset(out, 0, sizeof(*out));
  if (dockercfg_load(path, &root, err) < 0)
    return -1;
  rv = dockercfg_lookup(root, path, host, out, err);
  dockercfg_free(root);
  return rv;
}

int
dockercfg_parse_helper_answer(const char *json, size_t len, struct dockercfg_creds *out,
                              struct error **err)
{
  json_t *j = json_loadb(json, len, 0, NULL);
  const char *user = json_string_value(json_object_get(j, "Username"));
  const char *secret = json_string_value(json_object_get(j, "Secret"));
  int rv = 0;

  if (!json_is_object(j) || secret == NULL) {
    rv = error_setc(err, ERR_INVALID, "its answer is not JSON with a \"Secret\"");
  } else if (user != NULL && strcmp(user, "<token>") == 0) {
    out->secret = xstrdup(secret);
    out->identity_token = true;
  } else {
    out->user = xstrdup(user ? user : "");
    out->secret = xstrdup(secret);
  }
  dockercfg_free(j);
  return rv;
}

bool
dockercfg_helper_not_found(const char *output)
{
  return strstr(output, "credentials not found in native keychain") != NULL;
}

void
dockercfg_set_auth(json_t *root, const char *key, const char *user, const char *secret)
{
  json_t *auths = json_object_get(root, "auths");
  json_t *entry = json_object();

  if (!json_is_object(auths)) {
    auths = json_object();
    json_object_set_new(root, "auths", auths);
  }
  if (user != NULL && secret != NULL) {
    cleanup_free char *up = xasprintf("%s:%s", user, secret);
    char *b = digest_base64_encode(up, strlen(up));
    explicit_bzero(up, strlen(up));
    json_object_set_new(entry, "auth", json_string(b ? b : ""));
    if (b != NULL)
      explicit_bzero(b, strlen(b));
    free(b);
  }
  json_object_set_new(auths, key, entry);
}

int
dockercfg_erase_auth(json_t *root, const char *key)
{
  json_t *auths = json_object_get(root, "auths");
  cleanup_free char *want = host_part(key);
  int removed = 0;
  void *tmp;
  const char *k;
  json_t *v;

  if (!json_is_object(auths))
    return 0;
  json_object_foreach_safe(auths, tmp, k, v)
  {
    cleanup_free char *h = host_part(k);
    if (strcmp(k, key) == 0 || strcmp(h, want) == 0) {
      wipe_json(v);
      json_object_del(auths, k);
      removed = 1;
    }
  }
  return removed;
}

const char *
dockercfg_store(json_t *root)
{
  return str_member(root, "credsStore");
}

/* PATH's directory, made 0700 when it is missing (its parents 0755). */
static int
make_dir(const char *path, struct error **err)
{
  cleanup_free char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');

  if (slash == NULL || slash == dir)
    return 0;
  *slash = '\0';
  if (mkdir(dir, 0700) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return error_set(err, errno, "create directory '%s'", dir);
  {
    char *up = strrchr(dir, '/');
    if (up != NULL && up != dir) {
      *up = '\0';
      if (mkdir_p(dir, NULL, err) < 0)
        return -1;
      *up = '/';
    }
  }
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return error_set(err, errno, "create directory '%s'", dir);
  return 0;
}

int
dockercfg_save(const char *path, json_t *root, struct error **err)
{
  struct stat st;
  bool exists = stat(path, &st) == 0;
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  int rv;

  if (text == NULL)
    return error_setc(err, ERR_INTERNAL, "encode '%s'", path);
  if (make_dir(path, err) < 0) {
    explicit_bzero(text, strlen(text));
    free(text);
    return -1;
  }
  {
    /* a copy with the final newline: a realloc could leave the text behind */
    size_t n = strlen(text);
    char *t = xasprintf("%s\n", text);
    explicit_bzero(text, n);
    free(text);
    text = t;
  }
  rv = write_file_atomic(path, text, strlen(text), 0600, exists ? &st : NULL, err);
  explicit_bzero(text, strlen(text));
  free(text);
  return rv;
}
