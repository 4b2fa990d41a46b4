/* The foundation against the real containerd: version, pass-through output
 * identical to ctr's, connection failures, and the gRPC transport itself
 * (unary, server streams, bidi streams with 1 MiB messages, deadlines,
 * namespace and lease metadata, containerd's error messages). */
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "content.pb-c.h"
#include "ctd.h"
#include "e2e.h"
#include "grpc.h"
#include "leases.pb-c.h"
#include "util.h"

static char *
server_block(const char *version_out)
{
  const char *s = strstr(version_out, "Server:");
  ck_assert_msg(s != NULL, "no Server: block in %s", version_out);
  return xstrdup(s);
}

START_TEST(version_matches_ctr)
{
  cleanup_e2e_out struct e2e_out x = {0}, c = {0};
  cleanup_free char *xs = NULL, *cs = NULL;

  ck_assert_int_eq(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" version"), 0);
  ck_assert_int_eq(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" version"), 0);
  xs = server_block(x.out);
  cs = server_block(c.out);
  ck_assert_str_eq(xs, cs);
  ck_assert_msg(strstr(x.out, "Client:\n  Version:  ") == x.out, "%s", x.out);
}
END_TEST

/* ctrx hands these to ctr: the output must be ctr's, byte for byte, whatever
 * spelling of the global flags is used. */
static const char *const passthru_cmds[] = {
    "images ls",     "i ls -q",      "namespaces ls", "ns ls -q",     "tasks ls",
    "containers ls", "snapshots ls", "content ls -q", "leases ls -q", "plugins ls",
};

static char *pt_ns;

static void
passthru_setup(void)
{
  cleanup_e2e_out struct e2e_out o = {0};

  pt_ns = e2e_namespace("pt");
  ck_assert_msg(e2e_sh(&o, NULL,
                       "$CTR -a \"$ADDR\" -n %1$s images pull --plain-http $REG/test/busybox:oci "
                       ">/dev/null && $CTR -a \"$ADDR\" -n %1$s run -d $REG/test/busybox:oci "
                       "sleeper sleep 60",
                       pt_ns) == 0,
                "setup: %s", o.err);
}

static void
passthru_teardown(void)
{
  e2e_clean_namespace(pt_ns);
  free(pt_ns);
}

START_TEST(passthru_identical_output)
{
  const char *cmd = passthru_cmds[_i];
  static const char *const spellings[] = {"-n %s", "--namespace %s", "-namespace=%s",
                                          "--namespace=%s"};
  cleanup_e2e_out struct e2e_out c = {0};

  ck_assert_int_eq(e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" -n %s %s", pt_ns, cmd), 0);
  for (size_t s = 0; s < ARRAY_SIZE(spellings); s++) {
    cleanup_e2e_out struct e2e_out x = {0};
    cleanup_free char *flag = xasprintf(spellings[s], pt_ns);
    ck_assert_int_eq(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" %s %s", flag, cmd), 0);
    ck_assert_msg(strcmp(x.out, c.out) == 0, "%s with %s:\nctrx:\n%s\nctr:\n%s", cmd, flag, x.out,
                  c.out);
    ck_assert_str_eq(x.err, c.err);
  }
}
END_TEST

START_TEST(passthru_env_namespace_and_status)
{
  cleanup_e2e_out struct e2e_out x = {0}, c = {0};

  ck_assert_int_eq(e2e_sh(&x, NULL, "CONTAINERD_NAMESPACE=%s $CTRX -a \"$ADDR\" tasks ls", pt_ns),
                   0);
  ck_assert_ptr_nonnull(strstr(x.out, "sleeper"));
  /* ctr's own failures keep ctr's words and status */
  e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" no-such-command");
  e2e_sh(&c, NULL, "$CTR -a \"$ADDR\" no-such-command");
  ck_assert_int_eq(x.status, c.status);
  ck_assert_str_eq(x.err, c.err);
}
END_TEST

/* A socket that is not there fails at once: with a 10-minute connect
 * deadline, a client that waited for it to appear would run into the test
 * case's timeout (no wall time is asserted here). */
