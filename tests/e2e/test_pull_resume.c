/* An interrupted pull and the pull that resumes it.
 *
 * A ~49 MB image of random content (busybox + three 16 MiB layers, pushed
 * afresh, so no blob of it is in the content store) is pulled through a
 * throttling TCP proxy of our own (loopback only, a thread of this test): a
 * few MiB/s per connection, and a byte budget after which it forwards nothing
 * more. Once the budget is spent and the first layer is in, ctrx is killed
 * with SIGKILL. What is left is checked (the pull's lease with its
 * gc.expire, holding partial ingests), then the pull is run again: it must
 * complete, fetch only what the ingests lacked, and leave the same content
 * labels, snapshots and image record as uninterrupted pulls (ctrx and ctr)
 * in other namespaces. A pull of the present image is a quick no-op. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "content.pb-c.h"
#include "e2e.h"
#include "ctd.h"
#include "grpc.h"
#include "leases.pb-c.h"
#include "util.h"

/* ctrx's own pull on every line: on 2.x a pull is otherwise the daemon's
 * (Transfer service), whose downloads and ingests are its own business;
 * ctr 2.x also takes --max-concurrent-downloads only for a pull in the
 * client. */
#define CLIENT_PULL "--max-concurrent-downloads 4 "

#define AT_TOP                                                                                     \
  "t=$(dirname \"$CTRX\"); while [ ! -x \"$t/tests/testbed/secure-registries\" ] && "              \
  "[ \"$t\" != / ]; do t=$(dirname \"$t\"); done; cd \"$t\" && "

#define BIG_LAYERS 3
#define BIG_MIB 16
#define PROXY_RATE (4 << 20)    /* bytes per second, per connection */
#define PROXY_BUDGET (24 << 20) /* then nothing more until released */

/* --- a throttling TCP proxy --- */

struct proxy {
  int lfd;
  int port;
  int upstream_port;
  atomic_llong rate;   /* per connection, bytes/s downstream; 0: no limit */
  atomic_llong budget; /* downstream bytes in all; -1: no limit */
  atomic_llong sent;   /* downstream bytes so far */
  atomic_int stop;
  pthread_t accept_thread;
};

struct relay_arg {
  struct proxy *p;
  int cfd;
};

static int
send_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void *
relay(void *arg)
{
  struct relay_arg *ra = arg;
  struct proxy *p = ra->p;
  int cfd = ra->cfd, ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->upstream_port)};
  int64_t start = now_ms(), mine = 0;
  char buf[16384];

  free(ra);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ufd < 0 || connect(ufd, (struct sockaddr *)&a, sizeof(a)) < 0)
    goto out;
  while (!atomic_load(&p->stop)) {
    long long budget = atomic_load(&p->budget), rate = atomic_load(&p->rate);
    bool down = budget < 0 || atomic_load(&p->sent) < budget;
    struct pollfd pf[2] = {{cfd, POLLIN, 0}, {ufd, 0, 0}};
    if (down && rate > 0 && mine > rate * (now_ms() - start) / 1000 + (int64_t)sizeof(buf))
      down = false;
    pf[1].events = down ? POLLIN : 0;
    if (poll(pf, 2, 20) < 0 && errno != EINTR)
      break;
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(cfd, buf, sizeof(buf));
      if (n <= 0 || send_all(ufd, buf, (size_t)n) < 0)
        break;
    }
    if (pf[1].revents & (POLLHUP | POLLERR) && !(pf[1].revents & POLLIN))
      break;
    if (down && (pf[1].revents & POLLIN)) {
      size_t want = sizeof(buf);
      ssize_t n;
      if (budget >= 0 && (long long)want > budget - atomic_load(&p->sent))
        want = (size_t)(budget - atomic_load(&p->sent));
      if (want == 0)
        continue;
      n = read(ufd, buf, want);
      if (n <= 0 || send_all(cfd, buf, (size_t)n) < 0)
        break;
      atomic_fetch_add(&p->sent, n);
      mine += n;
    }
  }
out:
  if (ufd >= 0)
    close(ufd);
  close(cfd);
  return NULL;
}

static void *
accept_loop(void *arg)
{
  struct proxy *p = arg;
  while (!atomic_load(&p->stop)) {
    struct pollfd pf = {p->lfd, POLLIN, 0};
    pthread_t t;
    struct relay_arg *ra;
    int fd;
    if (poll(&pf, 1, 100) <= 0)
      continue;
    fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    ra = xmalloc(sizeof(*ra));
    ra->p = p;
    ra->cfd = fd;
    if (pthread_create(&t, NULL, relay, ra) != 0) {
      close(fd);
      free(ra);
      continue;
    }
    pthread_detach(t);
  }
  return NULL;
}

