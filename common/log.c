/*
 * log.c: the process-wide logger. A line is formatted into one buffer and
 * written with a single write(2), so lines from several threads never mix. Not
 * here: time formatting (clock.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "clock.h"
#include "log.h"

static const char *log_prog = "printmaster";
static int log_cur = LOG_LEVEL_INFO;
static int log_json;

static char log_path[4096];

static const char *const log_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

int
log_init(const char *progname, const char *level, const char *format)
{
	int l;

	if (progname)
		log_prog = progname;
	if (level) {
		if ((l = log_level_parse(level)) < 0)
			return -1;
		log_cur = l;
	}
	if (format) {
		if (strcmp(format, "json") == 0)
			log_json = 1;
		else if (strcmp(format, "text") == 0)
			log_json = 0;
		else
			return -1;
	}
	return 0;
}

int
log_open_file(const char *path)
{
	int fd, saved;

	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (dup2(fd, STDERR_FILENO) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	if (log_path != path)
		memcpy(log_path, path, strlen(path) + 1);
	return 0;
}

int
log_reopen(void)
{
	if (!log_path[0])
		return 0;
	return log_open_file(log_path);
}

int
log_enabled(enum log_level level)
{
	return (int)level <= log_cur;
}

/* Bytes from requests (paths, headers) reach log lines: a control character
 * could forge a line of its own, so each becomes '?'. */
static void
log_clean(char *s, int ascii_only)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (ascii_only && (unsigned char)*s >= 0x80))
			*s = '?';
}

static void
log_emit(enum log_level level, char *msg)
{
	char ts[CLOCK_ISO_MS_LEN], line[4096];
	struct timespec now;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	clock_iso8601_ms(now.tv_sec, (int)(now.tv_nsec / 1000000), ts);

	if (log_json) {
		const char *text = msg, *end;
		char tag[32] = "";
		json_t *o;
		char *s;

		if (msg[0] == '[' && (end = strchr(msg, ']')) != NULL &&
		    (size_t)(end - msg) < sizeof(tag)) {
			memcpy(tag, msg + 1, (size_t)(end - msg - 1));
			tag[end - msg - 1] = '\0';
			text = end + 1;
			while (*text == ' ')
				text++;
		}
		o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level", log_names[level],
		    "prog", log_prog, "msg", text);
		if (!o) {
			/* Not UTF-8 (a raw byte from a request): keep the line. */
			log_clean(msg, 1);
			o = json_pack("{s:s,s:s,s:s,s:s}", "ts", ts, "level",
			    log_names[level], "prog", log_prog, "msg", text);
		}
		if (o && tag[0])
			json_object_set_new(o, "tag", json_string(tag));
		s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(o);
		if (!s)
			return;
		n = snprintf(line, sizeof(line), "%s\n", s);
		free(s);
	} else {
		n = snprintf(line, sizeof(line), "%s %s %s: %s\n", ts, log_prog,
		    log_names[level], msg);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line; a short write to stderr is not worth retrying. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
log_vlog(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_clean(msg, 0);
	log_emit(level, msg);
}

#define LOG_FN(name, lvl)                         \
	void name(const char *fmt, ...)           \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		log_vlog(lvl, fmt, ap);           \
		va_end(ap);                       \
	}

LOG_FN(log_warnx, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
log_warn(const char *fmt, ...)
{
	char msg[2048];
	int saved = errno;
	va_list ap;

	if (!log_enabled(LOG_LEVEL_WARN))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", msg, strerror(saved));
}

void
fatal(const char *fmt, ...)
{
	char msg[2048];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s: %s", msg, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