START_TEST(missing_socket_is_clear)
{
  cleanup_e2e_out struct e2e_out x = {0};

  ck_assert_int_eq(
      e2e_sh(&x, NULL, "$CTRX -a /nonexistent/containerd.sock --connect-timeout 10m version"), 1);
  ck_assert_msg(strstr(x.err, "ctrx: connect to containerd at '/nonexistent/containerd.sock'") !=
                        NULL &&
                    strstr(x.err, "CONTAINERD_ADDRESS") != NULL,
                "%s", x.err);
}
END_TEST

START_TEST(silent_socket_times_out)
{
  cleanup_e2e_out struct e2e_out x = {0};
  cleanup_free char *path = xasprintf("/tmp/ctrx-silent-%d.sock", (int)getpid());
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int64_t t0, ms;

  unlink(path);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0);
  t0 = now_ms();
  ck_assert_int_eq(e2e_sh(&x, NULL, "$CTRX -a %s --connect-timeout 1s version", path), 1);
  ms = now_ms() - t0;
  close(fd);
  unlink(path);
  ck_assert_msg(strstr(x.err, "no answer within") != NULL, "%s", x.err);
  /* The deadline is the feature: not before the 1 s asked for, and well
   * before the 10 s default (the margin is for a loaded machine). */
  ck_assert_msg(ms >= 1000 && ms < 8000, "--connect-timeout 1s gave up after %lld ms",
                (long long)ms);
}
END_TEST

static struct grpc_conn *
connect_bed(const char *ns)
{
  struct grpc_conn *c = NULL;
  cleanup_error struct error *err = NULL;

  ck_assert_msg(ctd_connect(e2e_env("CTRX_TEST_ADDRESS"), 5000, &c, &err) == 0, "%s",
                err ? err->msg : "");
  ctd_set_namespace(c, ns);
  return c;
}

START_TEST(grpc_error_keeps_containerd_message)
{
  struct grpc_conn *c = connect_bed("default");
  cleanup_error struct error *err = NULL;

  ck_assert_int_eq(ctd_image_get(c, "docker.io/library/missing:nope", NULL, NULL, &err), -1);
  ck_assert(error_is(err, ERR_NOT_FOUND));
  ck_assert_msg(strstr(err->msg, "docker.io/library/missing:nope") != NULL &&
                    strstr(err->msg, "not found") != NULL,
                "%s", err->msg);
  grpc_conn_free(c);
}
END_TEST

START_TEST(grpc_deadline)
{
  struct grpc_conn *c = connect_bed("default");
  cleanup_error struct error *err = NULL;
  cleanup_free char *v = NULL, *r = NULL;

  grpc_conn_set_deadline(c, now_ms() - 1);
  ck_assert_int_eq(ctd_version(c, &v, &r, &err), -1);
  ck_assert_msg(error_is(err, ERR_DEADLINE), "%s", err->msg);
  grpc_conn_free(c);
}
END_TEST

static char *
sha256_hex(const uint8_t *p, size_t n)
{
  unsigned char md[32];
  unsigned int len = 0;
  struct buf b = BUF_INIT;

  EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
  buf_addstr(&b, "sha256:");
  for (unsigned i = 0; i < len; i++)
    buf_addf(&b, "%02x", md[i]);
  return buf_steal(&b);
}

/* A 3 MiB blob written over a bidi stream in 1 MiB messages under a lease,
 * then read back over a server stream: what containerd holds is what we sent,
 * and the lease is what made it stay. */
