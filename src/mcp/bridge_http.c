/*
 * pulumicost-mcp bridge --url URL: stdio <-> Streamable HTTP, for a
 * remote server.  Every client message is its own POST (one thread each,
 * so a long tool call does not hold up a ping); JSON answers are written
 * as one line, event streams as one line per event.  The session id and
 * protocol version from initialize go on every later request; if the
 * server forgets the session (404), the bridge replays the handshake and
 * sends the request again.  Only protocol goes to stdout.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../core/util.h"
#include "bridge.h"

#define MAX_BODY	(64 * 1024 * 1024)

static struct {
	char		 host[256], port[8], path[1024], hostport[300];
	int		 tls;
	SSL_CTX		*ctx;
	pthread_mutex_t	 mu;		/* stdout and the fields below */
	char		 sid[256];
	char		 version[32];
	char		*init_line;
	int		 initialized_sent;
} H = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct conn {
	int	 fd;
	SSL	*ssl;
	char	 buf[16384];
	size_t	 off, len;
};

static int
parse_url(const char *url)
{
	const char *p, *slash, *colon;
	size_t alen;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		H.tls = 1;
	} else
		return -1;
	slash = strchr(p, '/');
	alen = slash ? (size_t)(slash - p) : strlen(p);
	if (alen == 0 || alen >= sizeof(H.hostport))
		return -1;
	memcpy(H.hostport, p, alen);
	H.hostport[alen] = '\0';
	strlcpy_(H.path, slash ? slash : "/", sizeof(H.path));
	if (H.hostport[0] == '[') {		/* [v6]:port */
		const char *rb = strchr(H.hostport, ']');

		if (rb == NULL || (size_t)(rb - H.hostport) > sizeof(H.host))
			return -1;
		memcpy(H.host, H.hostport + 1, (size_t)(rb - H.hostport - 1));
		H.host[rb - H.hostport - 1] = '\0';
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = strrchr(H.hostport, ':');
		alen = colon ? (size_t)(colon - H.hostport) : strlen(H.hostport);
		if (alen >= sizeof(H.host))
			return -1;
		memcpy(H.host, H.hostport, alen);
		H.host[alen] = '\0';
	}
	strlcpy_(H.port, colon ? colon + 1 : H.tls ? "443" : "80", sizeof(H.port));
	return H.host[0] ? 0 : -1;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
}

static int
conn_open(struct conn *c, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if ((r = getaddrinfo(H.host, H.port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", H.host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", H.hostport,
		    strerror(errno));
		return -1;
	}
	if (H.tls) {
		c->ssl = SSL_new(H.ctx);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_tlsext_host_name(c->ssl, H.host);
		SSL_set1_host(c->ssl, H.host);
		if (SSL_connect(c->ssl) != 1) {
			snprintf(err, errlen, "TLS with %s failed: %s", H.hostport,
			    ERR_reason_error_string(ERR_get_error()));
			conn_close(c);
			return -1;
		}
	}
	return 0;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	if (c->ssl)
		return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
	return write_all(c->fd, p, n);
}

static ssize_t
conn_fill(struct conn *c)
{
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf))
		return -1;
	if (c->ssl)
		n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
	else
		do
			n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		while (n == -1 && errno == EINTR);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/* One line without its CRLF; NULL at EOF. */
static char *
conn_line(struct conn *c)
{
	char *nl, *line;
	size_t n;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->off));
			line = strndup(c->buf + c->off, n);
			c->off += n + 1;
			if (line && n > 0 && line[n - 1] == '\r')
				line[n - 1] = '\0';
			return line;
		}
		if (conn_fill(c) <= 0)
			return NULL;
	}
}

static int
conn_bytes(struct conn *c, char *dst, size_t n)
{
	size_t take;

	while (n > 0) {
		if (c->off == c->len && conn_fill(c) <= 0)
			return -1;
		take = c->len - c->off < n ? c->len - c->off : n;
		memcpy(dst, c->buf + c->off, take);
		c->off += take;
		dst += take;
		n -= take;
	}
	return 0;
}

