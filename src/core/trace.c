#include "config.h"

#include <sys/random.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "trace.h"
#include "util.h"

static struct {
	int		 enabled;
	double		 rate;
	span_sink	 sink;
	struct trace_ctx current;
	int		 has_current;
} T;

void
trace_init(const struct conf *c, span_sink sink)
{
	const char *v;
	char *end;
	double r;

	T.enabled = c->tracing_enabled;
	T.rate = c->tracing_sample_rate;
	if ((v = getenv("OTEL_SDK_DISABLED")) != NULL && strcasecmp(v, "true") == 0)
		T.enabled = 0;
	if ((v = getenv("OTEL_TRACES_SAMPLER_ARG")) != NULL) {
		r = strtod(v, &end);
		if (end != v && *end == '\0' && r >= 0 && r <= 1)
			T.rate = r;
	}
	T.sink = sink;
}

int
trace_enabled(void)
{
	return T.enabled && T.sink != NULL;
}

/*
 * n bytes from the kernel, through interruptions and short reads.  With
 * none to be had, ids would be guessable: the process stops (and the
 * master starts another) rather than hand them out.
 */
static void
kernel_random(unsigned char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = getrandom(p, n, 0)) == -1) {
			if (errno == EINTR)
				continue;
			logmsg(LOG_ALERT, "getrandom: %s: no random ids can be made",
			    strerror(errno));
			_exit(1);
		}
		p += r;
		n -= (size_t)r;
	}
}

/*
 * The kernel's random bytes, drawn 512 at a time: libevent's generator, on
 * glibc's arc4random, made a getrandom call for each id, two a request.
 * (OpenSSL's RAND_bytes takes twice a getrandom call's time.)  Workers are
 * each exec'd, so no two processes share the pool.
 */
static void
random_bytes(void *p, size_t n)
{
	static unsigned char pool[512];
	static size_t left;

	if (n > sizeof(pool) / 2) {
		kernel_random(p, n);
		return;
	}
	if (left < n) {
		kernel_random(pool, sizeof(pool));
		left = sizeof(pool);
	}
	memcpy(p, pool + sizeof(pool) - left, n);
	explicit_bzero(pool + sizeof(pool) - left, n);	/* handed out once */
	left -= n;
}

int
trace_sample(void)
{
	uint32_t x;

	if (!trace_enabled() || T.rate <= 0)
		return 0;
	if (T.rate >= 1)
		return 1;
	random_bytes(&x, sizeof(x));
	return (double)x / 4294967296.0 < T.rate;
}

void
trace_random_hex(char *out, size_t bytes)
{
	unsigned char rnd[16];

	random_bytes(rnd, bytes);
	hex_encode(rnd, bytes, out);
}

/* Lowercase hex, exactly n characters; nonzero: not all zeros too. */
static int
lhex(const char *s, size_t n, int nonzero)
{
	size_t i;
	int any = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'a' || s[i] > 'f'))
			return 0;
		any |= s[i] != '0';
	}
	return !nonzero || any;
}

/*
 * Version 00 is exactly 55 characters; a later version may append fields
 * after a "-"; version ff is invalid; ids are not all zeros.
 */
int
trace_parse(const char *h, struct trace_ctx *ctx)
{
	size_t n = h ? strlen(h) : 0;
	unsigned flags;

	if (h == NULL || n < 55 || !lhex(h, 2, 0) || strncmp(h, "ff", 2) == 0 ||
	    h[2] != '-' || !lhex(h + 3, 32, 1) || h[35] != '-' || !lhex(h + 36, 16, 1) ||
	    h[52] != '-' || !lhex(h + 53, 2, 0) ||
	    !(n == 55 || (strncmp(h, "00", 2) != 0 && h[55] == '-')))
		return -1;
	memcpy(ctx->trace_id, h + 3, 32);
	ctx->trace_id[32] = '\0';
	memcpy(ctx->span_id, h + 36, 16);
	ctx->span_id[16] = '\0';
	sscanf(h + 53, "%2x", &flags);
	ctx->sampled = flags & 1;
	return 0;
}

