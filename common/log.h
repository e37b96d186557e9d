/*
 * log.h: one line per event on stderr, as text or JSON.
 * Messages conventionally start with a tag such as "[API] "; in JSON format the
 * tag becomes its own field. Safe to call from any thread.
 */
#ifndef PM_LOG_H
#define PM_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Call once at start (before threads); `level` and `format` are config strings
 * ("error|warn|info|debug", "text|json"). Returns 0, or -1 on an unknown value. */
int log_init(const char *progname, const char *level, const char *format);
int log_level_parse(const char *s);
int log_enabled(enum log_level level);

/*
 * Write the lines to `path` (appended, created 0640) instead of stderr: the
 * file is put in place of file descriptor 2, so whatever else writes to stderr
 * lands there too. log_reopen opens the same path again (after logrotate
 * renamed it: call it on SIGHUP, from a normal thread, not a handler). The
 * swap is one dup2(), so a line written meanwhile goes to the old file or the
 * new one, whole. 0, or -1 with errno (the old file stays in use).
 */
int log_open_file(const char *path);
int log_reopen(void);

/* log_warn adds ": strerror(errno)". */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vlog(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Start-up failures only: log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
