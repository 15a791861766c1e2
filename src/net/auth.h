/*
 * Authentication of HTTP requests (security.auth).  method mtls: the
 * verified client certificate's name.  method oauth: JWT access tokens
 * (jwt.h) and the protected resource metadata.  method token: tokens from security.auth.tokens, security.auth.token_file and
 * the PULUMICOST_API_TOKENS environment variable, each "IDENTITY:TOKEN" or
 * a bare token; presented in the configured header (X-API-Token) or as
 * "Authorization: Bearer TOKEN"; compared by SHA-256 digest in constant
 * time; the exempt paths (security.auth.exempt_paths) need none.  A token
 * is never logged, only the identity it stands for.
 */
#ifndef PCM_AUTH_H
#define PCM_AUTH_H

#include <stddef.h>

struct conf;
struct http_request;

/* Load the tokens (before the sandbox: the file is read here).  -1 with why. */
int	 auth_init(const struct conf *, char *err, size_t errlen);
/* The configuration's token sources are usable: 0, or -1 with why (-t). */
int	 auth_check_config(const struct conf *, char *err, size_t errlen);
/*
 * May the request go on?  1 yes (r->user set to the identity, or empty
 * for an exempt path or auth off), 0 no: a 401 was sent.
 */
int	 auth_request(struct http_request *);
/*
 * method oauth: serve the protected resource metadata (RFC 9728) at
 * /.well-known/oauth-protected-resource[/...]: 1 when answered.
 */
int	 auth_metadata(struct http_request *);

#endif
