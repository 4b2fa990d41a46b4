/* The registry client against the test bed's docker-registry: resolve tags and
 * digests to the fixtures' descriptors, endpoint fail-over, blob and manifest
 * fetches (whole and resumed), and, against a small fake registry started in
 * the test, Bearer tokens from a realm with Basic credentials, Basic auth,
 * redirects to another host without the Authorization header, and the
 * --debug log with its secrets redacted. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "e2e.h"
#include "log.h"
#include "registry.h"
#include "util.h"

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"

static char *
fixture_digest(const char *repo, const char *tag)
{
  cleanup_free char *name = xstrdup(repo);
  cleanup_free char *path = NULL;
  struct buf b = BUF_INIT;

  for (char *p = name; *p; p++)
    if (*p == '/')
      *p = '_';
  path = xasprintf("%s/%s_%s.digest", e2e_env("CTRX_TEST_FIXTURES"), name, tag);
  ck_assert_msg(read_file(path, 1024, &b) == 0, "read %s", path);
  while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
    b.data[--b.len] = '\0';
  return buf_steal(&b);
}

static void
fixture_blob(const char *digest, struct buf *out)
{
  cleanup_free char *path =
      xasprintf("%s/blobs/%s", e2e_env("CTRX_TEST_FIXTURES"), digest + strlen("sha256:"));
  ck_assert_msg(read_file(path, 256u << 20, out) == 0, "read %s", path);
}

static struct registry_ep
ep_for(const char *base)
{
  struct registry_ep ep = {.caps = REGISTRY_PULL | REGISTRY_RESOLVE, .skip_verify = -1};

  ep.base = xstrdup(base);
  return ep;
}

static struct registry_ep
ep_testbed(void)
{
  cleanup_free char *base = xasprintf("http://%s/v2", e2e_env("CTRX_TEST_REGISTRY"));
  return ep_for(base);
}

/* Docker's config.json for new_client, as cli.c resolves it; NULL: none. */
static const char *client_docker_config;

static struct registry *
new_client(const char *user, bool debug)
{
  struct registry_opts o = {.user = user,
                            .docker_config = client_docker_config,
                            .debug = debug,
                            .connect_timeout_ms = 3000};
  struct registry *r = NULL;
  struct error *err = NULL;

  ck_assert_int_eq(registry_new(&o, &r, &err), 0);
  return r;
}

static int
to_buf(const void *data, size_t len, void *arg, struct error **err)
{
  buf_add(arg, data, len);
  return 0;
}

static char *
sha256_digest(const void *data, size_t len)
{
  unsigned char md[32];
  unsigned int n = 0;
  struct buf b = BUF_INIT;

  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  buf_addstr(&b, "sha256:");
  for (unsigned i = 0; i < n; i++)
    buf_addf(&b, "%02x", md[i]);
  return buf_steal(&b);
}

/* Resolve REPO:TAG, then fetch the manifest it names by digest: its bytes
 * must hash to the fixture's digest and have the resolved size. */
