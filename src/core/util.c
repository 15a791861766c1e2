#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	return tv;
}

int
parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * Parse "<number><unit>" where the number is a non-negative decimal that
 * may have a fraction ("1.5h").  units[] maps suffixes to multipliers;
 * the empty suffix gives the multiplier of a bare number.
 */
struct unit {
	const char	*suffix;
	double		 mult;
};

static int
parse_with_units(const char *s, const struct unit *units, size_t nunits,
    int64_t *out)
{
	char *end;
	double v;
	size_t i;

	if (s == NULL || !(isdigit((unsigned char)*s) || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		return -1;
	while (*end == ' ')
		end++;
	for (i = 0; i < nunits; i++) {
		if (strcasecmp(end, units[i].suffix) == 0) {
			double r = v * units[i].mult;

			if (r > (double)INT64_MAX / 2)
				return -1;
			*out = (int64_t)(r + 0.5);
			return 0;
		}
	}
	return -1;
}

int
parse_duration_ms(const char *s, int64_t *out)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};

	return parse_with_units(s, units, nitems(units), out);
}

int
parse_size(const char *s, int64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024 }, { "kb", 1024 }, { "kib", 1024 },
		{ "m", 1048576 }, { "mb", 1048576 }, { "mib", 1048576 },
		{ "g", 1073741824.0 }, { "gb", 1073741824.0 },
		{ "gib", 1073741824.0 },
	};

	return parse_with_units(s, units, nitems(units), out);
}

int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* The shortest exact spelling, so that -T output parses back unchanged. */
void
fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

size_t
strlcpy_(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n >= size ? size - 1 : n;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

/*
 * Read fd to EOF into a fresh NUL-terminated buffer owned by the caller.
 * Returns -1 with errno set, or -2 when the data exceeds limit.
 */
ssize_t
read_all_fd(int fd, char **bufp, size_t limit, size_t *lenp)
{
	return read_all_at(fd, -1, bufp, limit, lenp);
}

/*
 * With off >= 0, read with pread(2) from that offset: the file offset is
 * shared by every process holding a dup of the descriptor (the config
 * snapshot is read by each child), so it must not be moved.
 */
ssize_t
read_all_at(int fd, off_t off, char **bufp, size_t limit, size_t *lenp)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap + 1), *nb;
	ssize_t n;

	if (buf == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap > limit) {
				free(buf);
				return -2;
			}
			cap *= 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		n = off >= 0 ? pread(fd, buf + len, cap - len, off + (off_t)len) :
		    read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > limit) {
			free(buf);
			return -2;
		}
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return (ssize_t)len;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Create the directory that will hold path (one level, like "run/" for a
 * pid file or a socket) if it does not exist yet.
 */
int
ensure_parent_dir(const char *path, mode_t mode)
{
	char dir[4096], *slash;

	if (strlcpy_(dir, path, sizeof(dir)) >= sizeof(dir))
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Connect to a unix stream socket; -1 with errno on failure. */
int
unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ssize_t
base64_encode(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	uint32_t v;

	if (outlen < (len + 2) / 3 * 4 + 1)
		return -1;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (ssize_t)o;
}

static int
b64_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

static int
hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
}

/*
 * The gRPC spec's rule for a grpc-message that does not decode to UTF-8:
 * keep it, in its encoded form; the bytes of that which are not printable
 * ASCII are percent-encoded too, for the text goes into JSON.
 */
char *
percent_decode_text(const uint8_t *v, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * n + 1);
	size_t i, o = 0;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (v[i] == '%' && i + 2 < n && isxdigit(v[i + 1]) && isxdigit(v[i + 2])) {
			out[o++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
			i += 2;
		} else
			out[o++] = (char)v[i];
	}
	out[o] = '\0';
	if (utf8_valid(out, o))
		return out;
	for (i = o = 0; i < n; i++) {
		if (v[i] >= 0x20 && v[i] < 0x7f)
			out[o++] = (char)v[i];
		else {
			out[o++] = '%';
			out[o++] = hex[v[i] >> 4];
			out[o++] = hex[v[i] & 15];
		}
	}
	out[o] = '\0';
	return out;
}

