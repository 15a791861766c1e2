/*
 * Small helpers shared by every module: monotonic and wall clocks,
 * duration and size parsing, safe string copies, fd flags.
 */
#ifndef PCM_UTIL_H
#define PCM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#define PCM_NAME "pulumicost-mcp"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

int64_t	 now_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
int64_t	 wall_ms(void);		/* CLOCK_REALTIME, milliseconds */
uint64_t mono_usec(void);	/* CLOCK_MONOTONIC, microseconds */
struct timeval tv_ms(int64_t ms);	/* for libevent timers */

/* "30s", "5m", "1h", "250ms", "2d" or a bare number of seconds. */
int	 parse_duration_ms(const char *s, int64_t *out);
/* "10MB", "512k", "1GiB" or a bare number of bytes. */
int	 parse_size(const char *s, int64_t *out);
int	 parse_int64(const char *s, int64_t *out);
int	 parse_bool(const char *s, int *out);

void	 fmt_duration(int64_t ms, char *buf, size_t len);

size_t	 strlcpy_(char *dst, const char *src, size_t size);
/* n bytes as 2n lowercase hex digits and a NUL in out. */
void	 hex_encode(const unsigned char *in, size_t n, char *out);
/* The length of the UTF-8 sequence at p (a byte >= 0x80, avail bytes
 * there), or 0 when it is not RFC 3629: overlong, a surrogate, past
 * U+10FFFF, or cut short. */
size_t	 utf8_seq(const unsigned char *p, size_t avail);
/* 1 when s is RFC 3629 UTF-8.  ASCII runs go eight bytes at a time. */
int	 utf8_valid(const char *s, size_t len);
/*
 * Text with each byte that is not part of a UTF-8 sequence written \xHH,
 * as nginx logs them; with json, the backslash is escaped (\\xHH), for text
 * json-c wrote, which passes such bytes through inside its strings.  NULL
 * when the text is UTF-8 already (or out of memory): use it as it is.
 */
char	*utf8_escape(const char *s, size_t len, int json, size_t *outlen);
int	 set_nonblock(int fd, int on);
int	 set_cloexec(int fd, int on);
ssize_t	 read_all_fd(int fd, char **buf, size_t limit, size_t *len);
ssize_t	 read_all_at(int fd, off_t off, char **buf, size_t limit, size_t *len);
int	 write_all(int fd, const void *buf, size_t len);
int	 ensure_parent_dir(const char *path, mode_t mode);
int	 unix_connect(const char *path);
/*
 * The names in dir that want() accepts, sorted (the same order every time):
 * 0 with a malloc'd array the caller frees with dir_names_free, or -1 with
 * errno set.
 */
int	 dir_names(const char *dir, int (*want)(const char *), char ***names,
	    size_t *n);
void	 dir_names_free(char **names, size_t n);
/* Format a message into err and return -1: the error idiom of parsers. */
int	 errorf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * RFC 4648 Base64, standard alphabet with padding.  Encoding writes a NUL
 * terminated string and returns its length, or -1 when out is too small.
 * Decoding is strict (length a multiple of 4, padding only at the end, no
 * other characters) and returns the decoded length, or -1.
 */
ssize_t	 base64_encode(const void *in, size_t len, char *out, size_t outlen);
ssize_t	 base64_decode(const char *in, size_t len, void *out, size_t outlen);

/*
 * Percent-encoded UTF-8 (gRPC's grpc-message) decoded into a new string;
 * when that is not UTF-8, the encoded form, with the bytes that are not
 * printable ASCII encoded too.  NULL when out of memory.
 */
char	*percent_decode_text(const uint8_t *v, size_t n);

/*
 * A date ("2024-09-18"), "YYYY-MM-DD HH:MM[:SS]" or ISO 8601 / RFC 3339
 * (T, Z, " UTC", an offset with or without its colon, fractions to the
 * nanosecond), as UTC seconds and nanoseconds: 0, or -1 (also for a day
 * the month does not have).
 */
int	 time_parse(const char *, size_t, int64_t *sec, int32_t *nanos);

#endif
