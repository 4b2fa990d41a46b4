#include "log.h"

#include <stdarg.h>

#include "util.h"

static log_sink_fn sink;
static void *sink_data;
static bool debug_on;

void
log_set_sink(log_sink_fn fn, void *data, bool debug)
{
  sink = fn;
  sink_data = data;
  debug_on = debug;
}

bool
log_debug_on(void)
{
  return sink != NULL && debug_on;
}

static void
say(enum log_level level, const char *fmt, va_list ap)
{
  cleanup_free char *line = xvasprintf(fmt, ap);
  sink(level, line, sink_data);
}

void
log_debug(const char *fmt, ...)
{
  va_list ap;

  if (!log_debug_on())
    return;
  va_start(ap, fmt);
  say(LOG_DEBUG, fmt, ap);
  va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
  va_list ap;

  if (sink == NULL)
    return;
  va_start(ap, fmt);
  say(LOG_WARN, fmt, ap);
  va_end(ap);
}
