#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <json-c/json.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/util.h"
#include "http.h"

#define MAX_HEADERS	100
#define LINGER_MS	2000

enum cstate {
	ST_IDLE,	/* between requests, nothing read yet */
	ST_HEADERS,	/* reading the request line and headers */
	ST_BODY,	/* reading the body */
	ST_HANDLING,	/* waiting for the handler's reply */
	ST_WRITING,	/* flushing the response */
	ST_LINGER	/* response sent, discarding input before close */
};

struct http_listener {
	struct evconnlistener	*l;
	SSL_CTX			*tls;
	int			 is_unix;
	struct http_server	*srv;
	http_raw_accept		 raw;		/* another protocol's connections */
	void			*raw_arg;
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	struct event		*timer;
	int			 state;
	int			 tls;
	int			 handshaking;	/* TLS, not yet finished */
	char			*peer_subject;	/* verified client certificate */
	char			*peer_cn;
	int			 listener;	/* index in srv->ls */
	struct http_request	*req;
	char			 remote[64];
	size_t			 header_bytes;
	int			 close_after;
	int			 gone;
	unsigned		 nreq;		/* requests completed */
	/* body */
	size_t			 need;		/* Content-Length still to read */
	int			 chunked;
	int			 chunk_state;	/* 0 size line, 1 data, 2 CRLF, 3 trailers */
	size_t			 chunk_left;
	struct evbuffer		*body;
};
TAILQ_HEAD(connq, http_conn);

struct http_server {
	struct event_base	*base;
	struct http_limits	 lim;
	http_handler		 handler;
	void			*arg;
	struct http_listener	 ls[64];
	int			 nls;
	struct connq		 conns;
	int			 nconns;
	int			 draining;
	int			 paused;
	struct event		*resume;	/* re-enable accept after EMFILE */
	void			(*on_close)(void *);
	void			*on_close_arg;
};

static void	conn_free(struct http_conn *);
static void	conn_process(struct http_conn *);
static void	start_linger(struct http_conn *);

/* --- helpers -------------------------------------------------------------- */

const char *
http_reason(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default:  return "Unknown";
	}
}

static void
timer_set(struct http_conn *c, int64_t ms)
{
	struct timeval tv = tv_ms(ms);

	evtimer_add(c->timer, &tv);
}

static void
req_free(struct http_request *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	for (i = 0; i < r->nrhdrs; i++) {
		free(r->rhdrs[i].name);
		free(r->rhdrs[i].value);
	}
	free(r->hdrs);
	free(r->rhdrs);
	free(r->target);
	free(r->path);
	free(r->body);
	free(r);
}

