/* How core modules tell the user something that is not an error: a --debug
 * trace line, or a warning. Core modules never print; they hand each line to
 * the sink that main() sets (as libcurl's debug callback and libcrun's output
 * handler do), so a test, or a library user, can catch it instead. Without a
 * sink nothing is said. */
#ifndef CTRX_LOG_H
#define CTRX_LOG_H

#include <stdbool.h>

enum log_level {
  LOG_WARN,  /* always shown */
  LOG_DEBUG, /* shown with --debug */
};

/* Receives one line, without "ctrx: " and without the newline. May be
 * called from several threads at once. */
typedef void (*log_sink_fn)(enum log_level level, const char *line, void *data);

/* Set once, before any other thread starts. debug: whether LOG_DEBUG lines
 * are wanted at all (log_debug_on() tells callers, so that they can skip
 * building a line nobody reads). */
void log_set_sink(log_sink_fn fn, void *data, bool debug);
bool log_debug_on(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
