/* What the ctd layer adds to the gRPC transport for containerd: its name in
 * messages and the hints that tell the user what to check. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctd.h"
#include "unit.h"
#include "util.h"

Suite *ctd_suite(void);

START_TEST(refused_says_where_to_look)
{
  struct grpc_conn *c = NULL;
  struct error *err = NULL;

  ck_assert_int_eq(ctd_connect("/nonexistent/containerd.sock", 1000, &c, &err), -1);
  ck_assert_str_eq(err->msg, "connect to containerd at '/nonexistent/containerd.sock': No such "
                             "file or directory (is containerd running? give its socket with -a "
                             "or CONTAINERD_ADDRESS)");
  error_free(err);
}
END_TEST

static char tmpdir[] = "/tmp/ctrx-ctd-test-XXXXXX";

/* A socket that takes the connection (the backlog) and never says a word. */
START_TEST(silent_socket_says_what_to_check)
{
  cleanup_free char *path = NULL;
  cleanup_free char *want = NULL;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  struct grpc_conn *c = NULL;
  struct error *err = NULL;
  char *version = NULL, *revision = NULL;
  int lfd;

  unit_tmpdir_make(tmpdir);
  path = xasprintf("%s/silent.sock", tmpdir);
  memcpy(sa.sun_path, path, strlen(path) + 1);
  lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(lfd, 0);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(listen(lfd, 4), 0);
  ck_assert_int_eq(ctd_connect(path, 200, &c, &err), 0);
  ctd_set_namespace(c, "default");
  ck_assert_int_eq(ctd_version(c, &version, &revision, &err), -1);
  want = xasprintf("connect to containerd at '%s': no answer within 200 ms (is it containerd's "
                   "gRPC socket? raise --connect-timeout if it is busy)",
                   path);
  ck_assert_msg(strstr(err->msg, want) != NULL, "%s", err->msg);
  error_free(err);
  grpc_conn_free(c);
  close(lfd);
  unit_tmpdir_remove(tmpdir);
}
END_TEST

Suite *
ctd_suite(void)
{
  Suite *s = suite_create("ctd");
  TCase *tc = tcase_create("conn");

  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, refused_says_where_to_look);
  tcase_add_test(tc, silent_socket_says_what_to_check);
  suite_add_tcase(s, tc);
  return s;
}