const char *
http_header(const struct http_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

static int
hdr_push(struct http_header **v, size_t *n, const char *name,
    const char *value)
{
	struct http_header *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	nv[*n].name = strdup(name);
	nv[*n].value = strdup(value);
	if (nv[*n].name == NULL || nv[*n].value == NULL) {
		free(nv[*n].name);
		free(nv[*n].value);
		return -1;
	}
	(*n)++;
	return 0;
}

int
http_add_header(struct http_request *r, const char *name, const char *value)
{
	return hdr_push(&r->rhdrs, &r->nrhdrs, name, value);
}

static int
is_tchar(int ch)
{
	return isalnum(ch) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int
valid_request_id(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!(isalnum((unsigned char)*s) || strchr("-_.:", *s)))
			return 0;
	return n > 0 && n <= 64;
}

static void
make_request_id(struct http_request *r)
{
	const char *h = http_header(r, "X-Request-Id");

	if (h != NULL && valid_request_id(h)) {
		strlcpy_(r->request_id, h, sizeof(r->request_id));
		return;
	}
	memcpy(r->request_id, "req-", 4);
	trace_random_hex(r->request_id + 4, 12);
}

/*
 * W3C trace context: a valid traceparent continues the caller's trace
 * (and its sampling decision); otherwise a new trace starts here.  Our
 * span id is always new.
 */
static void
make_trace(struct http_request *r)
{
	struct trace_ctx parent;

	if (trace_parse(http_header(r, "traceparent"), &parent) == -1)
		parent.trace_id[0] = '\0';
	span_start(&r->span, &parent, "HTTP", SPAN_SERVER);
}

/* The connection's verified client certificate, for auth and the log. */
static void
peer_to_request(const struct http_conn *c, struct http_request *r)
{
	if (c->peer_subject != NULL)
		strlcpy_(r->client_subject, c->peer_subject, sizeof(r->client_subject));
	if (c->peer_cn != NULL)
		strlcpy_(r->client_cn, c->peer_cn, sizeof(r->client_cn));
}

/* --- responses ------------------------------------------------------------ */

/* A method label from a fixed set: client bytes never become a series. */
static const char *
method_label(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "OPTIONS", "PATCH" };
	size_t i;

	for (i = 0; i < nitems(known); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static void
count_request(const struct http_request *r)
{
	const char *route = r->route ? r->route : "other";
	const char *m = method_label(r->method);
	char l[160], st[16];

	snprintf(st, sizeof(st), "%d", r->status);
	metrics_add(MET_HTTP_REQUESTS, metrics_labels(l, sizeof(l), "method", m,
	    "path", route, "status", st, NULL), 1);
	metrics_observe(MET_HTTP_DURATION, metrics_labels(l, sizeof(l), "method",
	    m, "path", route, NULL), (double)(mono_usec() - r->start_us) / 1e6);
}

/* Our SERVER span, named by route (OTel HTTP semantic conventions). */
static void
end_span(struct http_request *r)
{
	struct span *s = &r->span;

	snprintf(s->name, sizeof(s->name), "%s %s", method_label(r->method),
	    r->route ? r->route : "other");
	span_attr_str(s, "http.request.method", method_label(r->method));
	span_attr_str(s, "url.path", r->path ? r->path : "");
	if (r->route)
		span_attr_str(s, "http.route", r->route);
	span_attr_int(s, "http.response.status_code", r->status);
	span_attr_str(s, "client.address", r->remote);
	span_attr_str(s, "http.request.header.x-request-id", r->request_id);
	if (r->user[0])
		span_attr_str(s, "enduser.id", r->user);
	if (r->status >= 500)
		span_fail(s, http_reason(r->status));
	span_end(s);
}

static void
access_log(struct http_request *r, size_t bytes)
{
	struct json_object *f;
	int64_t ms = now_ms() - r->start_ms;

	count_request(r);
	end_span(r);
	if (!log_enabled(LOG_INFO))
		return;
	f = json_object_new_object();
	json_object_object_add(f, "request_id", json_object_new_string(r->request_id));
	json_object_object_add(f, "method", json_object_new_string(r->method));
	json_object_object_add(f, "path", json_object_new_string(r->path ? r->path : "-"));
	json_object_object_add(f, "status", json_object_new_int(r->status));
	json_object_object_add(f, "duration_ms", json_object_new_int64(ms));
	json_object_object_add(f, "remote_addr", json_object_new_string(r->remote));
	json_object_object_add(f, "trace_id", json_object_new_string(r->span.ctx.trace_id));
	json_object_object_add(f, "span_id", json_object_new_string(r->span.ctx.span_id));
	json_object_object_add(f, "trace_flags", json_object_new_string(r->span.ctx.sampled ?
	    "01" : "00"));
	if (r->span.parent[0])
		json_object_object_add(f, "parent_span_id", json_object_new_string(r->span.parent));
	if (r->user[0])
		json_object_object_add(f, "user_id", json_object_new_string(r->user));
	if (r->client_subject[0])
		json_object_object_add(f, "client_subject",
		    json_object_new_string(r->client_subject));
	json_object_object_add(f, "bytes_sent", json_object_new_int64((int64_t)bytes));
	logkv(LOG_INFO, f, "http request");
}

/* "name: value" and its line end, without a format to parse. */
static void
add_header_line(struct evbuffer *out, const char *name, const char *value)
{
	evbuffer_add(out, name, strlen(name));
	evbuffer_add(out, ": ", 2);
	evbuffer_add(out, value, strlen(value));
	evbuffer_add(out, "\r\n", 2);
}

/* The status line and headers; len < 0 means a chunked (streamed) body. */
static void
write_head(struct http_request *r, int status, const char *ctype, ssize_t len)
{
	static time_t date_at;
	static char date[40];
	struct http_conn *c = r->conn;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t i, before = evbuffer_get_length(out);
	char length[48] = "";
	const char *ts;
	struct tm tm;
	time_t t;

	r->status = status;
	if (c->srv->draining || !r->keepalive)
		c->close_after = 1;
	/* HTTP/1.0 has no chunked coding: the end of a stream is the close. */
	if (len < 0 && r->minor == 0)
		c->close_after = 1;
	/* The date changes once a second (nginx caches it so too). */
	if ((t = time(NULL)) != date_at) {
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		date_at = t;
	}
	if (len >= 0)
		snprintf(length, sizeof(length), "Content-Length: %zd\r\n", len);
	else if (r->minor >= 1)
		strlcpy_(length, "Transfer-Encoding: chunked\r\n", sizeof(length));
	/* One format for the fixed part; our span of the caller's trace in
	 * traceparent, so a client can correlate. */
	evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\nServer: %s/%s\r\nDate: %s\r\n"
	    "%s%s%s%sX-Request-Id: %s\r\ntraceparent: 00-%s-%s-%s\r\n",
	    r->minor == 0 ? 0 : 1, status, http_reason(status), PCM_NAME,
	    PACKAGE_VERSION, date, ctype ? "Content-Type: " : "", ctype ? ctype : "",
	    ctype ? "\r\n" : "", length, r->request_id, r->span.ctx.trace_id,
	    r->span.ctx.span_id, r->span.ctx.sampled ? "01" : "00");
	if ((ts = http_header(r, "tracestate")) != NULL && strlen(ts) <= 512 &&
	    strpbrk(ts, "\r\n") == NULL)
		add_header_line(out, "tracestate", ts);
	for (i = 0; i < r->nrhdrs; i++)
		add_header_line(out, r->rhdrs[i].name, r->rhdrs[i].value);
	if (c->close_after)
		add_header_line(out, "Connection", "close");
	else if (r->minor == 0)
		add_header_line(out, "Connection", "keep-alive");
	evbuffer_add(out, "\r\n", 2);
	r->bytes_sent += evbuffer_get_length(out) - before;
}

/* The response is complete: log it, free the request, flush. */
static void
finish_response(struct http_request *r)
{
	struct http_conn *c = r->conn;
	struct timeval wtv;

	access_log(r, r->bytes_sent);
	c->req = NULL;
	req_free(r);
	if (c->gone) {
		/* The client left while we worked: nothing to send to. */
		conn_free(c);
		return;
	}
	c->state = ST_WRITING;
	evtimer_del(c->timer);
	wtv = tv_ms(c->srv->lim.write_timeout_ms);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
json_sent(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	json_object_put(arg);
}

/*
 * The head, then the body: sent from where it is when o owns it (o is
 * released once it has gone, or with the connection), else copied.
 */
static void
reply(struct http_request *r, int status, const char *ctype, const char *body,
    size_t len, struct json_object *o)
{
	struct http_conn *c = r->conn;
	struct evbuffer *out;

	if (!c->gone) {
		write_head(r, status, ctype, (ssize_t)len);
		if (len > 0 && strcmp(r->method, "HEAD") != 0) {
			out = bufferevent_get_output(c->bev);
			if (o != NULL && evbuffer_add_reference(out, body, len, json_sent,
			    o) == 0)
				o = NULL;	/* json_sent will */
			else
				evbuffer_add(out, body, len);
			r->bytes_sent += len;
		}
	} else
		r->status = status;
	json_object_put(o);
	finish_response(r);
}

void
http_reply(struct http_request *r, int status, const char *ctype,
    const char *body, size_t len)
{
	reply(r, status, ctype, body, len, NULL);
}

void
http_reply_json(struct http_request *r, int status, struct json_object *o)
{
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	reply(r, status, "application/json", s, len, o);
}

/*
 * Streaming (SSE): headers now, then chunks as they come, each flushed
 * by the event loop; the request stays in the handler's hands until
 * http_stream_end.  If the client leaves meanwhile, writes are dropped.
 */
void
http_stream_start(struct http_request *r, int status, const char *ctype)
{
	struct http_conn *c = r->conn;
	struct timeval wtv;

	r->streaming = 1;
	r->status = status;
	if (c->gone)
		return;
	write_head(r, status, ctype, -1);
	wtv = tv_ms(c->srv->lim.write_timeout_ms);
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	bufferevent_enable(c->bev, EV_WRITE);
}

void
http_stream_write(struct http_request *r, const char *data, size_t len)
{
	struct http_conn *c = r->conn;
	struct evbuffer *out;

	if (c->gone || len == 0)
		return;
	out = bufferevent_get_output(c->bev);
	if (r->minor >= 1)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, data, len);
	if (r->minor >= 1)
		evbuffer_add(out, "\r\n", 2);
	r->bytes_sent += len;
}

void
http_stream_end(struct http_request *r)
{
	struct http_conn *c = r->conn;

	if (!c->gone && r->minor >= 1)
		evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
	finish_response(r);
}

void
http_reply_error(struct http_request *r, int status, const char *msg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(status));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "request_id", json_object_new_string(r->request_id));
	http_reply_json(r, status, o);
}

