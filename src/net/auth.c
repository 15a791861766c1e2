#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "../core/conf.h"
#include "../core/log.h"
#include "../core/util.h"
#include "auth.h"
#include "http.h"
#include "jwt.h"
#include "tls.h"

#define MAX_TOKENS	1024
#define MAX_TOKEN_FILE	(1024 * 1024)

struct token {
	unsigned char	 digest[SHA256_DIGEST_LENGTH];
	char		 identity[64];
};

static struct {
	int		 on;
	int		 method;
	const struct conf *conf;
	struct jwks	*keys;		/* oauth */
	const char	*header;
	const struct strlist *exempt;
	struct token	*t;
	size_t		 n;
} A;

/* "IDENTITY:TOKEN" or "TOKEN" (identity token-N). */
static int
add_token(const char *entry, size_t len, char *err, size_t errlen, const char *where)
{
	const char *colon = memchr(entry, ':', len), *tok = entry;
	size_t tlen = len, ilen = 0;
	struct token *nt;

	while (tlen > 0 && isspace((unsigned char)tok[tlen - 1]))
		tlen--;
	if (colon != NULL) {
		ilen = (size_t)(colon - entry);
		tok = colon + 1;
		tlen = (size_t)(entry + len - tok);
		while (tlen > 0 && isspace((unsigned char)tok[tlen - 1]))
			tlen--;
	}
	if (tlen < 16)
		return errorf(err, errlen, "%s: a token of %zu characters: at least 16"
		    " are needed", where, tlen);
	if (ilen >= sizeof(nt->identity) || A.n == MAX_TOKENS)
		return errorf(err, errlen, "%s: identity too long or too many tokens", where);
	if ((nt = reallocarray(A.t, A.n + 1, sizeof(*nt))) == NULL)
		return errorf(err, errlen, "out of memory");
	A.t = nt;
	SHA256((const unsigned char *)tok, tlen, nt[A.n].digest);
	if (ilen > 0)
		snprintf(nt[A.n].identity, sizeof(nt[A.n].identity), "%.*s", (int)ilen, entry);
	else
		snprintf(nt[A.n].identity, sizeof(nt[A.n].identity), "token-%zu", A.n + 1);
	A.n++;
	return 0;
}

/* Lines of "IDENTITY:TOKEN" or "TOKEN"; blank lines and # comments skipped. */
static int
load_text(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	char where[300];
	size_t line = 0;

	for (; p < end; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		while (p < nl && isspace((unsigned char)*p))
			p++;
		if (p == nl || *p == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, line);
		if (add_token(p, (size_t)(nl - p), err, errlen, where) == -1)
			return -1;
	}
	return 0;
}

static int
load_all(const struct conf *c, char *err, size_t errlen)
{
	const char *env = getenv("PULUMICOST_API_TOKENS");
	char where[64], *text;
	size_t i, len;
	const char *p, *q;
	int fd, rc;

	for (i = 0; i < c->auth_tokens.n; i++) {
		snprintf(where, sizeof(where), "security.auth.tokens[%zu]", i);
		if (add_token(c->auth_tokens.v[i], strlen(c->auth_tokens.v[i]), err,
		    errlen, where) == -1)
			return -1;
	}
	if (*c->auth_token_file) {
		if ((fd = open(c->auth_token_file, O_RDONLY | O_CLOEXEC)) == -1 ||
		    read_all_fd(fd, &text, MAX_TOKEN_FILE, &len) < 0) {
			rc = errno;
			if (fd != -1)
				close(fd);
			return errorf(err, errlen, "security.auth.token_file: %s: %s",
			    c->auth_token_file, strerror(rc));
		}
		close(fd);
		rc = load_text(text, len, c->auth_token_file, err, errlen);
		explicit_bzero(text, len);
		free(text);
		if (rc == -1)
			return -1;
	}
	for (p = env; p != NULL && *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ",");
		if (q > p && add_token(p, (size_t)(q - p), err, errlen,
		    "PULUMICOST_API_TOKENS") == -1)
			return -1;
	}
	if (A.n == 0)
		return errorf(err, errlen, "security.auth: method token needs tokens"
		    " (security.auth.tokens, security.auth.token_file or"
		    " PULUMICOST_API_TOKENS)");
	return 0;
}

/* mtls: the identity is the client certificate's, so one must be asked for. */
static int
mtls_check_config(const struct conf *c, char *err, size_t errlen)
{
	if (*c->tls_client_ca == '\0')
		return errorf(err, errlen, "security.auth.method mtls needs"
		    " security.tls.client_ca_file (the CA that signs client certificates)");
	if (!tls_in_use(c))
		return errorf(err, errlen, "security.auth.method mtls needs TLS"
		    " (security.tls.enabled or a listener with tls: true)");
	return 0;
}

