#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "log.h"
#include "util.h"

static struct {
	char		 role[16];
	int		 slot;
	uint32_t	 gen;
	int		 level;
	int		 text;
	int		 fd;		/* master: output fd */
	int		 chan;		/* child: master channel */
	char		 path[4096];	/* master: file to reopen, "" for stdio */
} lg = { "master", -1, 0, LOG_INFO, 0, 2, -1, "" };

void
log_init(const char *role, int slot, uint32_t gen)
{
	strlcpy_(lg.role, role, sizeof(lg.role));
	lg.slot = slot;
	lg.gen = gen;
}

void
log_set_level(int level)
{
	lg.level = level;
}

int
log_enabled(int level)
{
	return level >= lg.level;
}

int
log_get_level(void)
{
	return lg.level;
}

void
log_set_format(int text)
{
	lg.text = text;
}

void
log_set_channel(int fd)
{
	lg.chan = fd;
}

static int
open_output(const char *output)
{
	if (strcmp(output, "stdout") == 0)
		return 1;
	if (strcmp(output, "stderr") == 0)
		return 2;
	return open(output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int
log_open(const char *output)
{
	int fd = open_output(output);

	if (fd == -1)
		return -1;
	if (lg.fd > 2)
		close(lg.fd);
	lg.fd = fd;
	if (fd > 2)
		strlcpy_(lg.path, output, sizeof(lg.path));
	else
		lg.path[0] = '\0';
	return 0;
}

/*
 * Reopen in place: the new file is dup2()ed onto the old number, so the
 * fd never changes and no line can go to a closed descriptor.
 */
int
log_reopen(void)
{
	int fd;

	if (lg.path[0] == '\0')
		return 0;
	if ((fd = open_output(lg.path)) == -1)
		return -1;
	if (dup2(fd, lg.fd) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

void
log_write_line(const char *line, size_t len)
{
	char buf[CHAN_MAX_PAYLOAD + 2];

	if (len > CHAN_MAX_PAYLOAD)
		len = CHAN_MAX_PAYLOAD;
	memcpy(buf, line, len);
	buf[len++] = '\n';
	(void)write_all(lg.fd, buf, len);
}

static void
timestamp(char *buf, size_t len)
{
	int64_t ms = wall_ms();
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
}

static void	emit_line(const char *, size_t);

/*
 * A path, a header or a file name may carry bytes that are not UTF-8: they
 * are written \xHH, so that every JSON line stays JSON.
 */
static void
emit(const char *line, size_t len)
{
	size_t n;
	char *esc = utf8_escape(line, len, !lg.text, &n);

	if (esc != NULL) {
		emit_line(esc, n);
		free(esc);
	} else
		emit_line(line, len);
}

static void
emit_line(const char *line, size_t len)
{
	if (lg.chan >= 0) {
		if (chan_send(lg.chan, MSG_LOG, lg.gen, lg.slot, line, len, -1) == 0)
			return;
		/* The master is gone: stderr is the last resort. */
		(void)write_all(2, line, len);
		(void)write_all(2, "\n", 1);
		return;
	}
	log_write_line(line, len);
}

static void
emit_text(int level, const char *ts, const char *msg, struct json_object *f)
{
	char line[CHAN_MAX_PAYLOAD];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s [%s] %s[%d]: %s", ts,
	    log_level_name(level), lg.role, (int)getpid(), msg);
	if (f != NULL && n < sizeof(line)) {
		json_object_object_foreach(f, k, v) {
			if (n >= sizeof(line))
				break;
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%s", k,
			    json_object_get_string(v));
		}
	}
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	emit(line, n);
}

static void	vlog(int, struct json_object *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

static void
vlog(int level, struct json_object *fields, const char *fmt, va_list ap)
{
	struct json_object *o;
	const char *s;
	char msg[8192], ts[40];

	if (!log_enabled(level)) {
		json_object_put(fields);
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	timestamp(ts, sizeof(ts));
	if (lg.text) {
		emit_text(level, ts, msg, fields);
		json_object_put(fields);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "timestamp", json_object_new_string(ts));
	json_object_object_add(o, "level", json_object_new_string(log_level_name(level)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "service", json_object_new_string(PCM_NAME));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "role", json_object_new_string(lg.role));
	if (lg.slot >= 0) {
		json_object_object_add(o, "slot", json_object_new_int(lg.slot));
		json_object_object_add(o, "generation", json_object_new_int64(lg.gen));
	}
	if (fields != NULL) {
		json_object_object_foreach(fields, k, v)
			json_object_object_add(o, k, json_object_get(v));
		json_object_put(fields);
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	emit(s, strlen(s));
	json_object_put(o);
}

void
logmsg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void
logkv(int level, struct json_object *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fields, fmt, ap);
	va_end(ap);
}