/*
 * A protocol error: reply and close.  If no request was parsed far enough
 * to exist, make a bare one so the reply still has a request id and an
 * access-log line.
 */
static void
conn_fail(struct http_conn *c, int status, const char *msg)
{
	struct http_request *r = c->req;

	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			conn_free(c);
			return;
		}
		r->conn = c;
		r->listener = c->listener;
		peer_to_request(c, r);
		r->minor = 1;
		r->start_ms = now_ms();
		r->start_us = mono_usec();
		strlcpy_(r->method, "-", sizeof(r->method));
		strlcpy_(r->remote, c->remote, sizeof(r->remote));
		c->req = r;
	}
	if (r->request_id[0] == '\0') {
		make_request_id(r);
		make_trace(r);
	}
	c->close_after = 1;
	if (r->streaming) {
		/* Headers are out: all we can do is end the stream. */
		http_stream_end(r);
		return;
	}
	r->keepalive = 0;
	http_reply_error(r, status, msg);
}

/* --- parsing -------------------------------------------------------------- */

static int
parse_request_line(struct http_conn *c, char *line)
{
	struct http_request *r = c->req;
	char *sp1, *sp2, *q;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ')) {
		conn_fail(c, 400, "malformed request line");
		return -1;
	}
	*sp1 = *sp2 = '\0';
	if (sp1 - line == 0 || sp1 - line >= (long)sizeof(r->method)) {
		conn_fail(c, 400, "malformed method");
		return -1;
	}
	for (q = line; *q; q++)
		if (!is_tchar((unsigned char)*q)) {
			conn_fail(c, 400, "malformed method");
			return -1;
		}
	strlcpy_(r->method, line, sizeof(r->method));
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)sp2[8]) ||
	    sp2[9] != '\0') {
		if (strncmp(sp2 + 1, "HTTP/", 5) == 0)
			conn_fail(c, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
		else
			conn_fail(c, 400, "malformed HTTP version");
		return -1;
	}
	r->minor = sp2[8] - '0';
	if (sp1[1] != '/') {
		conn_fail(c, 400, "request target must be an absolute path");
		return -1;
	}
	for (q = sp1 + 1; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
			conn_fail(c, 400, "malformed request target");
			return -1;
		}
	r->target = strdup(sp1 + 1);
	r->path = strdup(sp1 + 1);
	if (r->target == NULL || r->path == NULL) {
		conn_fail(c, 500, "out of memory");
		return -1;
	}
	if ((q = strchr(r->path, '?')) != NULL) {
		*q = '\0';
		r->query = r->target + (q - r->path) + 1;
	}
	return 0;
}

