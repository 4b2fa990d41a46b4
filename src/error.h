/* Errors are values: a failing function returns < 0 and fills a struct error.
 * Only main() prints them, as "ctrx: <outer>: <inner>". */
#ifndef CTRX_ERROR_H
#define CTRX_ERROR_H

#include <stdarg.h>

/* Kinds a caller may want to act on. GRPC_* mirror gRPC status codes so that
 * a containerd answer can be tested without string matching. */
enum error_code {
  ERR_GENERIC = 0,
  ERR_CANCELLED = 1,
  ERR_UNKNOWN = 2,
  ERR_INVALID = 3,
  ERR_DEADLINE = 4,
  ERR_NOT_FOUND = 5,
  ERR_ALREADY_EXISTS = 6,
  ERR_PERMISSION = 7,
  ERR_EXHAUSTED = 8,
  ERR_PRECONDITION = 9,
  ERR_ABORTED = 10,
  ERR_OUT_OF_RANGE = 11,
  ERR_UNIMPLEMENTED = 12,
  ERR_INTERNAL = 13,
  ERR_UNAVAILABLE = 14,
  ERR_DATA_LOSS = 15,
  ERR_UNAUTHENTICATED = 16,
  /* ctrx's own kinds start here */
  ERR_USAGE = 100, /* bad command line: exit 1 after the usage hint */
};

struct error {
  int code;      /* enum error_code */
  int sys_errno; /* errno at the point of failure, 0 if none */
  char *msg;     /* full message chain, "outer: inner: strerror" */
};

/* Set *err (which must be NULL) to a new error; with errnum != 0 the
 * strerror text is appended. Always returns -1 so callers can
 * `return error_set(...)`. With err == NULL the error is dropped. */
int error_set(struct error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int error_setv(struct error **err, int code, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* As error_set, with a code the caller can test with error_is(). */
int error_setc(struct error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the message of an existing error: "<fmt>: <old message>". Returns -1. */
int error_wrap(struct error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int error_is(const struct error *err, int code);
void error_free(struct error *err);
void error_freep(struct error **err);

#define cleanup_error __attribute__((cleanup(error_freep)))

#if defined(__clang_analyzer__) && !defined(CTRX_ERROR_DEFINE)
/* The static analyzer (make lint) sees one file at a time; without this it
 * takes `return error_set(...)` to possibly return 0 and follows paths on
 * which a failed call succeeded. */
#define error_set(...) (error_set(__VA_ARGS__), -1)
#define error_setv(...) (error_setv(__VA_ARGS__), -1)
#define error_setc(...) (error_setc(__VA_ARGS__), -1)
#define error_wrap(...) (error_wrap(__VA_ARGS__), -1)
#endif

#endif