/* --- oauth ------------------------------------------------------------------ */

/* The settings oauth cannot work without, and the keys: NULL with why. */
static struct jwks *
oauth_keys(const struct conf *c, char *err, size_t errlen)
{
	if (*c->oauth_issuer == '\0' || *c->oauth_audience == '\0' ||
	    *c->oauth_jwks_file == '\0') {
		errorf(err, errlen, "security.auth.method oauth needs"
		    " security.auth.oauth.issuer, audience (this server's resource"
		    " URL) and jwks_file");
		return NULL;
	}
	if (strncmp(c->oauth_audience, "https://", 8) != 0 &&
	    strncmp(c->oauth_audience, "http://", 7) != 0) {
		errorf(err, errlen, "security.auth.oauth.audience: must be this"
		    " server's URL (https://host/mcp), got \"%s\"", c->oauth_audience);
		return NULL;
	}
	return jwks_load(c->oauth_jwks_file, err, errlen);
}

/* RFC 9728: where clients find the authorization server. */
static void
metadata_url(const struct conf *c, char *buf, size_t len)
{
	const char *a = c->oauth_audience, *host = strstr(a, "://") + 3;
	size_t origin = (size_t)(strchrnul(host, '/') - a);

	if (*c->oauth_metadata_url) {
		strlcpy_(buf, c->oauth_metadata_url, len);
		return;
	}
	snprintf(buf, len, "%.*s/.well-known/oauth-protected-resource", (int)origin, a);
}

int
auth_metadata(struct http_request *r)
{
	const struct conf *c = A.conf;
	struct json_object *o, *v;
	size_t i;

	if (!A.on || A.method != AUTH_OAUTH ||
	    strncmp(r->path, "/.well-known/oauth-protected-resource", 37) != 0 ||
	    (r->path[37] != '\0' && r->path[37] != '/'))
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "resource", json_object_new_string(c->oauth_audience));
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_string(c->oauth_issuer));
	json_object_object_add(o, "authorization_servers", v);
	v = json_object_new_array();
	for (i = 0; i < c->oauth_scopes.n; i++)
		json_object_array_add(v, json_object_new_string(c->oauth_scopes.v[i]));
	json_object_object_add(o, "scopes_supported", v);
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_string("header"));
	json_object_object_add(o, "bearer_methods_supported", v);
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_string("RS256"));
	json_object_array_add(v, json_object_new_string("ES256"));
	json_object_object_add(o, "resource_signing_alg_values_supported", v);
	json_object_object_add(o, "resource_name", json_object_new_string(PCM_NAME));
	http_add_header(r, "Cache-Control", "max-age=300");
	http_reply_json(r, 200, o);
	return 1;
}

/* 401 or 403 with the challenge RFC 6750 and the MCP rules ask for. */
static void
oauth_refuse(struct http_request *r, int status, const char *error, const char *why)
{
	const struct conf *c = A.conf;
	char url[512], scope[512], hdr[1280], msg[400];
	size_t i, o = 0;

	metadata_url(c, url, sizeof(url));
	scope[0] = '\0';
	for (i = 0; i < c->oauth_scopes.n && o < sizeof(scope); i++)
		o += (size_t)snprintf(scope + o, sizeof(scope) - o, "%s%s", i ? " " : "",
		    c->oauth_scopes.v[i]);
	o = (size_t)snprintf(hdr, sizeof(hdr), "Bearer resource_metadata=\"%s\"", url);
	if (scope[0] && o < sizeof(hdr))
		o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, ", scope=\"%s\"", scope);
	if (error != NULL && o < sizeof(hdr))
		snprintf(hdr + o, sizeof(hdr) - o, ", error=\"%s\"", error);
	http_add_header(r, "WWW-Authenticate", hdr);
	snprintf(msg, sizeof(msg), "%s", why);
	http_reply_error(r, status, msg);
}