static int
parse_header_line(struct http_conn *c, char *line)
{
	struct http_request *r = c->req;
	char *colon, *v, *e, *q;

	if (*line == ' ' || *line == '\t') {
		conn_fail(c, 400, "obsolete header line folding is not accepted");
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		conn_fail(c, 400, "malformed header line");
		return -1;
	}
	for (q = line; q < colon; q++)
		if (!is_tchar((unsigned char)*q)) {
			conn_fail(c, 400, "malformed header name");
			return -1;
		}
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (q = v; *q; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
			conn_fail(c, 400, "control character in a header value");
			return -1;
		}
	if (r->nhdrs >= MAX_HEADERS) {
		conn_fail(c, 431, "too many header fields");
		return -1;
	}
	if (hdr_push(&r->hdrs, &r->nhdrs, line, v) == -1) {
		conn_fail(c, 500, "out of memory");
		return -1;
	}
	return 0;
}

static int
token_in(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = list;

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (strncasecmp(p, tok, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* After the header block: framing, keep-alive, limits.  0 = go on. */
static int
headers_done(struct http_conn *c)
{
	struct http_request *r = c->req;
	const char *cl, *te, *conn, *ex;
	size_t i, ncl = 0;
	int64_t len = 0;

	make_request_id(r);
	make_trace(r);
	if (r->minor >= 1 && http_header(r, "Host") == NULL) {
		conn_fail(c, 400, "HTTP/1.1 request without a Host header");
		return -1;
	}
	conn = http_header(r, "Connection");
	if (r->minor >= 1)
		r->keepalive = !(conn && token_in(conn, "close"));
	else
		r->keepalive = conn && token_in(conn, "keep-alive");
	te = http_header(r, "Transfer-Encoding");
	for (i = 0; i < r->nhdrs; i++) {
		if (strcasecmp(r->hdrs[i].name, "Content-Length") != 0)
			continue;
		if (ncl++ > 0 && strcmp(r->hdrs[i].value, http_header(r,
		    "Content-Length")) != 0) {
			conn_fail(c, 400, "conflicting Content-Length headers");
			return -1;
		}
	}
	cl = http_header(r, "Content-Length");
	if (te != NULL && cl != NULL) {
		conn_fail(c, 400, "both Transfer-Encoding and Content-Length");
		return -1;
	}
	if (te != NULL) {
		if (strcasecmp(te, "chunked") != 0) {
			conn_fail(c, 501, "only chunked transfer coding is supported");
			return -1;
		}
		c->chunked = 1;
		c->chunk_state = 0;
	} else if (cl != NULL) {
		if (parse_int64(cl, &len) == -1 || len < 0 || !isdigit((unsigned char)*cl)) {
			conn_fail(c, 400, "malformed Content-Length");
			return -1;
		}
		if ((uint64_t)len > c->srv->lim.max_body) {
			char m[128];

			snprintf(m, sizeof(m), "request body of %lld bytes exceeds the"
			    " limit of %zu bytes", (long long)len, c->srv->lim.max_body);
			conn_fail(c, 413, m);
			return -1;
		}
		c->need = (size_t)len;
	}
	if ((ex = http_header(r, "Expect")) != NULL) {
		if (strcasecmp(ex, "100-continue") != 0) {
			conn_fail(c, 417, "unsupported expectation");
			return -1;
		}
		if (r->minor >= 1 && (c->need > 0 || c->chunked))
			evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 100 Continue\r\n\r\n");
	}
	if (c->chunked && (c->body = evbuffer_new()) == NULL) {
		conn_fail(c, 500, "out of memory");
		return -1;
	}
	c->state = ST_BODY;
	return 0;
}

static int
read_headers(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n;
	char *line;

	for (;;) {
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (c->header_bytes + evbuffer_get_length(in) >
			    c->srv->lim.max_header) {
				conn_fail(c, 431, "request header is too large");
				return -1;
			}
			return 1;	/* need more */
		}
		c->header_bytes += n + 2;
		if (c->header_bytes > c->srv->lim.max_header) {
			free(line);
			conn_fail(c, 431, "request header is too large");
			return -1;
		}
		if (c->req->target == NULL) {
			if (n == 0) {	/* stray CRLF before a request */
				free(line);
				continue;
			}
			if (parse_request_line(c, line) == -1) {
				free(line);
				return -1;
			}
			free(line);
			continue;
		}
		if (n == 0) {
			free(line);
			return headers_done(c);
		}
		if (parse_header_line(c, line) == -1) {
			free(line);
			return -1;
		}
		free(line);
	}
}

/* Chunked request body, incrementally.  1 = need more, 0 = done. */
static int
read_chunked(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char *line, *end;
	size_t n, take;
	unsigned long long sz;

	for (;;) {
		switch (c->chunk_state) {
		case 0:
			if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) == NULL)
				return evbuffer_get_length(in) > 1024 ?
				    (conn_fail(c, 400, "malformed chunk size"), -1) : 1;
			errno = 0;
			sz = strtoull(line, &end, 16);
			if (end == line || errno != 0 || (*end != '\0' && *end != ';')) {
				free(line);
				conn_fail(c, 400, "malformed chunk size");
				return -1;
			}
			free(line);
			if (sz > c->srv->lim.max_body ||
			    evbuffer_get_length(c->body) + sz > c->srv->lim.max_body) {
				conn_fail(c, 413, "request body exceeds the size limit");
				return -1;
			}
			c->chunk_left = (size_t)sz;
			c->chunk_state = sz == 0 ? 3 : 1;
			break;
		case 1:
			take = evbuffer_get_length(in);
			if (take == 0)
				return 1;
			if (take > c->chunk_left)
				take = c->chunk_left;
			evbuffer_remove_buffer(in, c->body, take);
			c->chunk_left -= take;
			if (c->chunk_left == 0)
				c->chunk_state = 2;
			break;
		case 2:
			if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) == NULL)
				return 1;
			free(line);
			if (n != 0) {
				conn_fail(c, 400, "malformed chunk");
				return -1;
			}
			c->chunk_state = 0;
			break;
		case 3:
			if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) == NULL)
				return 1;
			free(line);
			if (n == 0)
				return 0;
			break;
		}
	}
}