START_TEST(grpc_streams_one_mib_messages)
{
  cleanup_free char *ns = e2e_namespace("grpc");
  struct grpc_conn *c = connect_bed(ns);
  cleanup_error struct error *err = NULL;
  cleanup_grpc_stream struct grpc_stream *w = NULL;
  cleanup_grpc_stream struct grpc_stream *r = NULL;
  size_t total = 3u << 20;
  uint8_t *data = xmalloc(total);
  cleanup_free char *digest = NULL;
  cleanup_free char *ref = NULL;
  Containerd__Services__Leases__V1__CreateRequest lreq =
      CONTAINERD__SERVICES__LEASES__V1__CREATE_REQUEST__INIT;
  Containerd__Services__Leases__V1__CreateResponse *lresp = NULL;
  Containerd__Services__Content__V1__WriteContentRequest wreq =
      CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  Containerd__Services__Content__V1__WriteContentResponse *wresp = NULL;
  Containerd__Services__Content__V1__ReadContentRequest rreq =
      CONTAINERD__SERVICES__CONTENT__V1__READ_CONTENT_REQUEST__INIT;
  struct grpc_metadata md[] = {{CTD_LEASE_KEY, "ctrx-e2e-lease"}};
  struct grpc_call_opts opts = {0};
  struct buf back = BUF_INIT;
  int rv, commits = 0;

  for (size_t i = 0; i < total; i++)
    data[i] = (uint8_t)((i * 7919u) >> 3);
  digest = sha256_hex(data, total);
  ref = xasprintf("ctrx-test-%s", digest);

  lreq.id = (char *)"ctrx-e2e-lease";
  ck_assert_msg(grpc_unary(c, CTD_SVC("leases", "Leases", "Create"), &lreq.base,
                           &containerd__services__leases__v1__create_response__descriptor,
                           (ProtobufCMessage **)&lresp, NULL, &err) == 0,
                "%s", err ? err->msg : "");
  ck_assert_str_eq(lresp->lease->id, "ctrx-e2e-lease");
  protobuf_c_message_free_unpacked(&lresp->base, NULL);
  opts.md = md;
  opts.n_md = 1;

  ck_assert(grpc_stream_open(c, CTD_SVC("content", "Content", "Write"), &opts, &w, &err) == 0);
  wreq.ref = ref;
  wreq.total = (int64_t)total;
  wreq.expected = digest;
  ck_assert(grpc_stream_send(w, &wreq.base, &err) == 0);
  ck_assert_int_eq(
      grpc_stream_recv(w, &containerd__services__content__v1__write_content_response__descriptor,
                       (ProtobufCMessage **)&wresp, &err),
      1);
  ck_assert_int_eq(wresp->offset, 0);
  protobuf_c_message_free_unpacked(&wresp->base, NULL);
  for (size_t off = 0; off < total; off += 1u << 20) {
    Containerd__Services__Content__V1__WriteContentRequest d =
        CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
    d.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
    d.offset = (int64_t)off;
    d.data.data = data + off;
    d.data.len = 1u << 20;
    ck_assert_msg(grpc_stream_send(w, &d.base, &err) == 0, "%s", err ? err->msg : "");
    ck_assert_int_eq(
        grpc_stream_recv(w, &containerd__services__content__v1__write_content_response__descriptor,
                         (ProtobufCMessage **)&wresp, &err),
        1);
    ck_assert_int_eq(wresp->offset, (int64_t)(off + (1u << 20)));
    protobuf_c_message_free_unpacked(&wresp->base, NULL);
  }
  wreq.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT;
  wreq.ref = NULL;
  wreq.offset = (int64_t)total;
  ck_assert(grpc_stream_send(w, &wreq.base, &err) == 0);
  ck_assert(grpc_stream_close_send(w, &err) == 0);
  /* the server answers COMMIT twice; both must be accepted */
  while ((rv = grpc_stream_recv(
              w, &containerd__services__content__v1__write_content_response__descriptor,
              (ProtobufCMessage **)&wresp, &err)) == 1) {
    ck_assert_str_eq(wresp->digest, digest);
    commits++;
    protobuf_c_message_free_unpacked(&wresp->base, NULL);
  }
  ck_assert_msg(rv == 0, "%s", err ? err->msg : "");
  ck_assert_int_ge(commits, 1);

  rreq.digest = digest;
  ck_assert(grpc_stream_open(c, CTD_SVC("content", "Content", "Read"), NULL, &r, &err) == 0);
  ck_assert(grpc_stream_send(r, &rreq.base, &err) == 0);
  ck_assert(grpc_stream_close_send(r, &err) == 0);
  for (;;) {
    Containerd__Services__Content__V1__ReadContentResponse *rr = NULL;
    rv = grpc_stream_recv(r, &containerd__services__content__v1__read_content_response__descriptor,
                          (ProtobufCMessage **)&rr, &err);
    if (rv <= 0)
      break;
    ck_assert_int_eq(rr->offset, (int64_t)back.len);
    buf_add(&back, rr->data.data, rr->data.len);
    protobuf_c_message_free_unpacked(&rr->base, NULL);
  }
  ck_assert_msg(rv == 0, "%s", err ? err->msg : "");
  ck_assert_uint_eq(back.len, total);
  ck_assert(memcmp(back.data, data, total) == 0);

  /* A second writer on an existing digest: AlreadyExists, trailers-only. */
  {
    cleanup_grpc_stream struct grpc_stream *w2 = NULL;
    wreq.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__STAT;
    wreq.ref = ref;
    wreq.offset = 0;
    ck_assert(grpc_stream_open(c, CTD_SVC("content", "Content", "Write"), &opts, &w2, &err) == 0);
    ck_assert(grpc_stream_send(w2, &wreq.base, &err) == 0);
    rv =
        grpc_stream_recv(w2, &containerd__services__content__v1__write_content_response__descriptor,
                         (ProtobufCMessage **)&wresp, &err);
    ck_assert_int_eq(rv, -1);
    ck_assert_msg(error_is(err, ERR_ALREADY_EXISTS), "%s", err->msg);
    error_freep(&err);
  }

  {
    Containerd__Services__Leases__V1__DeleteRequest dreq =
        CONTAINERD__SERVICES__LEASES__V1__DELETE_REQUEST__INIT;
    dreq.id = (char *)"ctrx-e2e-lease";
    dreq.sync = true;
    ck_assert(grpc_unary(c, CTD_SVC("leases", "Leases", "Delete"), &dreq.base, NULL, NULL, NULL,
                         &err) == 0);
  }
  buf_release(&back);
  free(data);
  grpc_stream_freep(&w);
  grpc_stream_freep(&r);
  grpc_conn_free(c);
}
END_TEST