static void
out_line(const char *s, size_t n)
{
	pthread_mutex_lock(&H.mu);
	(void)write_all(1, s, n);
	(void)write_all(1, "\n", 1);
	pthread_mutex_unlock(&H.mu);
}

/*
 * An event stream, parsed as it arrives: one stdout line per event's
 * data, written when the event ends, so progress reaches the client live.
 */
struct sse {
	char	*line;		/* the partial line */
	size_t	 llen;
	char	*data;		/* the event's data so far */
	size_t	 dlen;
};

static void
sse_line(struct sse *e, const char *p, size_t n)
{
	char *nd;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		if (e->dlen > 0)
			out_line(e->data, e->dlen);
		e->dlen = 0;
		return;
	}
	if (n < 5 || strncmp(p, "data:", 5) != 0)
		return;		/* id:, event:, retry:, comments */
	p += 5;
	n -= 5;
	if (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	if ((nd = realloc(e->data, e->dlen + n + 2)) == NULL)
		return;
	e->data = nd;
	if (e->dlen > 0)
		e->data[e->dlen++] = '\n';
	memcpy(e->data + e->dlen, p, n);
	e->dlen += n;
}

static void
sse_feed(struct sse *e, const char *p, size_t n)
{
	const char *nl;
	char *nb;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		if (nl == NULL) {
			if ((nb = realloc(e->line, e->llen + n)) != NULL) {
				e->line = nb;
				memcpy(e->line + e->llen, p, n);
				e->llen += n;
			}
			return;
		}
		if (e->llen > 0) {
			if ((nb = realloc(e->line, e->llen + (size_t)(nl - p))) != NULL) {
				e->line = nb;
				memcpy(e->line + e->llen, p, (size_t)(nl - p));
				sse_line(e, e->line, e->llen + (size_t)(nl - p));
			}
			e->llen = 0;
		} else
			sse_line(e, p, (size_t)(nl - p));
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
}

/*
 * Read a response body, whatever its framing (chunked, Content-Length or
 * to EOF), handing each piece to sink as it arrives.
 */
typedef void	(*body_sink)(void *arg, const char *p, size_t n);

static void
read_body(struct conn *c, int chunked, long long clen, body_sink sink,
    void *arg)
{
	char *line, buf[16384];
	long long n;
	size_t take;

	for (;;) {
		if (chunked) {
			if ((line = conn_line(c)) == NULL)
				return;
			n = strtoll(line, NULL, 16);
			free(line);
			if (n <= 0)
				return;
		} else if (clen >= 0) {
			if ((n = clen) == 0)
				return;
		} else {
			/* To EOF. */
			if (c->off == c->len && conn_fill(c) <= 0)
				return;
			sink(arg, c->buf + c->off, c->len - c->off);
			c->off = c->len;
			continue;
		}
		while (n > 0) {
			take = n > (long long)sizeof(buf) ? sizeof(buf) : (size_t)n;
			if (conn_bytes(c, buf, take) == -1)
				return;
			sink(arg, buf, take);
			n -= (long long)take;
		}
		if (!chunked)
			return;
		free(conn_line(c));	/* CRLF after the chunk */
	}
}

static void
sse_sink(void *arg, const char *p, size_t n)
{
	sse_feed(arg, p, n);
}

struct body {
	char	*p;
	size_t	 len;
	int	 overflow;
};

static void
body_sink_buf(void *arg, const char *p, size_t n)
{
	struct body *b = arg;
	char *nb;

	if (b->overflow || b->len + n > MAX_BODY ||
	    (nb = realloc(b->p, b->len + n + 1)) == NULL) {
		b->overflow = 1;
		return;
	}
	b->p = nb;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
error_for(const char *line, const char *msg)
{
	struct json_object *o = json_tokener_parse(line), *id, *r, *e;

	if (o != NULL && json_object_object_get_ex(o, "id", &id) &&
	    json_object_object_get_ex(o, "method", NULL)) {
		r = json_object_new_object();
		json_object_object_add(r, "jsonrpc", json_object_new_string("2.0"));
		json_object_object_add(r, "id", json_object_get(id));
		e = json_object_new_object();
		json_object_object_add(e, "code", json_object_new_int(-32000));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(r, "error", e);
		{
			const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);

			out_line(s, strlen(s));
		}
		json_object_put(r);
	}
	json_object_put(o);
}