/* A client gone before its body was whole: said, and the connection freed. */
static void
body_cut_short(struct http_conn *c, const char *why)
{
	char total[48] = "";
	size_t got = c->chunked ? (c->body ? evbuffer_get_length(c->body) : 0) :
	    c->req->body_len;

	if (!c->chunked)
		snprintf(total, sizeof(total), " of %zu", c->need);
	logmsg(LOG_INFO, "closing connection from %s: %s after %zu%s body bytes",
	    c->remote, why, got, total);
	conn_free(c);
}

/*
 * The rest of a Content-Length body straight from a plain socket into the
 * request's buffer, not through the input evbuffer and a copy out of it.
 * 0, or -1 when the client went away (the connection is freed).
 */
static int
read_body_direct(struct http_conn *c)
{
	struct http_request *r = c->req;
	int fd = bufferevent_getfd(c->bev);
	ssize_t n;

	if (fd < 0 || c->tls)
		return 0;	/* TLS: the bufferevent decrypts into its input */
	while (r->body_len < c->need) {
		if ((n = read(fd, r->body + r->body_len, c->need - r->body_len)) > 0) {
			r->body_len += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		body_cut_short(c, n == 0 ? "closed by the client" : strerror(errno));
		return -1;
	}
	return 0;
}

/* 1 = need more, 0 = the body is whole, -1 = failed (connection handled). */
static int
read_body(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct http_request *r = c->req;
	size_t take;
	int rc;

	if (c->chunked) {
		if ((rc = read_chunked(c)) != 0)
			return rc;
		r->body_len = evbuffer_get_length(c->body);
		if ((r->body = malloc(r->body_len + 1)) == NULL) {
			conn_fail(c, 500, "out of memory");
			return -1;
		}
		evbuffer_remove(c->body, r->body, r->body_len);
		evbuffer_free(c->body);
		c->body = NULL;
	} else {
		/* One buffer of the announced size (within max_body): its
		 * pages are only touched as the bytes arrive. */
		if (r->body == NULL && (r->body = malloc(c->need + 1)) == NULL) {
			conn_fail(c, 500, "out of memory");
			return -1;
		}
		take = evbuffer_get_length(in);
		if (take > c->need - r->body_len)
			take = c->need - r->body_len;
		evbuffer_remove(in, r->body + r->body_len, take);
		r->body_len += take;
		if (read_body_direct(c) == -1)
			return -1;
		if (r->body_len < c->need)
			return 1;
	}
	r->body[r->body_len] = '\0';
	return 0;
}

static void
dispatch(struct http_conn *c)
{
	c->state = ST_HANDLING;
	evtimer_del(c->timer);
	c->srv->handler(c->req, c->srv->arg);
}

static void
conn_process(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct http_request *r;

	if (c->state == ST_IDLE) {
		if (evbuffer_get_length(in) == 0)
			return;
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			conn_free(c);
			return;
		}
		r->conn = c;
		r->listener = c->listener;
		peer_to_request(c, r);
		r->start_ms = now_ms();
		r->start_us = mono_usec();
		strlcpy_(r->remote, c->remote, sizeof(r->remote));
		c->req = r;
		c->header_bytes = 0;
		c->need = 0;
		c->chunked = 0;
		c->state = ST_HEADERS;
		timer_set(c, c->srv->lim.read_timeout_ms);
	}
	if (c->state == ST_HEADERS && read_headers(c) != 0)
		return;
	if (c->state == ST_BODY && read_body(c) != 0)
		return;
	if (c->state == ST_BODY)
		dispatch(c);
}

