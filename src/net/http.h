/*
 * A small, strict HTTP/1.1 server on libevent bufferevents.
 *
 * We do not use evhttp: it cannot give JSON bodies for its own errors
 * (413, 400), has one timeout for reads and writes in 2.1 (which kills
 * SSE streams), no connection limit and no graceful drain.  This module
 * has per-phase timeouts (whole-header/body deadline, keep-alive idle,
 * write progress), size limits on headers and bodies, keep-alive and
 * pipelining, a per-worker connection limit, deferred replies, and drain.
 */
#ifndef PCM_HTTP_H
#define PCM_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "../core/trace.h"

struct http_server;
struct http_conn;
struct json_object;

struct http_limits {
	size_t		 max_header;
	size_t		 max_body;
	int64_t		 read_timeout_ms;	/* headers + body, in total */
	int64_t		 write_timeout_ms;	/* no output progress */
	int64_t		 keepalive_ms;		/* idle between requests */
	int64_t		 handshake_ms;		/* TLS handshake, from accept */
	int		 max_connections;
};

struct http_header {
	char		*name;
	char		*value;
};

struct http_request {
	struct http_conn *conn;
	char		 method[16];
	char		*target;		/* as sent */
	char		*path;			/* target without the query */
	char		*query;			/* after '?', or NULL */
	int		 minor;			/* HTTP/1.minor */
	struct http_header *hdrs;
	size_t		 nhdrs;
	char		*body;
	size_t		 body_len;
	int		 keepalive;
	int64_t		 start_ms;
	uint64_t	 start_us;		/* for the latency histogram */
	char		 request_id[72];
	char		 remote[64];
	char		 user[64];		/* the authenticated identity */
	const char	*route;			/* set by the handler: metrics label */
	/* TLS client certificate (verified), when one was presented. */
	char		 client_subject[256];	/* RFC 2253 */
	char		 client_cn[128];
	int		 listener;		/* index, in http_server_listen order */
	/* W3C trace context: the caller's trace (or a new one), our span. */
	struct span	 span;			/* ours: SERVER, ended when answered */
	/* response */
	struct http_header *rhdrs;
	size_t		 nrhdrs;
	int		 status;
	int		 streaming;
	size_t		 bytes_sent;
};

typedef void	(*http_handler)(struct http_request *, void *arg);
/* A connection of another protocol on a listener we accept for. */
struct bufferevent;
typedef void	(*http_raw_accept)(struct bufferevent *, const char *remote,
		    void *arg);

struct http_server *http_server_new(struct event_base *,
		    const struct http_limits *, http_handler, void *arg);
void		 http_server_free(struct http_server *);
int		 http_server_listen(struct http_server *, int fd, SSL_CTX *tls);
/*
 * Accept on fd for another protocol: connections count against the
 * server's limits; the owner calls http_server_raw_closed for each one.
 */
int		 http_server_listen_raw(struct http_server *, int fd, SSL_CTX *tls,
		    http_raw_accept, void *arg);
void		 http_server_raw_closed(struct http_server *);
/* Stop accepting, close idle connections, close the rest when done. */
void		 http_server_drain(struct http_server *);
int		 http_server_connections(const struct http_server *);
/* Called when a connection goes away (for drain accounting). */
void		 http_server_on_close(struct http_server *, void (*)(void *),
		    void *);

const char	*http_header(const struct http_request *, const char *name);
int		 http_add_header(struct http_request *, const char *name,
		    const char *value);
/* Send the response; the request is freed afterwards. */
void		 http_reply(struct http_request *, int status,
		    const char *ctype, const char *body, size_t len);
/* A JSON reply (o taken): sent from json-c's text of o, not copied. */
void		 http_reply_json(struct http_request *, int status,
		    struct json_object *o);
/* A streamed body (chunked): start, write chunks, end (frees the request). */
void		 http_stream_start(struct http_request *, int status,
		    const char *ctype);
void		 http_stream_write(struct http_request *, const char *data,
		    size_t len);
void		 http_stream_end(struct http_request *);
/* {"error":{"code":status,"message":msg},"request_id":...} */
void		 http_reply_error(struct http_request *, int status,
		    const char *msg);
const char	*http_reason(int status);

/*
 * Read what has arrived on a plain socket's bufferevent at once, up to cap
 * bytes in its input (libevent alone reads 4096 bytes a trip through the
 * loop); nothing for TLS.  For read callbacks.
 */
void	 http_read_pending(struct bufferevent *bev, size_t cap);

#endif