static void
expect_resolve(const char *repo, const char *tag, const char *media_type)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep ep = ep_testbed();
  struct oci_desc d = {0};
  struct error *err = NULL;
  cleanup_free char *want = fixture_digest(repo, tag);
  cleanup_free char *got = NULL;
  cleanup_buf struct buf manifest = BUF_INIT;
  size_t by = 99;

  ck_assert_msg(registry_resolve(r, &ep, 1, repo, tag, &d, &by, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(d.digest, want);
  ck_assert_str_eq(d.media_type, media_type);
  ck_assert_uint_eq(by, 0);
  buf_addstr(&manifest, "");
  ck_assert_msg(registry_fetch(r, &ep, 1, repo, &d, 0, to_buf, &manifest, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  got = sha256_digest(manifest.data, manifest.len);
  ck_assert_str_eq(got, want);
  ck_assert_int_eq(d.size, (int64_t)manifest.len);
  oci_desc_release(&d);
  registry_ep_release(&ep);
  registry_free(r);
}

START_TEST(resolve_oci_manifest)
{
  expect_resolve("library/busybox", "latest", OCI_MANIFEST);
  expect_resolve("test/busybox", "oci", OCI_MANIFEST);
}
END_TEST

START_TEST(resolve_docker_manifest)
{
  expect_resolve("test/busybox", "docker", DOCKER_MANIFEST);
}
END_TEST

START_TEST(resolve_indexes)
{
  expect_resolve("test/multi", "oci", OCI_INDEX);
  expect_resolve("test/multi", "docker", DOCKER_LIST);
  expect_resolve("test/layers", "v1", OCI_MANIFEST);
}
END_TEST

START_TEST(resolve_by_digest)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep ep = ep_testbed();
  struct oci_desc d = {0};
  struct error *err = NULL;
  cleanup_free char *want = fixture_digest("test/multi", "oci");

  ck_assert_msg(registry_resolve(r, &ep, 1, "test/multi", want, &d, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(d.digest, want);
  ck_assert_str_eq(d.media_type, OCI_INDEX);
  oci_desc_release(&d);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

START_TEST(resolve_missing_tag)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep ep = ep_testbed();
  struct oci_desc d = {0};
  struct error *err = NULL;

  ck_assert_int_eq(registry_resolve(r, &ep, 1, "library/busybox", "nope", &d, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_NOT_FOUND);
  ck_assert_str_eq(err->msg, "resolve \"library/busybox:nope\": not found");
  ck_assert_ptr_null(d.digest);
  error_free(err);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

START_TEST(resolve_fails_over)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep eps[3] = {ep_for("http://127.0.0.1:1/v2"), ep_testbed(), ep_testbed()};
  struct oci_desc d = {0};
  struct error *err = NULL;
  cleanup_free char *want = fixture_digest("library/busybox", "latest");
  cleanup_free char *good = xasprintf("http://%s/v2: not found", e2e_env("CTRX_TEST_REGISTRY"));
  size_t by = 99;

  /* A mirror with ?ns= set: the registry ignores the parameter. */
  eps[1].ns = xstrdup("docker.io");
  ck_assert_msg(registry_resolve(r, eps, 2, "library/busybox", "latest", &d, &by, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_uint_eq(by, 1);
  ck_assert_str_eq(d.digest, want);
  oci_desc_release(&d);

  /* An endpoint without the resolve capability is not asked for a tag. */
  eps[1].caps = REGISTRY_PULL;
  ck_assert_int_eq(registry_resolve(r, eps, 3, "library/busybox", "latest", &d, &by, &err), 0);
  ck_assert_uint_eq(by, 2);
  oci_desc_release(&d);

  /* Every endpoint failed: each with its own failure, in order. */
  ck_assert_int_eq(registry_resolve(r, eps, 3, "library/busybox", "nope", &d, &by, &err), -1);
  ck_assert_int_ne(err->code, ERR_NOT_FOUND);
  ck_assert_msg(
      str_has_prefix(err->msg, "resolve \"library/busybox:nope\": http://127.0.0.1:1/v2: "), "%s",
      err->msg);
  ck_assert_msg(str_has_suffix(err->msg, good), "%s", err->msg);
  ck_assert_msg(strstr(err->msg, "; http://") != NULL, "%s", err->msg);
  error_free(err);
  for (size_t i = 0; i < ARRAY_SIZE(eps); i++)
    registry_ep_release(&eps[i]);
  registry_free(r);
}
END_TEST

/* The fixture manifest of library/busybox:latest, parsed. */
static json_t *
busybox_manifest(char **digest)
{
  cleanup_buf struct buf m = BUF_INIT;
  json_t *j;

  *digest = fixture_digest("library/busybox", "latest");
  fixture_blob(*digest, &m);
  j = json_loadb(m.data, m.len, 0, NULL);
  ck_assert_ptr_nonnull(j);
  return j;
}

static void
desc_of(json_t *d, struct oci_desc *out)
{
  out->media_type = xstrdup(json_string_value(json_object_get(d, "mediaType")));
  out->digest = xstrdup(json_string_value(json_object_get(d, "digest")));
  out->size = json_integer_value(json_object_get(d, "size"));
}

static void
expect_fetch(struct registry *r, const struct registry_ep *eps, size_t n, const char *repo,
             const struct oci_desc *d, int64_t offset, size_t want_by)
{
  cleanup_buf struct buf got = BUF_INIT, want = BUF_INIT;
  struct error *err = NULL;
  size_t by = 99;

  fixture_blob(d->digest, &want);
  buf_addstr(&got, "");
  ck_assert_msg(registry_fetch(r, eps, n, repo, d, offset, to_buf, &got, &by, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_uint_eq(by, want_by);
  ck_assert_uint_eq(got.len, want.len - (size_t)offset);
  ck_assert(memcmp(got.data, want.data + offset, got.len) == 0);
}

START_TEST(fetch_blobs_and_manifest)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep eps[2] = {ep_for("http://127.0.0.1:1/v2"), ep_testbed()};
  struct oci_desc config = {0}, layer = {0}, manifest = {0};
  cleanup_free char *mdigest = NULL;
  json_t *m = busybox_manifest(&mdigest);

  desc_of(json_object_get(m, "config"), &config);
  desc_of(json_array_get(json_object_get(m, "layers"), 0), &layer);
  manifest.media_type = xstrdup(OCI_MANIFEST);
  manifest.digest = xstrdup(mdigest);
  json_decref(m);
  {
    cleanup_buf struct buf mb = BUF_INIT;
    fixture_blob(mdigest, &mb);
    manifest.size = (int64_t)mb.len;
  }

  expect_fetch(r, &eps[1], 1, "library/busybox", &config, 0, 0);
  expect_fetch(r, &eps[1], 1, "library/busybox", &layer, 0, 0);
  /* Resumed: the registry answers the Range with 206. */
  expect_fetch(r, &eps[1], 1, "library/busybox", &layer, 1000, 0);
  expect_fetch(r, &eps[1], 1, "library/busybox", &layer, layer.size - 1, 0);
  expect_fetch(r, &eps[1], 1, "library/busybox", &manifest, 0, 0);
  expect_fetch(r, &eps[1], 1, "library/busybox", &manifest, 7, 0);
  /* Fetches try every endpoint, whatever its capabilities. */
  eps[1].caps = 0;
  expect_fetch(r, eps, 2, "library/busybox", &layer, 0, 1);

  oci_desc_release(&config);
  oci_desc_release(&layer);
  oci_desc_release(&manifest);
  for (size_t i = 0; i < ARRAY_SIZE(eps); i++)
    registry_ep_release(&eps[i]);
  registry_free(r);
}
END_TEST

static int
refuse(const void *data, size_t len, void *arg, struct error **err)
{
  (*(size_t *)arg) += len;
  return error_setc(err, ERR_ABORTED, "sink says no");
}

START_TEST(fetch_missing_and_sink_errors)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep ep = ep_testbed();
  struct oci_desc missing = {
      (char *)"application/octet-stream",
      (char *)"sha256:0000000000000000000000000000000000000000000000000000000000000000", 10};
  struct oci_desc layer = {0};
  cleanup_free char *mdigest = NULL;
  json_t *m = busybox_manifest(&mdigest);
  struct error *err = NULL;
  size_t seen = 0;

  desc_of(json_array_get(json_object_get(m, "layers"), 0), &layer);
  json_decref(m);
  ck_assert_int_eq(
      registry_fetch(r, &ep, 1, "library/busybox", &missing, 0, to_buf, NULL, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_NOT_FOUND);
  error_free(err);
  err = NULL;
  /* A sink error after bytes arrived ends the fetch with that error. */
  ck_assert_int_eq(
      registry_fetch(r, &ep, 1, "library/busybox", &layer, 0, refuse, &seen, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_ABORTED);
  ck_assert_msg(strstr(err->msg, "sink says no") != NULL, "%s", err->msg);
  ck_assert_uint_gt(seen, 0);
  error_free(err);
  oci_desc_release(&layer);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

/* ---- a fake registry: Bearer realm, Basic, and blob storage on another host ---- */

#define FAKE_USER "bob"
#define FAKE_PASS "s3cret-pw"
#define FAKE_BASIC "Ym9iOnMzY3JldC1wdw==" /* base64("bob:s3cret-pw") */
#define FAKE_TOKEN "tok-SECRET-4711"
static const char fake_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MANIFEST "\",\"config\":{},\"layers\":[]}";
static const char fake_blob[] = "0123456789abcdefghijklmnopqrstuvwxyz";

static struct fake {
  int fd;
  int port;
  pthread_t thread;
  pthread_mutex_t lock;
  int token_requests; /* GET /token */
  int token_posts;    /* POST /token, the OAuth2 form: answered 404, as realms without it do */
  int storage_requests;
  bool storage_saw_auth;
  char token_query[512];
  char manifest_digest[80];
  char blob_digest[80];
} fake;

static void
sha256_of(const char *s, char *out, size_t n)
{
  cleanup_free char *d = sha256_digest(s, strlen(s));
  snprintf(out, n, "%s", d);
}

static void
reply(int c, bool head, const char *status, const char *headers, const char *body)
{
  cleanup_free char *r =
      xasprintf("HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
                headers, strlen(body), head ? "" : body);
  write_all(c, r, strlen(r));
}

/* The value of header NAME in REQ, or NULL. */
static char *
header_of(const char *req, const char *name)
{
  size_t n = strlen(name);

  for (const char *p = strstr(req, "\r\n"); p != NULL && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ')
        v++;
      return xstrndup(v, strcspn(v, "\r"));
    }
  }
  return NULL;
}

static void
serve(int c)
{
  char req[8192];
  size_t len = 0;
  char method[16] = "", path[1024] = "";
  cleanup_free char *auth = NULL;
  cleanup_free char *challenge = NULL, *hdrs = NULL;
  bool head;

  while (len < sizeof(req) - 1) {
    ssize_t r = read(c, req + len, sizeof(req) - 1 - len);
    if (r <= 0)
      return;
    len += (size_t)r;
    req[len] = '\0';
    if (strstr(req, "\r\n\r\n") != NULL)
      break;
  }
  if (sscanf(req, "%15s %1023s", method, path) != 2)
    return;
  head = strcmp(method, "HEAD") == 0;
  auth = header_of(req, "Authorization");
  if (!str_has_prefix(path, "/token"))
    path[strcspn(path, "?")] = '\0';

  if (str_has_prefix(path, "/token") && strcmp(method, "POST") == 0) {
    pthread_mutex_lock(&fake.lock);
    fake.token_posts++;
    pthread_mutex_unlock(&fake.lock);
    reply(c, head, "404 Not Found", "", "");
    return;
  }
  if (str_has_prefix(path, "/token")) {
    pthread_mutex_lock(&fake.lock);
    fake.token_requests++;
    snprintf(fake.token_query, sizeof(fake.token_query), "%s", path);
    pthread_mutex_unlock(&fake.lock);
    if (str_eq(auth, "Basic " FAKE_BASIC))
      reply(c, head, "200 OK", "Content-Type: application/json\r\n",
            "{\"token\":\"" FAKE_TOKEN "\",\"expires_in\":300}");
    else
      reply(c, head, "401 Unauthorized", "",
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}");
    return;
  }
  if (str_has_prefix(path, "/storage/")) {
    pthread_mutex_lock(&fake.lock);
    fake.storage_requests++;
    fake.storage_saw_auth = fake.storage_saw_auth || auth != NULL;
    pthread_mutex_unlock(&fake.lock);
    /* Ignores Range: the client skips the bytes itself. */
    reply(c, head, "200 OK", "Content-Type: application/octet-stream\r\n", fake_blob);
    return;
  }
  if (str_has_prefix(path, "/v2/basic/")) {
    if (!str_eq(auth, "Basic " FAKE_BASIC)) {
      reply(c, head, "401 Unauthorized", "WWW-Authenticate: Basic realm=\"fake\"\r\n", "");
      return;
    }
    /* No Docker-Content-Digest: the client must GET and hash. */
    reply(c, head, "200 OK", "Content-Type: " OCI_MANIFEST "\r\n", fake_manifest);
    return;
  }
  challenge = xasprintf("WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                        "service=\"fake\",scope=\"repository:auth/img:pull\"\r\n",
                        fake.port);
  if (!str_eq(auth, "Bearer " FAKE_TOKEN)) {
    reply(c, head, "401 Unauthorized", challenge,
          "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
    return;
  }
  if (strcmp(path, "/v2/auth/img/manifests/latest") == 0) {
    hdrs = xasprintf("Content-Type: %s\r\nDocker-Content-Digest: %s\r\n", OCI_MANIFEST,
                     fake.manifest_digest);
    reply(c, head, "200 OK", hdrs, fake_manifest);
  } else if (str_has_prefix(path, "/v2/auth/img/blobs/")) {
    /* To "another host": the same server, by name instead of address. */
    hdrs = xasprintf("Location: http://localhost:%d/storage/blob\r\n", fake.port);
    reply(c, head, "307 Temporary Redirect", hdrs, "");
  } else {
    reply(c, head, "404 Not Found", "", "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}");
  }
}

static void *
fake_main(void *arg)
{
  for (;;) {
    int c = accept4(fake.fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return NULL;
    }
    serve(c);
    close(c);
  }
}

static void
fake_start(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t alen = sizeof(a);

  memset(&fake, 0, sizeof(fake));
  pthread_mutex_init(&fake.lock, NULL);
  sha256_of(fake_manifest, fake.manifest_digest, sizeof(fake.manifest_digest));
  sha256_of(fake_blob, fake.blob_digest, sizeof(fake.blob_digest));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fake.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fake.fd, 0);
  ck_assert_int_eq(bind(fake.fd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(listen(fake.fd, 16), 0);
  ck_assert_int_eq(getsockname(fake.fd, (struct sockaddr *)&a, &alen), 0);
  fake.port = ntohs(a.sin_port);
  ck_assert_int_eq(pthread_create(&fake.thread, NULL, fake_main, NULL), 0);
}

static void
fake_stop(void)
{
  shutdown(fake.fd, SHUT_RDWR);
  pthread_join(fake.thread, NULL);
  close(fake.fd);
}

static struct registry_ep
ep_fake(void)
{
  cleanup_free char *base = xasprintf("http://127.0.0.1:%d/v2", fake.port);
  return ep_for(base);
}

START_TEST(bearer_token_with_credentials)
{
  struct registry *r = new_client(FAKE_USER ":" FAKE_PASS, false);
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {0};
  struct error *err = NULL;

  ck_assert_msg(registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(d.digest, fake.manifest_digest);
  ck_assert_str_eq(d.media_type, OCI_MANIFEST);
  ck_assert_int_eq(d.size, (int64_t)strlen(fake_manifest));
  ck_assert_int_eq(fake.token_requests, 1);
  /* the OAuth2 POST came first, and its 404 sent the request to GET */
  ck_assert_int_eq(fake.token_posts, 1);
  ck_assert_str_eq(fake.token_query, "/token?scope=repository%3Aauth%2Fimg%3Apull&service=fake");
  oci_desc_release(&d);
  /* The token is cached for the host and scope. */
  ck_assert_int_eq(registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err), 0);
  ck_assert_int_eq(fake.token_requests, 1);
  oci_desc_release(&d);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

START_TEST(bearer_token_from_docker_config)
{
  char dir[] = "/tmp/ctrx-e2e-docker.XXXXXX";
  cleanup_free char *path = NULL, *json = NULL;
  struct registry *r;
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {0};
  struct error *err = NULL;
  FILE *f;

  ck_assert_ptr_nonnull(mkdtemp(dir));
  path = xasprintf("%s/config.json", dir);
  json =
      xasprintf("{\"auths\":{\"http://127.0.0.1:%d\":{\"auth\":\"%s\"}}}", fake.port, FAKE_BASIC);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(json, f);
  fclose(f);
  client_docker_config = path;
  r = new_client(NULL, false);
  ck_assert_msg(registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(d.digest, fake.manifest_digest);
  oci_desc_release(&d);
  registry_free(r);
  client_docker_config = NULL;
  unlink(path);
  rmdir(dir);
  registry_ep_release(&ep);
}
END_TEST

START_TEST(bearer_refused_without_credentials)
{
  struct registry *r = new_client(NULL, false);
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {0};
  struct error *err = NULL;

  ck_assert_int_eq(registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_UNAUTHENTICATED);
  ck_assert_msg(strstr(err->msg, "fetch token") != NULL && strstr(err->msg, "bad credentials"),
                "%s", err->msg);
  error_free(err);
  err = NULL;
  registry_free(r);
  /* Wrong credentials: the same, and the password is not in the message. */
  r = new_client(FAKE_USER ":wrong-pw", false);
  ck_assert_int_eq(registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err), -1);
  ck_assert_int_eq(err->code, ERR_UNAUTHENTICATED);
  ck_assert_msg(strstr(err->msg, "wrong-pw") == NULL, "%s", err->msg);
  error_free(err);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

START_TEST(basic_auth_and_hashed_digest)
{
  struct registry *r = new_client(FAKE_USER ":" FAKE_PASS, false);
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {0};
  struct error *err = NULL;

  ck_assert_msg(registry_resolve(r, &ep, 1, "basic/img", "latest", &d, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(d.digest, fake.manifest_digest);
  ck_assert_int_eq(d.size, (int64_t)strlen(fake_manifest));
  ck_assert_int_eq(fake.token_requests, 0);
  oci_desc_release(&d);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

START_TEST(redirect_drops_authorization)
{
  struct registry *r = new_client(FAKE_USER ":" FAKE_PASS, false);
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {(char *)"application/vnd.oci.image.layer.v1.tar+gzip", fake.blob_digest,
                       (int64_t)strlen(fake_blob)};
  cleanup_buf struct buf got = BUF_INIT;
  struct error *err = NULL;

  buf_addstr(&got, "");
  ck_assert_msg(registry_fetch(r, &ep, 1, "auth/img", &d, 5, to_buf, &got, NULL, &err) == 0, "%s",
                err ? err->msg : "");
  ck_assert_str_eq(got.data, fake_blob + 5);
  ck_assert_int_eq(fake.storage_requests, 1);
  ck_assert(!fake.storage_saw_auth);
  ck_assert_int_eq(fake.token_requests, 1);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

/* What main's sink does with a line: "ctrx: <line>" on stderr. */
static void
log_to_stderr(enum log_level level, const char *line, void *data)
{
  cleanup_free char *out = xasprintf("ctrx: %s\n", line);

  (void)level;
  (void)data;
  write_all(STDERR_FILENO, out, strlen(out));
}

START_TEST(debug_log_redacts_secrets)
{
  char path[] = "/tmp/ctrx-e2e-log.XXXXXX";
  int fd = mkstemp(path);
  int saved = dup(STDERR_FILENO);
  struct registry *r = new_client(FAKE_USER ":" FAKE_PASS, true);
  struct registry_ep ep = ep_fake();
  struct oci_desc d = {0};
  cleanup_buf struct buf log = BUF_INIT;
  cleanup_free char *head = NULL;
  struct error *err = NULL;
  int rc;

  ck_assert_int_ge(fd, 0);
  dup2(fd, STDERR_FILENO);
  log_set_sink(log_to_stderr, NULL, true);
  ep.ns = xstrdup("docker.io");
  rc = registry_resolve(r, &ep, 1, "auth/img", "latest", &d, NULL, &err);
  log_set_sink(NULL, NULL, false);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  ck_assert_msg(rc == 0, "%s", err ? err->msg : "");
  ck_assert_int_eq(read_file(path, 1 << 20, &log), 0);
  unlink(path);
  head = xasprintf("ctrx: registry HEAD http://127.0.0.1:%d/v2/auth/img/manifests/latest"
                   "?ns=docker.io -> 401 (",
                   fake.port);
  ck_assert_msg(strstr(log.data, head) != NULL, "%s", log.data);
  ck_assert_msg(strstr(log.data, "ctrx: registry GET http://127.0.0.1:") != NULL, "%s", log.data);
  ck_assert_msg(strstr(log.data, "[Authorization: <redacted>] -> 200 (") != NULL, "%s", log.data);
  ck_assert_msg(strstr(log.data, FAKE_TOKEN) == NULL, "%s", log.data);
  ck_assert_msg(strstr(log.data, FAKE_PASS) == NULL && strstr(log.data, FAKE_BASIC) == NULL, "%s",
                log.data);
  oci_desc_release(&d);
  registry_ep_release(&ep);
  registry_free(r);
}
END_TEST

Suite *
registry_client_suite(void)
{
  Suite *s = suite_create("registry_client");
  TCase *tb = tcase_create("testbed");
  TCase *fk = tcase_create("fake");

  tcase_set_timeout(tb, 60);
  tcase_add_test(tb, resolve_oci_manifest);
  tcase_add_test(tb, resolve_docker_manifest);
  tcase_add_test(tb, resolve_indexes);
  tcase_add_test(tb, resolve_by_digest);
  tcase_add_test(tb, resolve_missing_tag);
  tcase_add_test(tb, resolve_fails_over);
  tcase_add_test(tb, fetch_blobs_and_manifest);
  tcase_add_test(tb, fetch_missing_and_sink_errors);
  suite_add_tcase(s, tb);

  tcase_set_timeout(fk, 30);
  tcase_add_checked_fixture(fk, fake_start, fake_stop);
  tcase_add_test(fk, bearer_token_with_credentials);
  tcase_add_test(fk, bearer_token_from_docker_config);
  tcase_add_test(fk, bearer_refused_without_credentials);
  tcase_add_test(fk, basic_auth_and_hashed_digest);
  tcase_add_test(fk, redirect_drops_authorization);
  tcase_add_test(fk, debug_log_redacts_secrets);
  suite_add_tcase(s, fk);
  return s;
}