/* --- connection events ---------------------------------------------------- */

/* The vectors cut to total no more than limit bytes. */
static void
clip_iov(struct evbuffer_iovec *v, int n, size_t limit)
{
	size_t got = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (v[i].iov_len > limit - got)
			v[i].iov_len = limit - got;
		got += v[i].iov_len;
	}
}

/* What a connection may hold unread: the largest request and some. */
static size_t
input_cap(const struct http_server *s)
{
	return s->lim.max_header + s->lim.max_body + 65536;
}

/*
 * libevent reads at most 4096 bytes a callback, so a 100 KB request took
 * some thirty trips through the event loop, each with an ioctl and a
 * readv.  On a plain socket whatever else has arrived is read at once, up
 * to cap bytes buffered (the connection's limits), so a large request
 * costs a few reads.  TLS reads stay with the bufferevent.
 */
void
http_read_pending(struct bufferevent *bev, size_t cap)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[2];
	int fd = bufferevent_getfd(bev), n;
	size_t want;
	ssize_t r;

	if (fd < 0 || bufferevent_openssl_get_ssl(bev) != NULL)
		return;
	/* A bufferevent keeps its input's end frozen but while it reads. */
	evbuffer_unfreeze(in, 0);
	while (evbuffer_get_length(in) < cap) {
		want = cap - evbuffer_get_length(in);
		if (want > 256 * 1024)
			want = 256 * 1024;
		if ((n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2)) <= 0)
			break;
		clip_iov(v, n, want);
		/* An evbuffer_iovec is laid out as a struct iovec. */
		if ((r = readv(fd, (struct iovec *)(void *)v, n)) <= 0) {
			/* Nothing more now, an end or an error: the bufferevent
			 * sees the last two on its next read. */
			evbuffer_commit_space(in, v, 0);
			break;
		}
		clip_iov(v, n, (size_t)r);
		evbuffer_commit_space(in, v, n);
		if ((size_t)r < want)
			break;
	}
	evbuffer_freeze(in, 0);
}

/* Whether the input holds the end of a header block (a hint: a block
 * ended otherwise is only read on for). */
static int
headers_whole(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	return evbuffer_search(in, "\r\n\r\n", 4, NULL).pos != -1 ||
	    evbuffer_search(in, "\n\n", 2, NULL).pos != -1;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	/* Headers not yet whole: what can hold them; a chunked body: the rest
	 * as it comes (a Content-Length body is read straight into its
	 * buffer).  Headers the bufferevent's read (4 KB) holds already need
	 * no more: a small request costs no read that finds nothing. */
	if ((c->state == ST_IDLE || c->state == ST_HEADERS) && !headers_whole(bev))
		http_read_pending(bev, c->srv->lim.max_header + 1024);
	else if (c->state == ST_BODY && c->chunked)
		http_read_pending(bev, input_cap(c->srv));
	if (c->state == ST_LINGER) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	if (c->state == ST_IDLE || c->state == ST_HEADERS || c->state == ST_BODY)
		conn_process(c);
}

