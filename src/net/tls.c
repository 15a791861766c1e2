#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"

static void
ssl_error(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, file, buf);
	ERR_clear_error();
}

/*
 * Built before the sandbox: every file is read here, and OpenSSL's
 * configuration and providers are loaded by the first SSL_CTX_new.
 */
SSL_CTX *
tls_server_ctx(const struct conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		ssl_error(err, errlen, "SSL_CTX_new", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		ssl_error(err, errlen, "cipher list", "");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		ssl_error(err, errlen, "certificate", c->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "private key", c->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "key does not match certificate", c->tls_cert);
		goto fail;
	}
	if (*c->tls_client_ca) {
		if (SSL_CTX_load_verify_locations(ctx, c->tls_client_ca, NULL) != 1) {
			ssl_error(err, errlen, "client CA", c->tls_client_ca);
			goto fail;
		}
		/* Required: no certificate, no handshake.  Optional: a request
		 * without one goes on, and the auth method decides. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (c->tls_client_auth == 0 ?
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
		SSL_CTX_set_verify_depth(ctx, (int)c->tls_verify_depth);
		/* The CA's names, so clients know which certificate to send. */
		SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(c->tls_client_ca));
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_in_use(const struct conf *c)
{
	size_t i;

	if (c->tls_enabled)
		return 1;
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls)
			return 1;
	return 0;
}

int
tls_check(const struct conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (!tls_in_use(c))
		return 0;
	if ((ctx = tls_server_ctx(c, err, errlen)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}