static void
proxy_start(struct proxy *p, int upstream_port, long long rate, long long budget)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t alen = sizeof(a);

  p->upstream_port = upstream_port;
  atomic_store(&p->rate, rate);
  atomic_store(&p->budget, budget);
  atomic_store(&p->sent, 0);
  atomic_store(&p->stop, 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(p->lfd, 0);
  ck_assert(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
  ck_assert(listen(p->lfd, 64) == 0);
  ck_assert(getsockname(p->lfd, (struct sockaddr *)&a, &alen) == 0);
  p->port = ntohs(a.sin_port);
  ck_assert(pthread_create(&p->accept_thread, NULL, accept_loop, p) == 0);
}

static void
proxy_stop(struct proxy *p)
{
  atomic_store(&p->stop, 1);
  pthread_join(p->accept_thread, NULL);
  close(p->lfd);
}

/* --- what containerd holds --- */

/* Active ingests of NS: "ref offset/total" lines into *desc; returns the sum
 * of their offsets. */
static int64_t
ingests(struct grpc_conn *c, const char *ns, struct buf *desc)
{
  Containerd__Services__Content__V1__ListStatusesRequest req =
      CONTAINERD__SERVICES__CONTENT__V1__LIST_STATUSES_REQUEST__INIT;
  Containerd__Services__Content__V1__ListStatusesResponse *resp = NULL;
  struct grpc_metadata md[] = {{CTD_NAMESPACE_KEY, ns}};
  struct grpc_call_opts opts = {.md = md, .n_md = 1};
  cleanup_error struct error *err = NULL;
  int64_t sum = 0;

  ck_assert_msg(grpc_unary(c, "/containerd.services.content.v1.Content/ListStatuses", &req.base,
                           &containerd__services__content__v1__list_statuses_response__descriptor,
                           (ProtobufCMessage **)&resp, &opts, &err) == 0,
                "%s", err ? err->msg : "");
  if (desc != NULL)
    desc->len = 0;
  for (size_t i = 0; i < resp->n_statuses; i++) {
    sum += resp->statuses[i]->offset;
    if (desc != NULL)
      buf_addf(desc, "%s %lld/%lld\n", resp->statuses[i]->ref, (long long)resp->statuses[i]->offset,
               (long long)resp->statuses[i]->total);
  }
  if (desc != NULL)
    buf_add(desc, "", 0);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return sum;
}

/* The leases of NS: how many; the first one's id, gc.expire label, and its
 * resources ("type id" lines) into the out parameters. */
static size_t
lease_state(struct grpc_conn *c, const char *ns, char **id, char **expire, struct buf *resources)
{
  Containerd__Services__Leases__V1__ListRequest req =
      CONTAINERD__SERVICES__LEASES__V1__LIST_REQUEST__INIT;
  Containerd__Services__Leases__V1__ListResponse *resp = NULL;
  struct grpc_metadata md[] = {{CTD_NAMESPACE_KEY, ns}};
  struct grpc_call_opts opts = {.md = md, .n_md = 1};
  cleanup_error struct error *err = NULL;
  size_t n;

  ck_assert_msg(grpc_unary(c, "/containerd.services.leases.v1.Leases/List", &req.base,
                           &containerd__services__leases__v1__list_response__descriptor,
                           (ProtobufCMessage **)&resp, &opts, &err) == 0,
                "%s", err ? err->msg : "");
  n = resp->n_leases;
  if (n > 0) {
    Containerd__Services__Leases__V1__Lease *l = resp->leases[0];
    Containerd__Services__Leases__V1__ListResourcesRequest rreq =
        CONTAINERD__SERVICES__LEASES__V1__LIST_RESOURCES_REQUEST__INIT;
    Containerd__Services__Leases__V1__ListResourcesResponse *rresp = NULL;

    *id = xstrdup(l->id);
    for (size_t i = 0; i < l->n_labels; i++)
      if (strcmp(l->labels[i]->key, "containerd.io/gc.expire") == 0)
        *expire = xstrdup(l->labels[i]->value);
    rreq.id = l->id;
    ck_assert_msg(grpc_unary(c, "/containerd.services.leases.v1.Leases/ListResources", &rreq.base,
                             &containerd__services__leases__v1__list_resources_response__descriptor,
                             (ProtobufCMessage **)&rresp, &opts, &err) == 0,
                  "%s", err ? err->msg : "");
    for (size_t i = 0; i < rresp->n_resources; i++)
      buf_addf(resources, "%s %s\n", rresp->resources[i]->type, rresp->resources[i]->id);
    buf_add(resources, "", 0);
    protobuf_c_message_free_unpacked(&rresp->base, NULL);
  }
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return n;
}

/* `sh -c CMD` in the background, output into OUT_PATH; exec'd, so the pid
 * is the command's own. */
static pid_t
spawn(const char *out_path, const char *cmd)
{
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || in < 0)
      _exit(127);
    dup2(in, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static bool
has_line(const char *text, const char *line)
{
  size_t n = strlen(line);
  for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
    if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
      return true;
  return false;
}

START_TEST(interrupted_pull_resumes)
{
  const char *reg = e2e_env("CTRX_TEST_REGISTRY");
  cleanup_free char *a = e2e_namespace("resume");
  cleanup_free char *b = e2e_namespace("resume-ctrx");
  cleanup_free char *c = e2e_namespace("resume-ctr");
  cleanup_free char *repo = xasprintf("test/big-%d", (int)getpid());
  cleanup_free char *img = xasprintf("%s/%s:v1", reg, repo);
  cleanup_free char *work =
      xasprintf("%s/pull-resume-%d", e2e_env("CTRX_TEST_ROOT"), (int)getpid());
  cleanup_free char *hosts = xasprintf("%s/hosts", work);
  cleanup_free char *log_path = xasprintf("%s/pull1.log", work);
  cleanup_free char *cmd = NULL, *digest = NULL, *lease_id = NULL, *expire = NULL;
  cleanup_e2e_out struct e2e_out o = {0}, m = {0}, p2 = {0}, p3 = {0}, pb = {0}, pc = {0};
  cleanup_buf struct buf act = BUF_INIT, res = BUF_INIT;
  cleanup_strv struct strv blobs = STRV_INIT; /* config, then the layers */
  cleanup_error struct error *err = NULL;
  struct grpc_conn *conn = NULL;
  struct proxy px = {0};
  int64_t total = 0, partial, sent2;
  const char *colon = strrchr(reg, ':');
  int64_t reg_port = 0;
  pid_t pid;
  int st = 0;
  char *save = NULL;

  ck_assert(colon && parse_int64(colon + 1, 10, &reg_port) == 0);

  /* An image whose blobs no one has pulled yet. */
  ck_assert_msg(e2e_sh(&o, NULL,
                       AT_TOP "mkdir -p %s && tests/testbed/secure-registries push-big %s %s %s "
                              "v1 %d %d",
                       work, work, reg, repo, BIG_LAYERS, BIG_MIB) == 0,
                "push-big: %s", o.err);
  digest = xstrndup(o.out, strcspn(o.out, "\n"));
  ck_assert_int_eq(e2e_sh(&m, NULL,
                          "curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "
                          "http://%s/v2/%s/manifests/v1",
                          reg, repo),
                   0);
  {
    /* "digest":"sha256:…","size":N pairs, config first */
    const char *q = m.out;
    while ((q = strstr(q, "\"digest\":\"sha256:")) != NULL) {
      const char *s = strstr(q, "\"size\":");
      ck_assert_ptr_nonnull(s);
      strv_push_owned(&blobs, xstrndup(q + 10, 71));
      total += strtoll(s + 7, NULL, 10);
      q = s;
    }
  }
  ck_assert_int_eq(blobs.n, 1 + 1 + BIG_LAYERS);
  ck_assert_int_gt(total, (int64_t)BIG_LAYERS * BIG_MIB << 20);

  /* The registry, through the proxy: the only endpoint for it. */
  proxy_start(&px, (int)reg_port, PROXY_RATE, PROXY_BUDGET);
  ck_assert_int_eq(e2e_sh(&o, NULL,
                          "mkdir -p '%1$s/%2$s' && printf 'server = \"http://127.0.0.1:%3$d\"\\n' "
                          "> '%1$s/%2$s/hosts.toml'",
                          hosts, reg, px.port),
                   0);
  ck_assert(ctd_connect(e2e_env("CTRX_TEST_ADDRESS"), 5000, &conn, &err) == 0);

  cmd = xasprintf("exec $CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull " CLIENT_PULL "%s", a, hosts,
                  img);
  pid = spawn(log_path, cmd);

  /* Until the budget is spent (the proxy forwards nothing more)... */
  for (int i = 0; i < 300 && atomic_load(&px.sent) < PROXY_BUDGET; i++)
    usleep(100000);
  ck_assert_msg(atomic_load(&px.sent) >= PROXY_BUDGET, "the pull took only %lld bytes in 30 s",
                (long long)atomic_load(&px.sent));
  /* ...and the first layer is in, and the ingests have settled. */
  {
    int64_t last = -1, now = 0;
    bool first_in = false;
    for (int i = 0; i < 50; i++) {
      cleanup_e2e_out struct e2e_out cl = {0};
      e2e_sh(&cl, NULL, "$CTR -a \"$ADDR\" -n %s content ls -q", a);
      first_in = has_line(cl.out, blobs.v[1]);
      now = ingests(conn, a, &act);
      if (first_in && now > 0 && now == last)
        break;
      last = now;
      usleep(200000);
    }
    ck_assert_msg(first_in, "the first layer %s is not in after %lld bytes", blobs.v[1],
                  (long long)atomic_load(&px.sent));
    ck_assert_msg(now > 0 && now == last, "ingests did not settle:\n%s", act.data);
  }
  ck_assert_int_eq(kill(pid, SIGKILL), 0);
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

  /* What the killed pull left: no image; its lease, to expire in a day,
   * holding the first layer and the partial ingests. */
  {
    cleanup_e2e_out struct e2e_out il = {0};
    e2e_sh(&il, NULL, "$CTR -a \"$ADDR\" -n %s images ls -q", a);
    ck_assert_str_eq(il.out, "");
  }
  ck_assert_int_eq(lease_state(conn, a, &lease_id, &expire, &res), 1);
  ck_assert_msg(expire != NULL, "lease %s has no containerd.io/gc.expire", lease_id);
  {
    struct tm tm = {0};
    const char *end = strptime(expire, "%Y-%m-%dT%H:%M:%S", &tm);
    time_t when, now = time(NULL);
    ck_assert_msg(end != NULL, "gc.expire %s", expire);
    when = timegm(&tm);
    ck_assert_msg(when > now + 23 * 3600 && when < now + 25 * 3600,
                  "gc.expire %s is not a day from now", expire);
  }
  partial = ingests(conn, a, &act);
  ck_assert_msg(partial > 0, "no partial ingest left");
  {
    cleanup_free char *first = xasprintf("content %s", blobs.v[1]);
    ck_assert_msg(has_line(res.data, first), "lease %s lacks %s:\n%s", lease_id, first, res.data);
  }
  for (char *l = strtok_r(act.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    cleanup_free char *ref = xstrndup(l, strcspn(l, " "));
    cleanup_free char *ingest = xasprintf("ingests %s", ref);
    ck_assert_msg(has_line(res.data, ingest), "lease %s does not hold ingest %s:\n%s", lease_id,
                  ref, res.data);
  }

  /* Again, at full speed: it completes, and fetches only what was missing. */
  atomic_store(&px.rate, 0);
  atomic_store(&px.budget, -1);
  {
    long long before = atomic_load(&px.sent);
    ck_assert_msg(e2e_sh(&p2, NULL,
                         "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull " CLIENT_PULL "%s", a, hosts,
                         img) == 0,
                  "%s%s", p2.out, p2.err);
    sent2 = atomic_load(&px.sent) - before;
  }
  {
    cleanup_free char *line = xasprintf("%s %s from ", img, digest);
    ck_assert_msg(str_has_prefix(p2.out, line), "%s", p2.out);
  }
  ck_assert_msg(sent2 <= total - partial + (256 << 10),
                "the resumed pull fetched %lld bytes; %lld of %lld were in ingests already",
                (long long)sent2, (long long)partial, (long long)total);
  ck_assert_int_eq(ingests(conn, a, NULL), 0);

  /* The same as pulls that were never interrupted. */
  ck_assert_msg(e2e_sh(&pb, NULL, "$CTRX -a \"$ADDR\" -n %s pull %s", b, img) == 0, "%s", pb.err);
  ck_assert_msg(e2e_sh(&pc, NULL, "$CTR -a \"$ADDR\" -n %s images pull %s", c, img) == 0, "%s",
                pc.err);
  e2e_assert_same_image(a, b);
  e2e_assert_same_image(a, c);
  /* The killed pull's lease is still there (ctr would leave it too; it
   * expires); the resuming pull's own is gone. */
  {
    cleanup_free char *id2 = NULL, *exp2 = NULL;
    cleanup_buf struct buf res2 = BUF_INIT;
    ck_assert_int_eq(lease_state(conn, a, &id2, &exp2, &res2), 1);
    ck_assert_str_eq(id2, lease_id);
  }

  /* A pull of the image now present: a no-op that fetches no blob. */
  {
    long long before = atomic_load(&px.sent);
    ck_assert_msg(e2e_sh(&p3, NULL,
                         "$CTRX -a \"$ADDR\" -n %s --hosts-dir %s pull " CLIENT_PULL "%s", a, hosts,
                         img) == 0,
                  "%s", p3.err);
    ck_assert_msg(atomic_load(&px.sent) - before < (64 << 10), "the no-op pull fetched %lld bytes",
                  atomic_load(&px.sent) - before);
  }

  proxy_stop(&px);
  grpc_conn_free(conn);
  e2e_clean_namespace(a);
  e2e_clean_namespace(b);
  e2e_clean_namespace(c);
}
END_TEST

Suite *
pull_resume_suite(void)
{
  Suite *s = suite_create("pull_resume");
  TCase *t = tcase_create("interrupted");

  tcase_set_timeout(t, 60);
  tcase_add_test(t, interrupted_pull_resumes);
  suite_add_tcase(s, t);
  return s;
}