static void
start_linger(struct http_conn *c)
{
	int fd = bufferevent_getfd(c->bev);

	/*
	 * Closing with unread input makes the kernel send RST, which can
	 * destroy the response before the client reads it.  Half-close and
	 * discard input until the client closes or LINGER_MS passes
	 * (nginx's lingering close).  TLS connections simply close.
	 */
	if (c->tls || fd < 0) {
		conn_free(c);
		return;
	}
	shutdown(fd, SHUT_WR);
	c->state = ST_LINGER;
	evbuffer_drain(bufferevent_get_input(c->bev),
	    evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	timer_set(c, LINGER_MS);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->state != ST_WRITING)
		return;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (c->close_after) {
		start_linger(c);
		return;
	}
	c->state = ST_IDLE;
	c->nreq++;
	timer_set(c, c->srv->lim.keepalive_ms);
	conn_process(c);	/* a pipelined request may be waiting */
}

/* The verified client certificate's subject, kept for the requests. */
static void
tls_established(struct http_conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	char cn[128], *subj;
	BIO *b;
	long n;

	c->handshaking = 0;
	timer_set(c, c->srv->lim.read_timeout_ms);
	if (peer == NULL || SSL_get_verify_result(ssl) != X509_V_OK ||
	    (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
	if ((n = BIO_get_mem_data(b, &subj)) > 0)
		c->peer_subject = strndup(subj, (size_t)n);
	BIO_free(b);
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName,
	    cn, sizeof(cn)) > 0)
		c->peer_cn = strdup(cn);
}

/* Why a handshake failed, for the operator (a wrong CA, an expired cert). */
static void
tls_failed(struct http_conn *c)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	char why[256];

	if (e == 0) {
		logmsg(LOG_INFO, "TLS handshake with %s: the client closed the"
		    " connection", c->remote);
		return;
	}
	ERR_error_string_n(e, why, sizeof(why));
	logmsg(LOG_INFO, "TLS handshake with %s failed: %s", c->remote, why);
	while (bufferevent_get_openssl_error(c->bev) != 0)
		;
}


static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		tls_established(c);
		return;
	}
	if (c->handshaking) {
		tls_failed(c);
		conn_free(c);
		return;
	}
	if (c->state == ST_HANDLING) {
		/* Keep the request: the handler will reply into the void. */
		c->gone = 1;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->state == ST_BODY && c->req != NULL) {
		body_cut_short(c, "closed by the client");
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->state == ST_WRITING)
		logmsg(LOG_INFO, "closing connection from %s: client did not"
		    " read the response within the write timeout", c->remote);
	conn_free(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->handshaking) {
		logmsg(LOG_INFO, "closing connection from %s: TLS handshake not"
		    " finished within %lld ms", c->remote,
		    (long long)c->srv->lim.handshake_ms);
		conn_free(c);
		return;
	}
	switch (c->state) {
	case ST_HEADERS:
	case ST_BODY:
		logmsg(LOG_INFO, "closing connection from %s: request not"
		    " received within the read timeout", c->remote);
		conn_fail(c, 408, "request not received in time");
		break;
	case ST_IDLE:
		/* Half-close first: a request racing with our close then
		 * meets EOF, which clients retry, instead of a reset. */
		start_linger(c);
		break;
	default:
		conn_free(c);
		break;
	}
}

static void
listeners_enable(struct http_server *s, int on)
{
	int i;

	for (i = 0; i < s->nls; i++) {
		if (s->ls[i].l == NULL)
			continue;
		if (on)
			evconnlistener_enable(s->ls[i].l);
		else
			evconnlistener_disable(s->ls[i].l);
	}
}

