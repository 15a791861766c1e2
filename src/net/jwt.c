#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "jwt.h"

#define MAX_KEYS	64
#define MAX_TOKEN	16384
#define MAX_JWKS	(1024 * 1024)

enum kty { KTY_RSA, KTY_EC };

struct jwk {
	enum kty	 kty;
	char		 kid[128];
	EVP_PKEY	*pkey;
};

struct jwks {
	struct jwk	 k[MAX_KEYS];
	size_t		 n;
};

/* --- base64url -------------------------------------------------------------- */

/* RFC 7515 base64url without padding: the decoded length, or -1. */
static ssize_t
b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	char *std;
	size_t i, n = len + 4;
	ssize_t r;

	if (len > MAX_TOKEN || len % 4 == 1 || (std = malloc(n)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '+' || c == '/' || c == '=') {
			free(std);
			return -1;	/* standard alphabet: not base64url */
		}
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (i % 4 != 0)
		std[i++] = '=';
	r = base64_decode(std, i, out, outlen);
	free(std);
	return r;
}

/* A member of o that is a base64url string, decoded into a BIGNUM. */
static BIGNUM *
bn_member(struct json_object *o, const char *k)
{
	struct json_object *v;
	unsigned char buf[1024];
	ssize_t n;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	n = b64url_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	    buf, sizeof(buf));
	return n > 0 ? BN_bin2bn(buf, (int)n, NULL) : NULL;
}

