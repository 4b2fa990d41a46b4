/* Helpers for the end-to-end suites: the test bed's coordinates, running
 * commands (the built ./ctrx, the real ctr) with their output captured, and
 * checks of what containerd holds in a namespace. */
#ifndef CTRX_E2E_H
#define CTRX_E2E_H

#include <check.h>
#include <stdbool.h>

struct strv;

struct e2e_out {
  char *out;
  char *err;
  int status; /* exit status, or 128 + signal */
};

/* A variable the test bed exported (CTRX_TEST_ADDRESS, …); fails the test when unset. */
const char *e2e_env(const char *name);
/* The test bed's daemon is of containerd 2.x (CTRX_TEST_CONTAINERD), whose
 * ctr pulls through the Transfer service unless given --local. */
bool e2e_line_2x(void);
/* Run `sh -c CMD` with CTRX set to the binary under test, ADDR to the test
 * containerd's socket, CTR to the real ctr and REG to the test registry;
 * stdin_data (NULL: /dev/null) is written to its stdin. *o (zeroed, or the
 * output of an earlier call, which is released) receives the output. */
int e2e_sh(struct e2e_out *o, const char *stdin_data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void e2e_out_release(struct e2e_out *o);
#define cleanup_e2e_out __attribute__((cleanup(e2e_out_release)))
/* The test bed script: $CTRX_TESTBED, else next to this binary's build
 * directory (build/ or build-san/ at the top of the repository), else below
 * the current directory. Allocated. */
char *e2e_testbed(void);
/* The shell's way to the top of the repository, for a command that starts
 * there: the binary under test is ./ctrx, or build-san/ctrx of a sanitized
 * build. */
#define E2E_AT_TOP                                                                                 \
  "t=$(dirname \"$CTRX\"); while [ ! -x \"$t/tests/testbed/secure-registries\" ] && "              \
  "[ \"$t\" != / ]; do t=$(dirname \"$t\"); done; cd \"$t\" && "

/* Start tests/testbed/secure-registries in CTRX_TEST_ROOT/NAME (Basic,
 * token and TLS registries, watched by this process) and put every KEY=VALUE
 * of its secure.env into the environment; returns the directory. */
char *e2e_secure_start(const char *name);
/* Stop them and free *dir. */
void e2e_secure_stop(char **dir);
/* A namespace name unique to this run and test. */
char *e2e_namespace(const char *prefix);
/* Remove everything in a namespace (images, containers, tasks) with ctr. */
void e2e_clean_namespace(const char *ns);
/* A run test's fixture: a namespace of its own (prefix) and the test bed's
 * busybox image; e2e_run_fixture_release cleans the namespace, frees both. */
void e2e_run_fixture(const char *prefix, char **ns, char **img);
void e2e_run_fixture_release(char **ns, char **img);

/* No lease is left in NS. */
void e2e_assert_no_lease(const char *ns);
/* Nothing of a failed pull is left in NS: no image, no lease. */
void e2e_assert_nothing_left(const char *ns);
/* The content digests of NS with their labels, one line each, sorted. */
char *e2e_content_state(const char *ns);
/* NS_A holds what NS_B holds: the same image records, snapshots and content
 * (digests and labels). */
void e2e_assert_same_image(const char *ns_a, const char *ns_b);

/* The commands that `ctrx --help` lists as run by ctrx itself, into *out. */
void e2e_native_commands(struct strv *out);

#endif