static void
conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	req_free(c->req);
	if (c->body)
		evbuffer_free(c->body);
	event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c->peer_subject);
	free(c->peer_cn);
	free(c);
	if (s->paused && !s->draining && s->nconns < s->lim.max_connections) {
		s->paused = 0;
		listeners_enable(s, 1);
	}
	if (s->on_close)
		s->on_close(s->on_close_arg);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct http_listener *hl = arg;
	struct http_server *s = hl->srv;
	struct http_conn *c;
	int one = 1;

	(void)l;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->srv = s;
	c->listener = (int)(hl - s->ls);
	if (hl->is_unix)
		strlcpy_(c->remote, "unix", sizeof(c->remote));
	else if (sa->sa_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
		snprintf(c->remote, sizeof(c->remote), "%s", a);
	} else {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
		snprintf(c->remote, sizeof(c->remote), "%s", a);
	}
	if (!hl->is_unix)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (hl->tls != NULL) {
		SSL *ssl = SSL_new(hl->tls);

		c->tls = c->handshaking = 1;
		c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE) : NULL;
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		else if (ssl)
			SSL_free(ssl);
	} else
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (hl->raw != NULL && c->bev != NULL) {
		/* Counted here (limits, drain), served by its own module. */
		struct bufferevent *bev = c->bev;
		char remote[64];

		strlcpy_(remote, c->remote, sizeof(remote));
		free(c);
		s->nconns++;
		if (s->nconns >= s->lim.max_connections && !s->paused) {
			s->paused = 1;
			listeners_enable(s, 0);
		}
		hl->raw(bev, remote, hl->raw_arg);
		return;
	}
	c->timer = evtimer_new(s->base, on_timer, c);
	if (c->bev == NULL || c->timer == NULL) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	s->nconns++;
	/* Reads stop there: the limits answer before more is taken. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, input_cap(s));
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	c->state = ST_IDLE;
	timer_set(c, c->handshaking && s->lim.handshake_ms > 0 ? s->lim.handshake_ms :
	    s->lim.read_timeout_ms);
	if (s->nconns >= s->lim.max_connections && !s->paused) {
		s->paused = 1;
		listeners_enable(s, 0);
	}
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;

	(void)fd;
	(void)what;
	if (!s->draining && !(s->nconns >= s->lim.max_connections)) {
		s->paused = 0;
		listeners_enable(s, 1);
	}
}

/*
 * accept() failed (EMFILE, ENFILE, ENOBUFS): the socket stays readable,
 * so without a pause the loop would spin at full CPU.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct http_listener *hl = arg;
	struct http_server *s = hl->srv;
	struct timeval tv = { 0, 100000 };
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	logmsg(LOG_ERROR, "accept: %s; pausing accepts for 100ms",
	    evutil_socket_error_to_string(e));
	s->paused = 1;
	listeners_enable(s, 0);
	evtimer_add(s->resume, &tv);
}

/* --- server --------------------------------------------------------------- */

struct http_server *
http_server_new(struct event_base *base, const struct http_limits *lim,
    http_handler h, void *arg)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->lim = *lim;
	s->handler = h;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	s->resume = evtimer_new(base, on_resume, s);
	return s;
}

int
http_server_listen(struct http_server *s, int fd, SSL_CTX *tls)
{
	return http_server_listen_raw(s, fd, tls, NULL, NULL);
}

/* A raw connection handed out by http_server_listen_raw has ended. */
void
http_server_raw_closed(struct http_server *s)
{
	s->nconns--;
	if (s->paused && !s->draining && s->nconns < s->lim.max_connections) {
		s->paused = 0;
		listeners_enable(s, 1);
	}
	if (s->on_close)
		s->on_close(s->on_close_arg);
}

int
http_server_listen_raw(struct http_server *s, int fd, SSL_CTX *tls,
    http_raw_accept raw, void *raw_arg)
{
	struct http_listener *hl;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (s->nls == (int)nitems(s->ls))
		return -1;
	hl = &s->ls[s->nls];
	hl->srv = s;
	hl->tls = tls;
	hl->raw = raw;
	hl->raw_arg = raw_arg;
	hl->is_unix = getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    ss.ss_family == AF_UNIX;
	hl->l = evconnlistener_new(s->base, on_accept, hl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (hl->l == NULL)
		return -1;
	evconnlistener_set_error_cb(hl->l, on_accept_error);
	s->nls++;
	return 0;
}

void
http_server_on_close(struct http_server *s, void (*cb)(void *), void *arg)
{
	s->on_close = cb;
	s->on_close_arg = arg;
}

void
http_server_drain(struct http_server *s)
{
	struct http_conn *c, *next;
	int i;

	if (s->draining)
		return;
	s->draining = 1;
	/* Our copies of the listening sockets go; the next generation has its own. */
	for (i = 0; i < s->nls; i++) {
		if (s->ls[i].l != NULL)
			evconnlistener_free(s->ls[i].l);
		s->ls[i].l = NULL;
	}
	/*
	 * An idle keep-alive connection is half-closed now (lingering, so a
	 * request racing with it meets EOF, not a reset): HTTP clients retry
	 * a request that meets a closed idle connection.  A connection that has
	 * not sent its first request yet was accepted moments ago; closing it
	 * would fail a request that is on its way, so it is served (with
	 * Connection: close) within the read timeout instead.
	 */
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->close_after = 1;
		if (c->state == ST_IDLE && c->nreq > 0 &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			start_linger(c);
	}
}

int
http_server_connections(const struct http_server *s)
{
	return s->nconns;
}

void
http_server_free(struct http_server *s)
{
	int i;

	if (s == NULL)
		return;
	s->on_close = NULL;
	while (!TAILQ_EMPTY(&s->conns))
		conn_free(TAILQ_FIRST(&s->conns));
	for (i = 0; i < s->nls; i++)
		if (s->ls[i].l != NULL)
			evconnlistener_free(s->ls[i].l);
	event_free(s->resume);
	free(s);
}