static const char *
str_member(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

/* --- keys ------------------------------------------------------------------- */

static EVP_PKEY *
pkey_from(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *k = NULL;

	if (p == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
		k = NULL;
	OSSL_PARAM_free(p);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static EVP_PKEY *
rsa_key(struct json_object *o, const char **why)
{
	BIGNUM *n = bn_member(o, "n"), *e = bn_member(o, "e");
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *k = NULL;

	*why = "n and e must be base64url integers";
	if (n != NULL && e != NULL && b != NULL) {
		if (BN_num_bits(n) < 2048)
			*why = "an RSA key of fewer than 2048 bits";
		else if (OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) == 1)
			k = pkey_from("RSA", b);
	}
	BN_free(n);
	BN_free(e);
	OSSL_PARAM_BLD_free(b);
	return k;
}

static EVP_PKEY *
ec_key(struct json_object *o, const char **why)
{
	const char *crv = str_member(o, "crv");
	unsigned char x[66], y[66], pt[1 + 64];
	const char *xs = str_member(o, "x"), *ys = str_member(o, "y");
	OSSL_PARAM_BLD *b;
	EVP_PKEY *k = NULL;

	if (crv == NULL || strcmp(crv, "P-256") != 0) {
		*why = "only the curve P-256 (ES256) is supported";
		return NULL;
	}
	*why = "x and y must be 32-byte base64url coordinates";
	if (xs == NULL || ys == NULL ||
	    b64url_decode(xs, strlen(xs), x, sizeof(x)) != 32 ||
	    b64url_decode(ys, strlen(ys), y, sizeof(y)) != 32)
		return NULL;
	pt[0] = 0x04;		/* uncompressed point */
	memcpy(pt + 1, x, 32);
	memcpy(pt + 33, y, 32);
	if ((b = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) == 1)
		k = pkey_from("EC", b);
	OSSL_PARAM_BLD_free(b);
	if (k == NULL)
		*why = "the point is not on the curve P-256";
	return k;
}

static int
add_key(struct jwks *s, struct json_object *o, size_t i, char *err, size_t errlen,
    const char *path)
{
	const char *kty = str_member(o, "kty"), *kid = str_member(o, "kid");
	const char *use = str_member(o, "use"), *why = "kty must be RSA or EC";
	struct jwk *k = &s->k[s->n];

	if (use != NULL && strcmp(use, "sig") != 0)
		return 0;	/* an encryption key: not ours to use */
	if (kty != NULL && strcmp(kty, "RSA") == 0) {
		k->kty = KTY_RSA;
		k->pkey = rsa_key(o, &why);
	} else if (kty != NULL && strcmp(kty, "EC") == 0) {
		k->kty = KTY_EC;
		k->pkey = ec_key(o, &why);
	}
	if (k->pkey == NULL)
		return errorf(err, errlen, "%s: keys[%zu]: %s", path, i, why);
	strlcpy_(k->kid, kid ? kid : "", sizeof(k->kid));
	s->n++;
	return 0;
}

struct jwks *
jwks_load(const char *path, char *err, size_t errlen)
{
	struct json_object *doc, *keys;
	struct jwks *s;
	char *buf, why[256];
	size_t len, i;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    read_all_fd(fd, &buf, MAX_JWKS, &len) < 0) {
		errorf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	close(fd);
	doc = rpc_parse(buf, len, why, sizeof(why));
	free(buf);
	if (doc == NULL) {
		errorf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	if (!json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(doc);
		errorf(err, errlen, "%s: not a JWK set (a JSON object with \"keys\")", path);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		json_object_put(doc);
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < json_object_array_length(keys) && s->n < MAX_KEYS; i++)
		if (add_key(s, json_object_array_get_idx(keys, i), i, err, errlen, path) == -1) {
			json_object_put(doc);
			jwks_free(s);
			return NULL;
		}
	json_object_put(doc);
	if (s->n == 0) {
		jwks_free(s);
		errorf(err, errlen, "%s: no signing key (RSA or EC P-256)", path);
		return NULL;
	}
	return s;
}

void
jwks_free(struct jwks *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		EVP_PKEY_free(s->k[i].pkey);
	free(s);
}

size_t
jwks_count(const struct jwks *s)
{
	return s->n;
}

/* --- signatures ------------------------------------------------------------- */

/* ES256 signs r || s (32 bytes each); OpenSSL verifies DER. */
static int
es256_der(const unsigned char *raw, size_t n, unsigned char **der, int *derlen)
{
	ECDSA_SIG *sig;
	BIGNUM *r, *s;

	if (n != 64 || (sig = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(raw, 32, NULL);
	s = BN_bin2bn(raw + 32, 32, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -1;
	}
	*der = NULL;
	*derlen = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	return *derlen > 0 ? 0 : -1;
}

static int
verify_with(const struct jwk *k, const char *signed_part, size_t slen,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen = 0, ok = 0;

	if (md == NULL)
		return 0;
	if (k->kty == KTY_EC && es256_der(sig, siglen, &der, &derlen) == -1) {
		EVP_MD_CTX_free(md);
		return 0;
	}
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1)
		ok = EVP_DigestVerify(md, der ? der : sig, der ? (size_t)derlen : siglen,
		    (const unsigned char *)signed_part, slen) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

/* --- claims ----------------------------------------------------------------- */

static int
audience_ok(struct json_object *claims, const char *aud)
{
	struct json_object *v;
	size_t i;

	if (!json_object_object_get_ex(claims, "aud", &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), aud) == 0;
	if (!json_object_is_type(v, json_type_array))
		return 0;
	for (i = 0; i < json_object_array_length(v); i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), aud) == 0)
			return 1;
	}
	return 0;
}

/* "scope" (RFC 8693/9068, space-separated) or "scp" (an array). */
static int
has_scope(struct json_object *claims, const char *want)
{
	struct json_object *v;
	const char *s, *p;
	size_t i, n = strlen(want);

	if (json_object_object_get_ex(claims, "scope", &v) &&
	    json_object_is_type(v, json_type_string)) {
		for (s = json_object_get_string(v); (p = strstr(s, want)) != NULL; s = p + 1)
			if ((p == json_object_get_string(v) || p[-1] == ' ') &&
			    (p[n] == '\0' || p[n] == ' '))
				return 1;
	}
	if (json_object_object_get_ex(claims, "scp", &v) &&
	    json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v); i++)
			if ((s = json_object_get_string(json_object_array_get_idx(v, i))) != NULL &&
			    strcmp(s, want) == 0)
				return 1;
	return 0;
}

static int
int_claim(struct json_object *claims, const char *k, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(claims, k, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -1;
	*out = json_object_get_int64(v);
	return 1;
}

static enum jwt_result
check_claims(struct json_object *c, const struct jwt_rules *r, char *sub, size_t sublen,
    char *why, size_t whylen)
{
	const char *iss = str_member(c, "iss"), *s;
	int64_t exp, nbf;
	size_t i;
	int has;

	if ((has = int_claim(c, "exp", &exp)) != 1)
		return errorf(why, whylen, has == 0 ? "the token has no exp" :
		    "exp is not a number"), JWT_INVALID;
	if (r->now >= exp + r->leeway_s)
		return errorf(why, whylen, "the token expired %lld s ago",
		    (long long)(r->now - exp)), JWT_INVALID;
	if ((has = int_claim(c, "nbf", &nbf)) == -1 || (has == 1 && r->now + r->leeway_s < nbf))
		return errorf(why, whylen, "the token is not valid yet (nbf)"), JWT_INVALID;
	if (iss == NULL || strcmp(iss, r->issuer) != 0)
		return errorf(why, whylen, "the token was issued by %s, not the configured"
		    " issuer", iss ? "another issuer" : "no issuer (iss)"), JWT_INVALID;
	if (!audience_ok(c, r->audience))
		return errorf(why, whylen, "the token is for another audience (aud is not"
		    " %s)", r->audience), JWT_INVALID;
	for (i = 0; i < r->nscopes; i++)
		if (!has_scope(c, r->scopes[i]))
			return errorf(why, whylen, "the token lacks the scope %s",
			    r->scopes[i]), JWT_SCOPE;
	s = str_member(c, "sub");
	if (s == NULL)
		s = str_member(c, "client_id");
	strlcpy_(sub, s ? s : "", sublen);
	return JWT_OK;
}

/* --- tokens ----------------------------------------------------------------- */

static struct json_object *
json_part(const char *p, size_t len)
{
	unsigned char buf[MAX_TOKEN];
	struct json_object *o;
	char why[128];
	ssize_t n;

	if ((n = b64url_decode(p, len, buf, sizeof(buf))) <= 0 ||
	    (o = rpc_parse((const char *)buf, (size_t)n, why, sizeof(why))) == NULL)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The keys the header allows: by kid when it names one, of alg's type. */
static int
key_fits(const struct jwk *k, enum kty want, const char *kid)
{
	return k->kty == want && (kid == NULL || strcmp(k->kid, kid) == 0);
}

enum jwt_result
jwt_verify(const struct jwks *s, const char *token, const struct jwt_rules *r,
    char *sub, size_t sublen, char *why, size_t whylen)
{
	const char *dot1, *dot2, *alg, *kid;
	struct json_object *hdr = NULL, *claims = NULL;
	unsigned char sig[1024];
	enum jwt_result res = JWT_INVALID;
	enum kty want;
	ssize_t siglen;
	size_t i, len = strlen(token);
	int verified = 0;

	if (len > MAX_TOKEN || (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || strchr(dot2 + 1, '.') != NULL) {
		errorf(why, whylen, "not a JWT (three base64url parts)");
		return JWT_INVALID;
	}
	if ((hdr = json_part(token, (size_t)(dot1 - token))) == NULL ||
	    (claims = json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL) {
		errorf(why, whylen, "the JWT's header or claims are not base64url JSON objects");
		goto done;
	}
	alg = str_member(hdr, "alg");
	kid = str_member(hdr, "kid");
	if (alg != NULL && strcmp(alg, "RS256") == 0)
		want = KTY_RSA;
	else if (alg != NULL && strcmp(alg, "ES256") == 0)
		want = KTY_EC;
	else {
		errorf(why, whylen, "algorithm %s is not accepted (RS256 or ES256)",
		    alg ? alg : "(none)");
		goto done;
	}
	if ((siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig))) <= 0) {
		errorf(why, whylen, "the signature is not base64url");
		goto done;
	}
	for (i = 0; i < s->n && !verified; i++)
		if (key_fits(&s->k[i], want, kid))
			verified = verify_with(&s->k[i], token, (size_t)(dot2 - token), sig,
			    (size_t)siglen);
	if (!verified) {
		errorf(why, whylen, "the signature does not verify with any %s key of the"
		    " JWKS%s", want == KTY_RSA ? "RSA" : "EC", kid ? " named by kid" : "");
		goto done;
	}
	res = check_claims(claims, r, sub, sublen, why, whylen);
done:
	json_object_put(hdr);
	json_object_put(claims);
	return res;
}