/*
 * POST one message.  Returns the HTTP status (0 on a transport error).
 * With emit, the answer goes to stdout.
 */
static int
post(const char *line, int emit, char *err, size_t errlen)
{
	char hdr[4096], sid[256], ver[32], *l, *body;
	long long clen = -1;
	int status = 0, chunked = 0, sse = 0, n;
	const char *tok;
	struct conn c;
	struct body b = { NULL, 0, 0 };

	pthread_mutex_lock(&H.mu);
	strlcpy_(sid, H.sid, sizeof(sid));
	strlcpy_(ver, H.version, sizeof(ver));
	pthread_mutex_unlock(&H.mu);
	if (conn_open(&c, err, errlen) == -1)
		return 0;
	/* A server with token authentication: the token from the environment. */
	tok = getenv("PULUMICOST_API_TOKEN");
	if (tok != NULL && strpbrk(tok, "\r\n") != NULL)
		tok = NULL;
	n = snprintf(hdr, sizeof(hdr), "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Accept: application/json, text/event-stream\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s%s%s%s%s%s%s%s%s\r\n", H.path, H.hostport,
	    strlen(line), sid[0] ? "Mcp-Session-Id: " : "", sid, sid[0] ? "\r\n" : "",
	    ver[0] ? "MCP-Protocol-Version: " : "", ver, ver[0] ? "\r\n" : "",
	    tok && *tok ? "Authorization: Bearer " : "", tok && *tok ? tok : "",
	    tok && *tok ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		snprintf(err, errlen, "the request headers are too long");
		conn_close(&c);
		return 0;
	}
	if (conn_write(&c, hdr, (size_t)n) == -1 ||
	    conn_write(&c, line, strlen(line)) == -1) {
		snprintf(err, errlen, "cannot send to %s", H.hostport);
		conn_close(&c);
		return 0;
	}
	if ((l = conn_line(&c)) == NULL || sscanf(l, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(err, errlen, "no HTTP answer from %s", H.hostport);
		free(l);
		conn_close(&c);
		return 0;
	}
	free(l);
	while ((l = conn_line(&c)) != NULL && *l) {
		if (strncasecmp(l, "Content-Length:", 15) == 0)
			clen = atoll(l + 15);
		else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0 &&
		    strcasestr(l, "chunked"))
			chunked = 1;
		else if (strncasecmp(l, "Content-Type:", 13) == 0 &&
		    strcasestr(l, "text/event-stream"))
			sse = 1;
		else if (strncasecmp(l, "Mcp-Session-Id:", 15) == 0) {
			const char *v = l + 15;

			while (*v == ' ')
				v++;
			pthread_mutex_lock(&H.mu);
			strlcpy_(H.sid, v, sizeof(H.sid));
			pthread_mutex_unlock(&H.mu);
		}
		free(l);
	}
	free(l);
	if (sse && emit) {
		/* Relayed live; a last event may lack its blank line. */
		struct sse e = { 0 };

		read_body(&c, chunked, clen, sse_sink, &e);
		sse_line(&e, "", 0);
		free(e.line);
		free(e.data);
		conn_close(&c);
		return status;
	}
	read_body(&c, chunked, clen, body_sink_buf, &b);
	conn_close(&c);
	if (b.overflow) {
		free(b.p);
		snprintf(err, errlen, "the answer is larger than 64MB");
		return 0;
	}
	body = b.p;
	if (status == 401 || status == 403) {
		/* Not JSON-RPC: the client gets an error for its request instead. */
		snprintf(err, errlen, "%s answered %d: set PULUMICOST_API_TOKEN to a token"
		    " it accepts", H.hostport, status);
		free(body);
		return 0;
	}
	if (body != NULL && emit && status != 202 && status != 204 && status != 404)
		out_line(body, b.len);
	/* Remember the negotiated version for the header on later requests. */
	if (body != NULL && !sse && strstr(body, "\"protocolVersion\"")) {
		struct json_object *o = json_tokener_parse(body), *r, *v;

		if (o && json_object_object_get_ex(o, "result", &r) &&
		    json_object_object_get_ex(r, "protocolVersion", &v)) {
			pthread_mutex_lock(&H.mu);
			strlcpy_(H.version, json_object_get_string(v), sizeof(H.version));
			pthread_mutex_unlock(&H.mu);
		}
		json_object_put(o);
	}
	free(body);
	return status;
}

