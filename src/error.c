/* error.c defines the functions error.h stands in for under the analyzer. */
#define CTRX_ERROR_DEFINE
#include "error.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
error_setv(struct error **err, int code, int errnum, const char *fmt, va_list ap)
{
  char *msg = NULL;
  struct error *e;

  if (err == NULL)
    return -1;
  msg = xvasprintf(fmt, ap);
  if (errnum != 0) {
    char *full = xasprintf("%s: %s", msg, strerror(errnum));
    free(msg);
    msg = full;
  }
  e = xcalloc(1, sizeof(*e));
  e->code = code;
  e->sys_errno = errnum;
  e->msg = msg;
  /* A second error while one is pending keeps the first: it is the cause. */
  if (*err != NULL) {
    error_free(e);
    return -1;
  }
  *err = e;
  return -1;
}

int
error_set(struct error **err, int errnum, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  error_setv(err, ERR_GENERIC, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int
error_setc(struct error **err, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  error_setv(err, code, 0, fmt, ap);
  va_end(ap);
  return -1;
}

int
error_wrap(struct error **err, const char *fmt, ...)
{
  va_list ap;
  char *outer;
  char *full;

  if (err == NULL || *err == NULL)
    return -1;
  va_start(ap, fmt);
  outer = xvasprintf(fmt, ap);
  va_end(ap);
  full = xasprintf("%s: %s", outer, (*err)->msg);
  free(outer);
  free((*err)->msg);
  (*err)->msg = full;
  return -1;
}

int
error_is(const struct error *err, int code)
{
  return err != NULL && err->code == code;
}

void
error_free(struct error *err)
{
  if (err == NULL)
    return;
  free(err->msg);
  free(err);
}

void
error_freep(struct error **err)
{
  error_free(*err);
  *err = NULL;
}
