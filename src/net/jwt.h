/*
 * JWT access tokens verified locally, for security.auth.method oauth (the
 * MCP server as an OAuth 2.1 resource server): RS256 and ES256 only, keys
 * from a JWKS file, and the claims iss, aud, exp, nbf and the scopes.
 * A key is used only with the algorithm of its type (an RSA key never
 * verifies ES256, nor an EC key RS256), and "none" or HMAC algorithms are
 * refused: no algorithm confusion.
 */
#ifndef PCM_JWT_H
#define PCM_JWT_H

#include <stddef.h>
#include <stdint.h>

struct jwks;

struct jwt_rules {
	const char	*issuer;
	const char	*audience;
	const char *const *scopes;	/* all required */
	size_t		 nscopes;
	int64_t		 leeway_s;
	int64_t		 now;		/* seconds since the epoch */
};

enum jwt_result {
	JWT_OK,
	JWT_INVALID,		/* 401 invalid_token */
	JWT_SCOPE		/* 403 insufficient_scope */
};

/* NULL with err set (file, key index, why). */
struct jwks	*jwks_load(const char *path, char *err, size_t errlen);
void		 jwks_free(struct jwks *);
size_t		 jwks_count(const struct jwks *);

/*
 * Verify token: JWT_OK with the subject (or client_id) in sub, or why it
 * is refused in why (never the token itself).
 */
enum jwt_result	 jwt_verify(const struct jwks *, const char *token,
		    const struct jwt_rules *, char *sub, size_t sublen,
		    char *why, size_t whylen);

#endif
