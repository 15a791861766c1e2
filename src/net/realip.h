/*
 * The client's address behind a reverse proxy, like nginx's realip module:
 * X-Forwarded-For is believed only when the connection comes from a
 * server.trusted_proxies address (IP, CIDR, or "unix" for the Unix-socket
 * listeners), and then the right-most address that is not itself a
 * trusted proxy is the client.
 */
#ifndef PCM_REALIP_H
#define PCM_REALIP_H

#include "../core/conf.h"
#include "http.h"

/* Rewrite r->remote from X-Forwarded-For when the peer is trusted. */
void	 realip_apply(const struct conf *, struct http_request *r);
/* Does addr (numeric, or "unix") match one of the list's entries? */
int	 realip_trusted(const struct strlist *, const char *addr);

#endif