ssize_t
base64_decode(const char *in, size_t len, void *out, size_t outlen)
{
	unsigned char *o = out;
	size_t i, n = 0, pad = 0;
	uint32_t v;
	int d, k;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	if (outlen < len / 4 * 3 - pad)
		return -1;
	for (i = 0; i < len; i += 4) {
		for (v = 0, k = 0; k < 4; k++) {
			if (i + (size_t)k >= len - pad) {
				v <<= 6;		/* padding */
				continue;
			}
			if ((d = b64_value(in[i + k])) == -1)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		o[n++] = v >> 16 & 0xff;
		if (i + 4 < len || pad < 2)
			o[n++] = v >> 8 & 0xff;
		if (i + 4 < len || pad < 1)
			o[n++] = v & 0xff;
	}
	return (ssize_t)n;
}

int
errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
dir_names(const char *dir, int (*want)(const char *), char ***namesp, size_t *np)
{
	char **names = NULL, **nv;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (!want(e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = reallocarray(names, cap, sizeof(*nv))) == NULL) {
				dir_names_free(names, n);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			names = nv;
		}
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
}

void
dir_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/*
 * The exporters write ISO 8601 in several ways: seconds left out (OCI's
 * "2023-11-13T10:00Z"), a space for the T and " UTC" for the zone
 * (BigQuery), offsets with or without the colon.  A date that does not
 * exist (2024-02-30) is refused rather than moved by timegm.
 */
int
time_parse(const char *v, size_t n, int64_t *out, int32_t *nanos)
{
	struct tm tm;
	char buf[48];
	int y, mo, d, h = 0, mi = 0, se = 0, k = 0, oh = 0, om = 0;
	int32_t scale = 100000000;
	const char *p;

	*nanos = 0;
	if (n < 10 || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (sscanf(buf, "%4d-%2d-%2d%n", &y, &mo, &d, &k) != 3 || k != 10)
		return -1;
	p = buf + 10;
	if ((*p == 'T' || *p == ' ') && isdigit((unsigned char)p[1])) {
		if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
			return -1;
		p += 1 + k;
		if (*p == ':') {
			if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
				return -1;
			se = (p[1] - '0') * 10 + (p[2] - '0');
			p += 3;
			if (*p == '.')
				for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
					*nanos += (int32_t)(*p - '0') * scale;
		}
	}
	if (*p == 'Z')
		p++;
	else if (strcmp(p, " UTC") == 0 || strcmp(p, "UTC") == 0)
		p += strlen(p);
	else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) == 2 && k == 5)
			p += 6;
		else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &k) == 2 && k == 4)
			p += 5;
		else
			return -1;
		if (oh > 23 || om > 59)
			return -1;
		oh *= sign;
		om *= sign;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm) - (int64_t)oh * 3600 - (int64_t)om * 60;
	return 0;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	uint32_t cp, min;
	size_t n, i;

	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2, cp = *p & 0x1f, min = 0x80;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3, cp = *p & 0x0f, min = 0x800;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4, cp = *p & 0x07, min = 0x10000;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

char *
utf8_escape(const char *s, size_t len, int json, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char *out, *o;
	size_t n;

	if (utf8_valid(s, len) || (out = malloc(5 * len + 1)) == NULL)
		return NULL;
	for (o = out; p < end; p += n) {
		if (*p < 0x80 || (n = utf8_seq(p, (size_t)(end - p))) == 0) {
			n = 1;
			if (*p >= 0x80) {
				o += sprintf(o, "%sx%02X", json ? "\\\\" : "\\", *p);
				continue;
			}
		}
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint64_t w;
	size_t n;

	while (p < end) {
		if (end - p >= 8) {
			memcpy(&w, p, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				p += 8;
				continue;
			}
		}
		if (*p < 0x80)
			n = 1;
		else if ((n = utf8_seq(p, (size_t)(end - p))) == 0)
			return 0;
		p += n;
	}
	return 1;
}
