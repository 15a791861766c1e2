/*
 * requestState of input-required results (MRTR, SEP-2322).  The state a
 * handler wants back travels through the client and returns on its next
 * call, to any worker of any generation: so it is sealed with HMAC-SHA256
 * under a key kept in the sessions segment (random, made by the master,
 * the same for every worker and reload), bound to the request it was
 * issued for, and valid for STATE_TTL_MS.  A client can neither forge nor
 * alter it, nor replay it on another tool.
 */
#ifndef PCM_STATE_H
#define PCM_STATE_H

#include <stddef.h>

#define STATE_KEY_LEN	32
#define STATE_TTL_MS	(15 * 60 * 1000)	/* a person may be answering */
#define STATE_MAX	4096			/* a handler's state, bytes */

/* The key; a copy is kept.  Computes one seal, so OpenSSL is ready before
 * the sandbox closes. */
void	 state_init(const unsigned char key[STATE_KEY_LEN]);
/*
 * Seal state for scope (e.g. "tools/call test_x"): a malloc'd string, or
 * NULL when state is too long or there is no key.
 */
char	*state_seal(const char *scope, const char *state);
/*
 * Open a sealed state: 0 with a malloc'd copy of the state in *state, or
 * -1 with why (a static string: tampered, expired, issued for another
 * request).
 */
int	 state_open(const char *scope, const char *sealed, char **state,
	    const char **why);

#endif
