/*
 * JWT access tokens (security.auth.method oauth): base64url, the header
 * and claims JSON, signatures against a JWKS of one RSA and one EC key.
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/net/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The P-256 base point and an RSA-2048 modulus (public values only). */
static const char jwks_text[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
    "\"x\":\"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\","
    "\"y\":\"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"},"
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":"
    "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\"}]}";

static struct jwks *keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const scopes[] = { "mcp:tools" };
	struct jwt_rules r = { "https://issuer", "https://mcp/mcp", scopes, 1, 60,
	    1800000000 };
	char err[256], sub[64], why[300], *tok;

	if (keys == NULL) {
		/* The key set through a memfd: no shared file in /tmp, which
		 * another user (or an earlier run as root) may own. */
		char path[64];
		int fd = memfd_create("pcm-fuzz-jwks", MFD_CLOEXEC);

		snprintf(err, sizeof(err), "memfd: %s", strerror(errno));
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (fd == -1 || write(fd, jwks_text, strlen(jwks_text)) !=
		    (ssize_t)strlen(jwks_text) ||
		    (keys = jwks_load(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "fuzz_jwt: %s\n", err);
			abort();
		}
		close(fd);
	}
	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	(void)jwt_verify(keys, tok, &r, sub, sizeof(sub), why, sizeof(why));
	free(tok);
	return 0;
}
