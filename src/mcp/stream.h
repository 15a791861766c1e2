/*
 * The stream protocol: newline-delimited JSON-RPC on listeners with
 * protocol: stream (a Unix socket for local bridges, or TCP).  One MCP
 * session per connection; notifications (progress, log messages) are
 * written inline before the response they belong to.
 */
#ifndef PCM_STREAM_H
#define PCM_STREAM_H

#include "../core/conf.h"
#include "../net/http.h"

void	 stream_init(struct event_base *, struct http_server *,
	    const struct conf *);
/* The http_raw_accept for stream listeners. */
void	 stream_accept(struct bufferevent *, const char *remote, void *arg);
/* Reload or shutdown: idle sessions close now, busy ones after their answer. */
void	 stream_drain(void);
void	 stream_free_all(void);

#endif