/* Several threads share the one connection. */
struct par_arg {
  struct grpc_conn *c;
  int ok;
};

static void *
par_worker(void *p)
{
  struct par_arg *a = p;
  for (int i = 0; i < 50; i++) {
    cleanup_free char *v = NULL, *r = NULL;
    cleanup_error struct error *err = NULL;
    if (ctd_version(a->c, &v, &r, &err) == 0)
      a->ok++;
  }
  return NULL;
}

START_TEST(grpc_threads_share_connection)
{
  struct grpc_conn *c = connect_bed("default");
  pthread_t t[4];
  struct par_arg a[4];

  for (int i = 0; i < 4; i++) {
    a[i] = (struct par_arg){c, 0};
    pthread_create(&t[i], NULL, par_worker, &a[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ck_assert_int_eq(a[i].ok, 50);
  }
  grpc_conn_free(c);
}
END_TEST

START_TEST(passthru_argv_and_missing_ctr)
{
  cleanup_e2e_out struct e2e_out x = {0}, y = {0};
  cleanup_free char *fake = xasprintf("%s/fake-ctr", e2e_env("CTRX_TEST_ROOT"));
  FILE *f = fopen(fake, "w");

  ck_assert_ptr_nonnull(f);
  fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '[%%s]' \"$a\"; done; echo\nexit 7\n");
  fclose(f);
  chmod(fake, 0755);
  ck_assert_int_eq(
      e2e_sh(&x, NULL, "CTRX_CTR=%s $CTRX -a /x.sock -n ns1 --timeout 5s snapshots ls -q", fake),
      7);
  ck_assert_str_eq(x.out,
                   "[--address][/x.sock][--namespace][ns1][--timeout][5s][snapshots][ls][-q]\n");
  {
    /* image names expanded where ctr takes one; pulls get the hosts dir */
    cleanup_e2e_out struct e2e_out t = {0}, p = {0};
    cleanup_free char *hd = xasprintf("%s/pt-hosts", e2e_env("CTRX_TEST_ROOT"));
    e2e_sh(&t, NULL,
           "CTRX_CTR=%s $CTRX -a /x.sock images tag nginx:alpine registry.example.com/x:1", fake);
    ck_assert_str_eq(t.out, "[--address][/x.sock][--namespace][default][images][tag]"
                            "[docker.io/library/nginx:alpine][registry.example.com/x:1]\n");
    e2e_sh(&p, NULL,
           "mkdir -p %1$s/docker.io && echo 'server = \"https://registry-1.docker.io\"' > "
           "%1$s/docker.io/hosts.toml && CTRX_CTR=%2$s $CTRX -a /x.sock --k8s --hosts-dir %1$s "
           "i pull --all-platforms bitnami/redis",
           hd, fake);
    cleanup_free char *want = xasprintf("[--address][/x.sock][--namespace][k8s.io][images][pull]"
                                        "[--hosts-dir][%s][--all-platforms]"
                                        "[docker.io/bitnami/redis:latest]\n",
                                        hd);
    ck_assert_str_eq(p.out, want);
  }
  ck_assert_int_eq(e2e_sh(&y, NULL, "PATH=/nonexistent $CTRX -a /x.sock tasks ls"), 1);
  ck_assert_msg(strstr(y.err, "ctrx: ") == y.err && strstr(y.err, "CTRX_CTR") != NULL, "%s", y.err);
}
END_TEST

/* --help on every command of the table (native ones answer themselves). */
START_TEST(help_on_every_command)
{
  cleanup_strv struct strv cmds = STRV_INIT;

  e2e_native_commands(&cmds);
  for (size_t i = 0; i < cmds.n; i++) {
    const char *name = cmds.v[i];
    cleanup_e2e_out struct e2e_out h = {0};
    ck_assert_msg(e2e_sh(&h, NULL, "$CTRX %s --help", name) == 0, "%s --help: %s", name, h.err);
    /* groups that ctr runs (images) show ctr's own help */
    ck_assert_msg(strstr(h.out, "Usage: ctrx") != NULL || strstr(h.out, "USAGE:") != NULL,
                  "%s --help: %s", name, h.out);
    /* and each sub-command it lists */
    for (char *s = strstr(h.out, "\nCommands:\n"); s;) {
      char sub[64] = "";
      s = strchr(s + 1, '\n');
      if (s == NULL || strncmp(s + 1, "  ", 2) != 0)
        break;
      cleanup_e2e_out struct e2e_out sh = {0};
      ck_assert(sscanf(s + 1, " %63s", sub) == 1);
      ck_assert_msg(e2e_sh(&sh, NULL, "$CTRX %s %s --help", name, sub) == 0, "%s %s --help", name,
                    sub);
      ck_assert_msg(strstr(sh.out, "Usage: ctrx") != NULL, "%s %s --help: %s", name, sub, sh.out);
    }
  }
}
END_TEST

Suite *
foundation_suite(void)
{
  Suite *s = suite_create("foundation");
  TCase *t = tcase_create("cli");
  TCase *p = tcase_create("passthru");
  TCase *g = tcase_create("grpc");

  tcase_set_timeout(t, 60);
  tcase_add_test(t, version_matches_ctr);
  tcase_add_test(t, missing_socket_is_clear);
  tcase_add_test(t, silent_socket_times_out);
  tcase_add_test(t, passthru_argv_and_missing_ctr);
  tcase_add_test(t, help_on_every_command);
  suite_add_tcase(s, t);

  tcase_set_timeout(p, 120);
  tcase_add_unchecked_fixture(p, passthru_setup, passthru_teardown);
  tcase_add_loop_test(p, passthru_identical_output, 0, (int)ARRAY_SIZE(passthru_cmds));
  tcase_add_test(p, passthru_env_namespace_and_status);
  suite_add_tcase(s, p);

  tcase_set_timeout(g, 60);
  tcase_add_test(g, grpc_error_keeps_containerd_message);
  tcase_add_test(g, grpc_deadline);
  tcase_add_test(g, grpc_streams_one_mib_messages);
  tcase_add_test(g, grpc_threads_share_connection);
  suite_add_tcase(s, g);
  return s;
}
