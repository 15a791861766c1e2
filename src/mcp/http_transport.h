/*
 * MCP over HTTP: Streamable HTTP at /mcp (JSON answers; session-less for
 * now) and plain JSON-RPC at /rpc, where every tool is also a method.
 */
#ifndef PCM_HTTP_TRANSPORT_H
#define PCM_HTTP_TRANSPORT_H

#include "../core/conf.h"
#include "../core/shm.h"
#include "../net/http.h"

void	 mcp_http_init(const struct conf *, struct shm *sessions);
void	 mcp_http_endpoint(struct http_request *);	/* /mcp */
void	 mcp_http_rpc(struct http_request *);		/* /rpc */

#endif
