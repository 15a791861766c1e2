#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "../core/util.h"
#include "grpc.h"
#include "pb.h"

struct call {
	TAILQ_ENTRY(call)	 entry;
	struct grpc_conn	*c;
	int32_t			 stream;
	uint8_t			*req;		/* framed: flag, length, message */
	size_t			 reqlen, reqoff;
	struct pb_buf		 body;
	int			 http_status, is_grpc, have_status, status;
	char			*message;
	uint8_t			*details;
	size_t			 dlen;
	int64_t			 timeout_ms;
	struct event		*timer;
	grpc_cb			 cb;
	void			*arg;
};
TAILQ_HEAD(callq, call);

struct grpc_conn {
	struct event_base	*base;
	struct bufferevent	*bev;
	nghttp2_session		*s;
	struct callq		 calls;
	int			 dead, closing, connected;
	grpc_close_cb		 on_close;
	void			*arg;
	char			 authority[80];
	struct event		*reaper;
};

static const char *const code_names[] = { "OK", "CANCELLED", "UNKNOWN",
	"INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED" };

const char *
grpc_code_name(int code)
{
	return code >= 0 && (size_t)code < nitems(code_names) ? code_names[code] :
	    "UNKNOWN";
}

static void	flush(struct grpc_conn *);
static void	conn_fail(struct grpc_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* --- ending calls --------------------------------------------------------- */

static void
call_free(struct call *k)
{
	if (k->timer != NULL)
		event_free(k->timer);
	free(k->req);
	free(k->message);
	free(k->details);
	pb_buf_free(&k->body);
	free(k);
}

/* Run the callback once, detach the call from its stream, free it. */
static void
finish(struct call *k, int status, const char *msg, const uint8_t *resp, size_t len)
{
	struct grpc_conn *c = k->c;

	TAILQ_REMOVE(&c->calls, k, entry);
	if (k->stream > 0 && c->s != NULL)
		nghttp2_session_set_stream_user_data(c->s, k->stream, NULL);
	k->cb(status, msg != NULL ? msg : "", resp, len, k->details, k->dlen, k->arg);
	call_free(k);
}

static void
fail_all(struct grpc_conn *c, int status, const char *why)
{
	while (!TAILQ_EMPTY(&c->calls))
		finish(TAILQ_FIRST(&c->calls), status, why, NULL, 0);
}

static void
reap(evutil_socket_t fd, short what, void *arg)
{
	struct grpc_conn *c = arg;

	(void)fd;
	(void)what;
	fail_all(c, GRPC_UNAVAILABLE, "the connection was closed");
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->s != NULL)
		nghttp2_session_del(c->s);
	event_free(c->reaper);
	free(c);
}

/* The connection failed: fail its calls now, tell the owner, keep the memory
 * until the owner closes it (callbacks may still be on the stack). */
static void
conn_fail(struct grpc_conn *c, const char *fmt, ...)
{
	char why[300];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->dead = 1;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	fail_all(c, GRPC_UNAVAILABLE, why);
	if (c->on_close != NULL && !c->closing)
		c->on_close(c, why, c->arg);
}

void
grpc_close(struct grpc_conn *c)
{
	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	c->dead = 1;
	if (c->bev != NULL) {
		bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	}
	/*
	 * Freed from the loop, never under a callback of its own: made active
	 * (not a zero timer, which a single non-blocking loop turn may not
	 * reach yet, so a broker or CLI leaving right after leaked it).
	 */
	event_active(c->reaper, EV_TIMEOUT, 0);
}

int
grpc_conn_alive(const struct grpc_conn *c)
{
	return c != NULL && !c->dead;
}

int
grpc_conn_connected(const struct grpc_conn *c)
{
	return c != NULL && c->connected;
}

/* --- HTTP/2 callbacks ----------------------------------------------------- */


/* -bin headers are base64, usually without padding. */
static int
bin_header(const uint8_t *v, size_t n, uint8_t **out, size_t *outlen)
{
	char *padded = malloc(n + 4);
	ssize_t k;
	size_t i;

	if (padded == NULL || (*out = malloc(n + 1)) == NULL) {
		free(padded);
		return -1;
	}
	memcpy(padded, v, n);
	for (i = n; i % 4 != 0; i++)
		padded[i] = '=';
	k = base64_decode(padded, i, *out, n + 1);
	free(padded);
	if (k < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*outlen = (size_t)k;
	return 0;
}

static int
on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct call *k = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);

	(void)flags;
	(void)ud;
	if (k == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
#define IS(s)	(namelen == sizeof(s) - 1 && memcmp(name, s, namelen) == 0)
	if (IS(":status"))
		k->http_status = atoi((const char *)value);
	else if (IS("content-type"))
		k->is_grpc = valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0;
	else if (IS("grpc-status")) {
		k->have_status = 1;
		k->status = valuelen > 0 && valuelen < 4 ? atoi((const char *)value) :
		    GRPC_UNKNOWN;
	} else if (IS("grpc-message")) {
		free(k->message);
		k->message = percent_decode_text(value, valuelen);
	} else if (IS("grpc-status-details-bin")) {
		free(k->details);
		if (bin_header(value, valuelen, &k->details, &k->dlen) == -1)
			k->dlen = 0;
	}
#undef IS
	return 0;
}