/* The server forgot the session: a new one, quietly, with the same handshake. */
static void
replay_session(void)
{
	char err[256], *init = NULL, *p;
	int initialized;

	pthread_mutex_lock(&H.mu);
	H.sid[0] = '\0';
	H.version[0] = '\0';
	if (H.init_line)
		init = strdup(H.init_line);
	initialized = H.initialized_sent;
	pthread_mutex_unlock(&H.mu);
	if (init == NULL)
		return;
	(void)post(init, 0, err, sizeof(err));
	if (initialized) {
		p = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
		(void)post(p, 0, err, sizeof(err));
	}
	free(init);
}

static void *
worker(void *arg)
{
	char *line = arg, err[512];
	int status;

	status = post(line, 1, err, sizeof(err));
	if (status == 404 && H.sid[0] && strstr(line, "\"initialize\"") == NULL) {
		replay_session();
		status = post(line, 1, err, sizeof(err));
	}
	if (status == 0) {
		fprintf(stderr, "pulumicost-mcp bridge: %s\n", err);
		error_for(line, err);
	}
	free(line);
	return NULL;
}

static void
note_line(const char *line)
{
	struct json_object *o = json_tokener_parse(line), *m;

	if (o != NULL && json_object_object_get_ex(o, "method", &m)) {
		const char *meth = json_object_get_string(m);

		pthread_mutex_lock(&H.mu);
		if (strcmp(meth, "initialize") == 0) {
			free(H.init_line);
			H.init_line = strdup(line);
		} else if (strcmp(meth, "notifications/initialized") == 0)
			H.initialized_sent = 1;
		pthread_mutex_unlock(&H.mu);
	}
	json_object_put(o);
}

int
bridge_http(const char *url)
{
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t n;
	pthread_t th;
	pthread_attr_t at;
	struct conn c;

	if (parse_url(url) == -1) {
		fprintf(stderr, "pulumicost-mcp bridge: \"%s\" is not an http:// or"
		    " https:// URL\n", url);
		return 1;
	}
	if (H.tls) {
		H.ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_min_proto_version(H.ctx, TLS1_2_VERSION);
		SSL_CTX_set_default_verify_paths(H.ctx);
		SSL_CTX_set_verify(H.ctx, SSL_VERIFY_PEER, NULL);
	}
	/* Fail now, plainly, if the server cannot be reached at all. */
	if (conn_open(&c, err, sizeof(err)) == -1) {
		fprintf(stderr, "pulumicost-mcp bridge: %s (is the server running?)\n",
		    err);
		return 1;
	}
	conn_close(&c);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		char *copy;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		note_line(line);
		if ((copy = strdup(line)) == NULL)
			break;
		/*
		 * initialize is answered before anything else is sent (the
		 * session id and version come from it), so it runs inline.
		 */
		if (strstr(line, "\"initialize\"") != NULL) {
			worker(copy);
			continue;
		}
		if (pthread_create(&th, &at, worker, copy) != 0)
			worker(copy);
	}
	free(line);
	/* Let calls in flight finish: wait until only this thread is left. */
	pthread_attr_destroy(&at);
	pthread_exit(NULL);
}
