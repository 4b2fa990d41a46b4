/* Helpers for the end-to-end suites: the test bed's coordinates and running
 * commands (the built ./ctrx, the real ctr) with their output captured. */
#ifndef CTRX_E2E_H
#define CTRX_E2E_H

#include <check.h>
#include <stdbool.h>

struct e2e_out {
  char *out;
  char *err;
  int status; /* exit status, or 128 + signal */
};

/* A variable the test bed exported (CTRX_TEST_ADDRESS, …); fails the test when unset. */
const char *e2e_env(const char *name);
/* Run `sh -c CMD` with CTRX set to the binary under test, ADDR to the test
 * containerd's socket, CTR to the real ctr and REG to the test registry;
 * stdin_data (NULL: /dev/null) is written to its stdin. *o (zeroed, or the
 * output of an earlier call, which is released) receives the output. */
int e2e_sh(struct e2e_out *o, const char *stdin_data, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void e2e_out_release(struct e2e_out *o);
#define cleanup_e2e_out __attribute__((cleanup(e2e_out_release)))
/* A namespace name unique to this run and test. */
char *e2e_namespace(const char *prefix);
/* Remove everything in a namespace (images, containers, tasks) with ctr. */
void e2e_clean_namespace(const char *ns);

#endif
