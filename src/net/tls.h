/* TLS server contexts (OpenSSL 3): TLS 1.2 and 1.3 only, modern ciphers. */
#ifndef PCM_TLS_H
#define PCM_TLS_H

#include <openssl/ssl.h>

#include "../core/conf.h"

SSL_CTX	*tls_server_ctx(const struct conf *, char *err, size_t errlen);
/* Does the configuration use TLS anywhere? */
int	 tls_in_use(const struct conf *);
/* Load certificate and key once to prove they work (for -t and reloads). */
int	 tls_check(const struct conf *, char *err, size_t errlen);

#endif