void
trace_format(const struct trace_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "00-%s-%s-%s", ctx->trace_id, ctx->span_id,
	    ctx->sampled ? "01" : "00");
}

const struct trace_ctx *
trace_current(void)
{
	return T.has_current ? &T.current : NULL;
}

void
trace_set_current(const struct trace_ctx *ctx)
{
	T.has_current = ctx != NULL && ctx->trace_id[0];
	if (T.has_current)
		T.current = *ctx;
}

void
trace_push(const struct trace_ctx *ctx, struct trace_saved *saved)
{
	saved->had = T.has_current;
	if (saved->had)
		saved->ctx = T.current;
	trace_set_current(ctx);
}

void
trace_pop(const struct trace_saved *saved)
{
	trace_set_current(saved->had ? &saved->ctx : NULL);
}

/* --- spans ------------------------------------------------------------------ */

static uint64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void
span_start(struct span *s, const struct trace_ctx *parent, const char *name,
    enum span_kind kind)
{
	memset(s, 0, sizeof(*s));
	if (parent != NULL && parent->trace_id[0]) {
		strlcpy_(s->ctx.trace_id, parent->trace_id, sizeof(s->ctx.trace_id));
		strlcpy_(s->parent, parent->span_id, sizeof(s->parent));
		s->ctx.sampled = parent->sampled;
	} else {
		trace_random_hex(s->ctx.trace_id, 16);
		s->ctx.sampled = trace_sample();
	}
	trace_random_hex(s->ctx.span_id, 8);
	strlcpy_(s->name, name, sizeof(s->name));
	s->kind = kind;
	s->start_ns = wall_ns();
}

/* Whether the span is exported: attributes of one that is not are not built. */
static int
recording(const struct span *s)
{
	return s->ctx.sampled && trace_enabled();
}

static void
attr(struct span *s, const char *key, struct json_object *value)
{
	struct json_object *a;

	if (s->attrs == NULL)
		s->attrs = json_object_new_array();
	a = json_object_new_object();
	json_object_object_add(a, "key", json_object_new_string(key));
	json_object_object_add(a, "value", value);
	json_object_array_add(s->attrs, a);
}

void
span_attr_str(struct span *s, const char *key, const char *value)
{
	struct json_object *v;

	if (!recording(s))
		return;
	v = json_object_new_object();
	json_object_object_add(v, "stringValue", json_object_new_string(value ? value : ""));
	attr(s, key, v);
}

void
span_attr_int(struct span *s, const char *key, int64_t value)
{
	struct json_object *v;
	char buf[32];

	if (!recording(s))
		return;
	v = json_object_new_object();
	/* OTLP/JSON: 64-bit integers as decimal strings. */
	snprintf(buf, sizeof(buf), "%lld", (long long)value);
	json_object_object_add(v, "intValue", json_object_new_string(buf));
	attr(s, key, v);
}

void
span_fail(struct span *s, const char *message)
{
	s->error = 1;
	strlcpy_(s->message, message ? message : "", sizeof(s->message));
}

void
span_end(struct span *s)
{
	struct json_object *o, *st;
	char buf[32];

	if (!recording(s)) {
		json_object_put(s->attrs);	/* made before tracing was turned off */
		s->attrs = NULL;
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "traceId", json_object_new_string(s->ctx.trace_id));
	json_object_object_add(o, "spanId", json_object_new_string(s->ctx.span_id));
	if (s->parent[0])
		json_object_object_add(o, "parentSpanId", json_object_new_string(s->parent));
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "kind", json_object_new_int(s->kind));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->start_ns);
	json_object_object_add(o, "startTimeUnixNano", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)wall_ns());
	json_object_object_add(o, "endTimeUnixNano", json_object_new_string(buf));
	json_object_object_add(o, "attributes", s->attrs ? s->attrs : json_object_new_array());
	s->attrs = NULL;
	st = json_object_new_object();
	json_object_object_add(st, "code", json_object_new_int(s->error ? 2 : 0));
	if (s->error && s->message[0])
		json_object_object_add(st, "message", json_object_new_string(s->message));
	json_object_object_add(o, "status", st);
	T.sink(o);
}