static int
oauth_request(struct http_request *r, const char *tok)
{
	const struct conf *c = A.conf;
	struct jwt_rules rules;
	char why[300];

	if (tok == NULL) {
		oauth_refuse(r, 401, NULL, "authentication required: an OAuth access"
		    " token in Authorization: Bearer (see the resource metadata)");
		return 0;
	}
	rules.issuer = c->oauth_issuer;
	rules.audience = c->oauth_audience;
	rules.scopes = (const char *const *)c->oauth_scopes.v;
	rules.nscopes = c->oauth_scopes.n;
	rules.leeway_s = c->oauth_leeway / 1000;
	rules.now = wall_ms() / 1000;
	switch (jwt_verify(A.keys, tok, &rules, r->user, sizeof(r->user), why, sizeof(why))) {
	case JWT_OK:
		if (r->user[0] == '\0')
			strlcpy_(r->user, "oauth-client", sizeof(r->user));
		return 1;
	case JWT_SCOPE:
		logmsg(LOG_INFO, "access token refused (403): %s", why);
		oauth_refuse(r, 403, "insufficient_scope", why);
		return 0;
	default:
		logmsg(LOG_INFO, "access token refused (401): %s", why);
		oauth_refuse(r, 401, "invalid_token", why);
		return 0;
	}
}

int
auth_check_config(const struct conf *c, char *err, size_t errlen)
{
	int rc;

	if (!c->auth_enabled)
		return 0;
	if (c->auth_method == AUTH_MTLS)
		return mtls_check_config(c, err, errlen);
	if (c->auth_method == AUTH_OAUTH) {
		struct jwks *k;

		if ((k = oauth_keys(c, err, errlen)) == NULL)
			return -1;
		jwks_free(k);
		return 0;
	}
	memset(&A, 0, sizeof(A));
	rc = load_all(c, err, errlen);
	free(A.t);
	memset(&A, 0, sizeof(A));
	return rc;
}

int
auth_init(const struct conf *c, char *err, size_t errlen)
{
	memset(&A, 0, sizeof(A));
	if (!c->auth_enabled)
		return 0;
	if (c->auth_method == AUTH_OAUTH) {
		if ((A.keys = oauth_keys(c, err, errlen)) == NULL)
			return -1;
	} else if (auth_check_config(c, err, errlen) == -1 ||
	    (c->auth_method == AUTH_TOKEN && load_all(c, err, errlen) == -1))
		return -1;
	A.on = 1;
	A.conf = c;
	A.method = (int)c->auth_method;
	A.header = c->auth_token_header;
	A.exempt = &c->auth_exempt;
	return 0;
}

static int
exempt(const char *path)
{
	size_t i;

	for (i = 0; i < A.exempt->n; i++)
		if (strcmp(A.exempt->v[i], path) == 0)
			return 1;
	return 0;
}

/* Which token this is: every configured digest compared, in constant time. */
static const struct token *
match(const char *tok, size_t len)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	const struct token *hit = NULL;
	size_t i;

	SHA256((const unsigned char *)tok, len, d);
	for (i = 0; i < A.n; i++)
		if (CRYPTO_memcmp(d, A.t[i].digest, sizeof(d)) == 0 && hit == NULL)
			hit = &A.t[i];
	return hit;
}

/* The certificate was verified in the handshake: its name is the identity. */
static int
mtls_request(struct http_request *r)
{
	if (r->client_subject[0]) {
		snprintf(r->user, sizeof(r->user), "%s", r->client_cn[0] ?
		    r->client_cn : r->client_subject);
		return 1;
	}
	http_reply_error(r, 401, "authentication required: a client certificate"
	    " signed by the configured client CA (security.tls.client_ca_file)");
	return 0;
}

int
auth_request(struct http_request *r)
{
	const char *h, *tok = NULL;
	const struct token *t;
	char msg[200];

	r->user[0] = '\0';
	if (!A.on || exempt(r->path))
		return 1;
	if (A.method == AUTH_MTLS)
		return mtls_request(r);
	if (A.method == AUTH_OAUTH) {
		/* Tokens only in Authorization: never a query or another header. */
		if ((h = http_header(r, "Authorization")) != NULL &&
		    strncasecmp(h, "Bearer ", 7) == 0) {
			for (tok = h + 7; *tok == ' '; tok++)
				;
		}
		return oauth_request(r, tok != NULL && *tok ? tok : NULL);
	}
	if ((h = http_header(r, A.header)) != NULL && *h)
		tok = h;
	else if ((h = http_header(r, "Authorization")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0) {
		for (tok = h + 7; *tok == ' '; tok++)
			;
	}
	if (tok != NULL && *tok && (t = match(tok, strlen(tok))) != NULL) {
		snprintf(r->user, sizeof(r->user), "%s", t->identity);
		return 1;
	}
	http_add_header(r, "WWW-Authenticate", tok == NULL ?
	    "Bearer realm=\"pulumicost-mcp\"" :
	    "Bearer realm=\"pulumicost-mcp\", error=\"invalid_token\"");
	snprintf(msg, sizeof(msg), tok == NULL ? "authentication required: send the"
	    " token in %s or Authorization: Bearer" : "the token is not valid", A.header);
	http_reply_error(r, 401, msg);
	return 0;
}
