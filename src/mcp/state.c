#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../core/util.h"
#include "state.h"

#define MAC_LEN		32
#define MAC_B64_LEN	44			/* base64 of 32 bytes */
#define SEALED_MAX	(STATE_MAX * 2)		/* base64 and the header */

static unsigned char key[STATE_KEY_LEN];
static int have_key;

static int
mac(const void *data, size_t len, unsigned char out[MAC_LEN])
{
	unsigned int n = MAC_LEN;

	return HMAC(EVP_sha256(), key, sizeof(key), data, len, out, &n) != NULL &&
	    n == MAC_LEN ? 0 : -1;
}

void
state_init(const unsigned char k[STATE_KEY_LEN])
{
	char *warm;

	memcpy(key, k, sizeof(key));
	have_key = 1;
	warm = state_seal("init", "");
	free(warm);
}

/*
 * The sealed form is base64(payload) "." base64(HMAC(payload)), the
 * payload "1\n<issued ms>\n<scope>\n<state>".
 */
char *
state_seal(const char *scope, const char *state)
{
	unsigned char m[MAC_LEN];
	char *payload, *out;
	size_t plen, olen;
	ssize_t n;
	int len;

	if (!have_key || strlen(state) > STATE_MAX || strchr(scope, '\n') != NULL)
		return NULL;
	len = asprintf(&payload, "1\n%" PRId64 "\n%s\n%s", now_ms(), scope, state);
	if (len < 0)
		return NULL;
	plen = (size_t)len;
	olen = (plen + 2) / 3 * 4 + 1 + MAC_B64_LEN + 1;
	if ((out = malloc(olen)) == NULL || mac(payload, plen, m) == -1 ||
	    (n = base64_encode(payload, plen, out, olen)) == -1) {
		free(payload);
		free(out);
		return NULL;
	}
	out[n++] = '.';
	if (base64_encode(m, sizeof(m), out + n, olen - (size_t)n) == -1) {
		free(payload);
		free(out);
		return NULL;
	}
	free(payload);
	return out;
}

int
state_open(const char *scope, const char *sealed, char **state, const char **why)
{
	unsigned char want[MAC_LEN], got[MAC_LEN + 3];
	const char *dot;
	char *payload, *p, *end;
	size_t slen = strlen(sealed);
	int64_t issued;
	ssize_t n;

	*state = NULL;
	*why = "it failed its integrity check";
	if (!have_key || slen > SEALED_MAX || (dot = strchr(sealed, '.')) == NULL)
		return -1;
	if ((payload = malloc(slen + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	n = base64_decode(sealed, (size_t)(dot - sealed), payload, slen);
	if (n == -1 || base64_decode(dot + 1, strlen(dot + 1), got, sizeof(got)) !=
	    MAC_LEN || mac(payload, (size_t)n, want) == -1 ||
	    CRYPTO_memcmp(want, got, MAC_LEN) != 0) {
		free(payload);
		return -1;
	}
	payload[n] = '\0';
	/* Authentic, so well formed: "1\n<ms>\n<scope>\n<state>". */
	issued = strtoll(payload + 2, &end, 10);
	p = end + 1;
	if (strncmp(p, scope, strlen(scope)) != 0 || p[strlen(scope)] != '\n') {
		*why = "it was issued for another request";
		free(payload);
		return -1;
	}
	if (now_ms() - issued > STATE_TTL_MS) {
		*why = "it has expired";
		free(payload);
		return -1;
	}
	p += strlen(scope) + 1;
	memmove(payload, p, strlen(p) + 1);
	*state = payload;
	return 0;
}
