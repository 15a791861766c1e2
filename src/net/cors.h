/*
 * CORS for browser MCP clients (the cors section): an allowed Origin gets
 * Access-Control-Allow-Origin and the exposed headers on its answers, and
 * its preflight (OPTIONS with Access-Control-Request-Method) is answered
 * here, before authentication, since browsers send no credentials on it.
 * An Origin not allowed gets no CORS headers (the browser then refuses),
 * and its preflight a 403.
 */
#ifndef PCM_CORS_H
#define PCM_CORS_H

#include "../core/conf.h"
#include "http.h"

int	 cors_origin_allowed(const struct conf *, const char *origin);
/* 1 when the request was answered (a preflight); 0 to go on. */
int	 cors_handle(const struct conf *, struct http_request *);

#endif