static int
on_data(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data,
    size_t len, void *ud)
{
	struct call *k = nghttp2_session_get_stream_user_data(s, stream);

	(void)flags;
	(void)ud;
	if (k == NULL)
		return 0;
	if (k->body.len + len > GRPC_MAX_MESSAGE + 5) {
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
		finish(k, GRPC_RESOURCE_EXHAUSTED, "the response is over 16 MB", NULL, 0);
		return 0;
	}
	if (pb_put_bytes(&k->body, data, len) == -1)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* HTTP statuses of a peer that is not answering as gRPC (the gRPC spec's map). */
static int
http_to_grpc(int st)
{
	switch (st) {
	case 400:
		return GRPC_INTERNAL;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
		return GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_UNKNOWN;
	}
}

static void
complete(struct call *k, uint32_t error_code)
{
	char why[200];
	uint32_t n;

	if (k->http_status != 200 || (!k->is_grpc && !k->have_status)) {
		snprintf(why, sizeof(why), "not a gRPC answer: HTTP status %d%s",
		    k->http_status, k->is_grpc ? "" : ", content-type not application/grpc");
		finish(k, k->http_status == 0 ? GRPC_UNAVAILABLE : http_to_grpc(k->http_status),
		    why, NULL, 0);
		return;
	}
	if (!k->have_status) {
		snprintf(why, sizeof(why), error_code != 0 ? "the stream was reset"
		    " (HTTP/2 error %u)" : "the answer has no grpc-status", error_code);
		finish(k, error_code != 0 ? GRPC_UNAVAILABLE : GRPC_INTERNAL, why, NULL, 0);
		return;
	}
	if (k->status != GRPC_OK) {
		finish(k, k->status, k->message, NULL, 0);
		return;
	}
	/* One length-prefixed, uncompressed message. */
	if (k->body.len < 5 || k->body.p[0] != 0) {
		finish(k, GRPC_INTERNAL, k->body.len < 5 ? "the answer has no message" :
		    "the answer is compressed (none was asked for)", NULL, 0);
		return;
	}
	n = (uint32_t)k->body.p[1] << 24 | (uint32_t)k->body.p[2] << 16 |
	    (uint32_t)k->body.p[3] << 8 | k->body.p[4];
	if ((size_t)n != k->body.len - 5) {
		finish(k, GRPC_INTERNAL, "the answer's length prefix does not match its"
		    " data", NULL, 0);
		return;
	}
	finish(k, GRPC_OK, "", k->body.p + 5, n);
}

static int
on_stream_close(nghttp2_session *s, int32_t stream, uint32_t error_code, void *ud)
{
	struct call *k = nghttp2_session_get_stream_user_data(s, stream);

	(void)ud;
	if (k != NULL)
		complete(k, error_code);
	return 0;
}

static ssize_t
read_body(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct call *k = src->ptr;
	size_t n = k->reqlen - k->reqoff;

	(void)s;
	(void)stream;
	(void)ud;
	if (n > len)
		n = len;
	memcpy(buf, k->req + k->reqoff, n);
	k->reqoff += n;
	if (k->reqoff == k->reqlen)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* --- the socket ----------------------------------------------------------- */

static void
flush(struct grpc_conn *c)
{
	const uint8_t *data;
	ssize_t n;

	if (c->dead)
		return;
	while ((n = nghttp2_session_mem_send(c->s, &data)) > 0)
		if (bufferevent_write(c->bev, data, (size_t)n) == -1) {
			conn_fail(c, "cannot send to the plugin");
			return;
		}
	if (n < 0)
		conn_fail(c, "HTTP/2: %s", nghttp2_strerror((int)n));
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct grpc_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	unsigned char *data = evbuffer_pullup(in, -1);
	ssize_t n;

	if (len == 0)
		return;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		conn_fail(c, "the plugin answered HTTP/1.x, not HTTP/2 (gRPC)");
		return;
	}
	n = nghttp2_session_mem_recv(c->s, data, len);
	if (c->dead)
		return;
	if (n < 0) {
		conn_fail(c, "HTTP/2 from the plugin: %s", nghttp2_strerror((int)n));
		return;
	}
	evbuffer_drain(in, (size_t)n);
	flush(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct grpc_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		flush(c);
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_fail(c, "the plugin closed the connection");
	else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_fail(c, "connection to the plugin: %s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

struct grpc_conn *
grpc_connect(struct event_base *base, const char *host, int port, grpc_close_cb cb,
    void *arg)
{
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
	};
	struct sockaddr_in sin;
	struct grpc_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	TAILQ_INIT(&c->calls);
	c->base = base;
	c->on_close = cb;
	c->arg = arg;
	snprintf(c->authority, sizeof(c->authority), "%s:%d", host, port);
	if ((c->reaper = event_new(base, -1, 0, reap, c)) == NULL ||
	    nghttp2_session_callbacks_new(&cbs) != 0) {
		if (c->reaper)
			event_free(c->reaper);
		free(c);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	if (nghttp2_session_client_new(&c->s, cbs, c) != 0) {
		nghttp2_session_callbacks_del(cbs);
		event_free(c->reaper);
		free(c);
		return NULL;
	}
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, nitems(iv));
	nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 1 << 24);
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (c->bev == NULL || evutil_inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		c->dead = 1;
		grpc_close(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		c->dead = 1;
		grpc_close(c);
		return NULL;
	}
	flush(c);
	return c;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct call *k = arg;
	struct grpc_conn *c = k->c;
	char why[100];

	(void)fd;
	(void)what;
	if (k->stream > 0)
		nghttp2_submit_rst_stream(c->s, NGHTTP2_FLAG_NONE, k->stream, NGHTTP2_CANCEL);
	snprintf(why, sizeof(why), "no answer within the deadline of %lld ms",
	    (long long)k->timeout_ms);
	finish(k, GRPC_DEADLINE_EXCEEDED, why, NULL, 0);
	flush(c);
}

int
grpc_call(struct grpc_conn *c, const char *path, const uint8_t *req, size_t reqlen,
    int64_t timeout_ms, grpc_cb cb, void *arg)
{
	char tmo[32];
	nghttp2_nv hdrs[8];
	nghttp2_data_provider prd;
	struct timeval tv;
	struct call *k;
	size_t n = 0;

#define NV(nm, val)	do { hdrs[n].name = (uint8_t *)(nm); hdrs[n].namelen = strlen(nm); \
	hdrs[n].value = (uint8_t *)(val); hdrs[n].valuelen = strlen(val); \
	hdrs[n].flags = NGHTTP2_NV_FLAG_NONE; n++; } while (0)
	if (c == NULL || c->dead || reqlen > GRPC_MAX_MESSAGE ||
	    (k = calloc(1, sizeof(*k))) == NULL)
		return -1;
	k->c = c;
	k->cb = cb;
	k->arg = arg;
	k->timeout_ms = timeout_ms;
	k->reqlen = reqlen + 5;
	if ((k->req = malloc(k->reqlen)) == NULL ||
	    (k->timer = evtimer_new(c->base, on_deadline, k)) == NULL) {
		call_free(k);
		return -1;
	}
	k->req[0] = 0;
	k->req[1] = (uint8_t)(reqlen >> 24);
	k->req[2] = (uint8_t)(reqlen >> 16);
	k->req[3] = (uint8_t)(reqlen >> 8);
	k->req[4] = (uint8_t)reqlen;
	if (reqlen > 0)
		memcpy(k->req + 5, req, reqlen);
	snprintf(tmo, sizeof(tmo), "%lldm", (long long)timeout_ms);
	NV(":method", "POST");
	NV(":scheme", "http");
	NV(":path", path);
	NV(":authority", c->authority);
	NV("content-type", "application/grpc");
	NV("te", "trailers");
	NV("grpc-timeout", tmo);
	NV("user-agent", PACKAGE_NAME "/" PACKAGE_VERSION);
#undef NV
	prd.source.ptr = k;
	prd.read_callback = read_body;
	if ((k->stream = nghttp2_submit_request(c->s, NULL, hdrs, n, &prd, k)) < 0) {
		call_free(k);
		return -1;
	}
	TAILQ_INSERT_TAIL(&c->calls, k, entry);
	tv = tv_ms(timeout_ms);
	evtimer_add(k->timer, &tv);
	flush(c);
	return 0;
}
