/*
 * YAML configuration loader.
 *
 * One table, keys[], describes every key: its dotted path, its type, where
 * it lives in struct conf, its range and its default.  Defaults, file
 * values and environment overrides all pass through the same converter,
 * so a default can never be something the file could not say.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "util.h"

enum ktype {
	K_SECTION, K_BOOL, K_INT, K_DURATION, K_SIZE, K_DOUBLE, K_STR, K_PATH,
	K_ENUM, K_STRLIST, K_PATHLIST, K_SECRETLIST, K_WORKERS,
	K_LISTEN, K_STACKS, K_BUDGETS
};

struct key {
	const char		*path;
	enum ktype		 type;
	size_t			 off;
	int64_t			 min, max;
	const char *const	*names;		/* K_ENUM, NULL-terminated */
	const char		*def;		/* default, parsed like a value */
};

static const char *const log_levels[] = {
	"debug", "info", "warn", "error", "crit", "alert", NULL
};
static const char *const sandbox_modes[] = {
	"enforce", "trap", "log", "off", NULL
};
static const char *const log_formats[] = { "json", "text", NULL };
static const char *const auth_methods[] = { "token", "oauth", "mtls", NULL };
static const char *const client_auths[] = { "required", "optional", NULL };

#define O(f)	offsetof(struct conf, f)
#define SEC(p)	{ p, K_SECTION, 0, 0, 0, NULL, NULL }
#define DAY	86400000LL
#define MAXI	INT64_MAX

static const struct key keys[] = {
	SEC("server"),
	{ "server.host", K_STR, O(host), 0, 0, NULL, "127.0.0.1" },
	{ "server.port", K_INT, O(port), 1, 65535, NULL, "8080" },
	{ "server.log_level", K_ENUM, O(server_log_level), 0, 0, log_levels, "info" },
	{ "server.read_timeout", K_DURATION, O(read_timeout), 100, DAY, NULL, "30s" },
	{ "server.write_timeout", K_DURATION, O(write_timeout), 100, DAY, NULL, "30s" },
	{ "server.shutdown_timeout", K_DURATION, O(shutdown_timeout), 0, DAY, NULL, "10s" },
	{ "server.keepalive_timeout", K_DURATION, O(keepalive_timeout), 0, DAY, NULL, "75s" },
	{ "server.listen", K_LISTEN, 0, 0, 0, NULL, NULL },
	{ "server.worker_processes", K_WORKERS, O(worker_processes), 1, 64, NULL, "auto" },
	{ "server.user", K_STR, O(user), 0, 0, NULL, "nobody" },
	{ "server.group", K_STR, O(group), 0, 0, NULL, "" },
	{ "server.pid_file", K_PATH, O(pid_file), 0, 0, NULL, "run/pulumicost-mcp.pid" },
	{ "server.sandbox", K_ENUM, O(sandbox), 0, 0, sandbox_modes, "enforce" },
	{ "server.reload_timeout", K_DURATION, O(reload_timeout), 100, 600000, NULL, "10s" },
	{ "server.worker_watchdog", K_DURATION, O(worker_watchdog), 1000, DAY, NULL, "30s" },
	{ "server.max_connections", K_INT, O(max_connections), 1, 1000000, NULL, "1024" },
	{ "server.max_header_size", K_SIZE, O(max_header_size), 1024, 1048576, NULL, "16k" },
	{ "server.trusted_proxies", K_STRLIST, O(trusted_proxies), 0, 0, NULL, NULL },

	SEC("pulumicost"),
	{ "pulumicost.core_path", K_PATH, O(core_path), 0, 0, NULL, "" },
	{ "pulumicost.plugin_dir", K_PATH, O(plugin_dir), 0, 0, NULL, "~/.pulumicost/plugins" },
	{ "pulumicost.spec_version", K_STR, O(spec_version), 0, 0, NULL, "0.1.0" },
	{ "pulumicost.spec_dir", K_PATH, O(spec_dir), 0, 0, NULL, "" },

	SEC("plugins"),
	{ "plugins.timeout", K_DURATION, O(plugin_timeout), 100, 3600000, NULL, "30s" },
	{ "plugins.max_concurrent", K_INT, O(plugin_max_concurrent), 1, 1024, NULL, "10" },
	{ "plugins.health_check_interval", K_DURATION, O(plugin_health_interval), 1000, DAY, NULL, "60s" },
	{ "plugins.retry_attempts", K_INT, O(plugin_retry_attempts), 0, 100, NULL, "3" },
	{ "plugins.retry_delay", K_DURATION, O(plugin_retry_delay), 0, 3600000, NULL, "5s" },
	{ "plugins.priority", K_STRLIST, O(plugin_priority), 0, 0, NULL, NULL },

	SEC("mcp"),
	{ "mcp.enable_streaming", K_BOOL, O(mcp_streaming), 0, 0, NULL, "true" },
	{ "mcp.max_message_size", K_SIZE, O(max_message_size), 1024, 1073741824, NULL, "10MB" },
	{ "mcp.connection_timeout", K_DURATION, O(connection_timeout), 100, DAY, NULL, "30s" },
	{ "mcp.conformance", K_BOOL, O(mcp_conformance), 0, 0, NULL, "false" },
	{ "mcp.page_size", K_INT, O(page_size), 1, 1000, NULL, "100" },
	{ "mcp.session_timeout", K_DURATION, O(session_timeout), 1000, 7 * DAY, NULL, "1h" },
	{ "mcp.allowed_hosts", K_STRLIST, O(allowed_hosts), 0, 0, NULL, NULL },
	{ "mcp.allowed_origins", K_STRLIST, O(allowed_origins), 0, 0, NULL, NULL },

	SEC("cache"),
	{ "cache.enabled", K_BOOL, O(cache_enabled), 0, 0, NULL, "true" },
	{ "cache.size", K_SIZE, O(cache_size), 1048576, 17179869184LL, NULL, "64MB" },
	SEC("cache.ttl"),
	{ "cache.ttl.plugin_metadata", K_DURATION, O(ttl_plugin_metadata), 0, DAY, NULL, "5m" },
	{ "cache.ttl.cost_data", K_DURATION, O(ttl_cost_data), 0, DAY, NULL, "30s" },
	{ "cache.ttl.pulumi_state", K_DURATION, O(ttl_pulumi_state), 0, DAY, NULL, "1m" },

	SEC("observability"),
	SEC("observability.metrics"),
	{ "observability.metrics.enabled", K_BOOL, O(metrics_enabled), 0, 0, NULL, "true" },
	{ "observability.metrics.port", K_INT, O(metrics_port), 0, 65535, NULL, "0" },
	{ "observability.metrics.path", K_STR, O(metrics_path), 0, 0, NULL, "/metrics" },
	{ "observability.metrics.host", K_STR, O(metrics_host), 0, 0, NULL, "127.0.0.1" },
	SEC("observability.tracing"),
	{ "observability.tracing.enabled", K_BOOL, O(tracing_enabled), 0, 0, NULL, "false" },
	{ "observability.tracing.endpoint", K_STR, O(tracing_endpoint), 0, 0, NULL, "" },
	{ "observability.tracing.sample_rate", K_DOUBLE, O(tracing_sample_rate), 0, 1, NULL, "1" },
	SEC("observability.logging"),
	{ "observability.logging.format", K_ENUM, O(log_format), 0, 0, log_formats, "json" },
	{ "observability.logging.level", K_ENUM, O(log_level), 0, 0, log_levels, "info" },
	{ "observability.logging.output", K_STR, O(log_output), 0, 0, NULL, "stderr" },

	SEC("security"),
	SEC("security.tls"),
	{ "security.tls.enabled", K_BOOL, O(tls_enabled), 0, 0, NULL, "false" },
	{ "security.tls.cert_file", K_PATH, O(tls_cert), 0, 0, NULL, "" },
	{ "security.tls.key_file", K_PATH, O(tls_key), 0, 0, NULL, "" },
	{ "security.tls.client_ca_file", K_PATH, O(tls_client_ca), 0, 0, NULL, "" },
	{ "security.tls.client_auth", K_ENUM, O(tls_client_auth), 0, 0, client_auths, "required" },
	{ "security.tls.verify_depth", K_INT, O(tls_verify_depth), 1, 16, NULL, "3" },
	{ "security.tls.handshake_timeout", K_DURATION, O(tls_handshake_timeout), 100, DAY, NULL, "10s" },
	SEC("security.auth"),
	{ "security.auth.enabled", K_BOOL, O(auth_enabled), 0, 0, NULL, "false" },
	{ "security.auth.method", K_ENUM, O(auth_method), 0, 0, auth_methods, "token" },
	{ "security.auth.token_header", K_STR, O(auth_token_header), 0, 0, NULL, "X-API-Token" },
	{ "security.auth.tokens", K_SECRETLIST, O(auth_tokens), 0, 0, NULL, NULL },
	{ "security.auth.token_file", K_PATH, O(auth_token_file), 0, 0, NULL, "" },
	{ "security.auth.exempt_paths", K_STRLIST, O(auth_exempt), 0, 0, NULL, NULL },
	SEC("security.auth.oauth"),
	{ "security.auth.oauth.issuer", K_STR, O(oauth_issuer), 0, 0, NULL, "" },
	{ "security.auth.oauth.audience", K_STR, O(oauth_audience), 0, 0, NULL, "" },
	{ "security.auth.oauth.jwks_file", K_PATH, O(oauth_jwks_file), 0, 0, NULL, "" },
	{ "security.auth.oauth.scopes", K_STRLIST, O(oauth_scopes), 0, 0, NULL, NULL },
	{ "security.auth.oauth.leeway", K_DURATION, O(oauth_leeway), 0, 3600000, NULL, "60s" },
	{ "security.auth.oauth.resource_metadata_url", K_STR, O(oauth_metadata_url), 0, 0, NULL, "" },

	SEC("rate_limiting"),
	{ "rate_limiting.enabled", K_BOOL, O(rl_enabled), 0, 0, NULL, "false" },
	{ "rate_limiting.requests_per_minute", K_INT, O(rl_per_minute), 1, 1000000, NULL, "60" },
	{ "rate_limiting.burst", K_INT, O(rl_burst), 1, 1000000, NULL, "10" },
	SEC("cors"),
	{ "cors.enabled", K_BOOL, O(cors_enabled), 0, 0, NULL, "false" },
	{ "cors.allowed_origins", K_STRLIST, O(cors_origins), 0, 0, NULL, NULL },
	{ "cors.allowed_methods", K_STRLIST, O(cors_methods), 0, 0, NULL, NULL },
	{ "cors.allowed_headers", K_STRLIST, O(cors_headers), 0, 0, NULL, NULL },
	{ "cors.exposed_headers", K_STRLIST, O(cors_exposed), 0, 0, NULL, NULL },
	{ "cors.max_age", K_DURATION, O(cors_max_age), 0, DAY, NULL, "10m" },

	{ "stacks", K_STACKS, 0, 0, 0, NULL, NULL },
	SEC("pulumi"),
	{ "pulumi.backend_url", K_STR, O(pulumi_backend_url), 0, 0, NULL, "" },
	SEC("pricing"),
	{ "pricing.spec_dir", K_PATH, O(pricing_spec_dir), 0, 0, NULL, "" },
	SEC("billing"),
	{ "billing.focus", K_PATHLIST, O(billing_focus), 0, 0, NULL, NULL },
	{ "billing.join_tags", K_STRLIST, O(billing_join_tags), 0, 0, NULL, NULL },
	{ "budgets", K_BUDGETS, 0, 0, 0, NULL, NULL },
};

const char *const budget_periods[] = {
	"daily", "weekly", "monthly", "quarterly", "yearly", NULL
};

#define KEY_LOG_LEVEL		"observability.logging.level"

struct loader {
	struct conf	*c;
	const char	*name;		/* file name or "environment" */
	char		*err;
	size_t		 errlen;
	yaml_document_t	*doc;
};

static int	set_listen(struct loader *, const struct key *, yaml_node_t *);
static int	fail(struct loader *, const yaml_node_t *, const char *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static int	set_stacks(struct loader *, const struct key *, yaml_node_t *);
static int	set_budgets(struct loader *, const struct key *, yaml_node_t *);

/* --- errors --------------------------------------------------------------- */

static int
fail(struct loader *L, const yaml_node_t *n, const char *path,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n != NULL)
		snprintf(L->err, L->errlen, "%s:%zu:%zu: %s: %s", L->name,
		    (size_t)n->start_mark.line + 1,
		    (size_t)n->start_mark.column + 1, path, why);
	else
		snprintf(L->err, L->errlen, "%s: %s: %s", L->name, path, why);
	return -1;
}

/* --- generic value storage ------------------------------------------------ */

static void *
field(struct conf *c, const struct key *k)
{
	return (char *)c + k->off;
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
strlist_add(struct strlist *l, const char *s)
{
	char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	l->v = nv;
	if ((l->v[l->n] = strdup(s)) == NULL)
		return -1;
	l->n++;
	return 0;
}

static int
key_index(const struct key *k)
{
	return (int)(k - keys);
}

static void
mark_seen(struct conf *c, const struct key *k)
{
	int i = key_index(k);

	c->seen[i / 64] |= 1ULL << (i % 64);
}

static int
was_seen(const struct conf *c, const char *path)
{
	size_t i;

	for (i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].path, path) == 0)
			return (c->seen[i / 64] >> (i % 64)) & 1;
	return 0;
}

static const struct key *
find_key(const char *path)
{
	size_t i;

	for (i = 0; i < nitems(keys); i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
	return NULL;
}

/*
 * Resolve a path value: "~/" against $HOME, relative against the prefix.
 * The empty string stays empty (meaning "not set").
 */
static char *
resolve_path(const struct conf *c, const char *s)
{
	char buf[PATH_MAX];
	const char *home;

	/* "builtin:NAME" is data compiled into the server, not a path. */
	if (*s == '\0' || *s == '/' || strncmp(s, "builtin:", 8) == 0)
		return strdup(s);
	if (s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
		home = getenv("HOME");
		if (home == NULL || *home == '\0')
			home = "/";
		snprintf(buf, sizeof(buf), "%s%s", home, s + 1);
		return strdup(buf);
	}
	snprintf(buf, sizeof(buf), "%s/%s", c->prefix, s);
	return strdup(buf);
}

static int
range_ok(const struct key *k, int64_t v, char *why, size_t len)
{
	if (v < k->min || v > k->max) {
		snprintf(why, len, "value %lld is out of range (%lld..%lld)",
		    (long long)v, (long long)k->min, (long long)k->max);
		return -1;
	}
	return 0;
}

/*
 * Convert one scalar to the key's type and store it.  quoted is set when
 * the YAML scalar was quoted: a quoted "8080" is a string, not a number.
 */
static int
set_scalar(struct conf *c, const struct key *k, const char *s, int quoted,
    char *why, size_t len)
{
	int64_t v;
	double d;
	char *end, **sp;
	int b, i;

	switch (k->type) {
	case K_BOOL:
		if (quoted || parse_bool(s, &b) == -1) {
			snprintf(why, len, "expected true or false, got \"%s\"", s);
			return -1;
		}
		*(int *)field(c, k) = b;
		return 0;
	case K_INT:
		if (quoted || parse_int64(s, &v) == -1) {
			snprintf(why, len, "expected an integer, got \"%s\"", s);
			return -1;
		}
		if (range_ok(k, v, why, len) == -1)
			return -1;
		*(int64_t *)field(c, k) = v;
		return 0;
	case K_WORKERS:
		if (strcmp(s, "auto") == 0) {
			*(int64_t *)field(c, k) = 0;
			return 0;
		}
		if (quoted || parse_int64(s, &v) == -1) {
			snprintf(why, len, "expected a number or \"auto\", got \"%s\"", s);
			return -1;
		}
		if (range_ok(k, v, why, len) == -1)
			return -1;
		*(int64_t *)field(c, k) = v;
		return 0;
	case K_DURATION:
		if (parse_duration_ms(s, &v) == -1) {
			snprintf(why, len, "expected a duration such as 30s, 5m or 1h,"
			    " got \"%s\"", s);
			return -1;
		}
		if (v < k->min || v > k->max) {
			char lo[32], hi[32];

			fmt_duration(k->min, lo, sizeof(lo));
			fmt_duration(k->max, hi, sizeof(hi));
			snprintf(why, len, "duration \"%s\" is out of range (%s..%s)",
			    s, lo, hi);
			return -1;
		}
		*(int64_t *)field(c, k) = v;
		return 0;
	case K_SIZE:
		if (parse_size(s, &v) == -1) {
			snprintf(why, len, "expected a size such as 10MB, 512k or"
			    " a number of bytes, got \"%s\"", s);
			return -1;
		}
		if (range_ok(k, v, why, len) == -1)
			return -1;
		*(int64_t *)field(c, k) = v;
		return 0;
	case K_DOUBLE:
		errno = 0;
		d = strtod(s, &end);
		if (quoted || errno != 0 || end == s || *end != '\0' ||
		    isnan(d)) {
			snprintf(why, len, "expected a number, got \"%s\"", s);
			return -1;
		}
		if (d < (double)k->min || d > (double)k->max) {
			snprintf(why, len, "value %g is out of range (%lld..%lld)",
			    d, (long long)k->min, (long long)k->max);
			return -1;
		}
		*(double *)field(c, k) = d;
		return 0;
	case K_ENUM:
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcasecmp(s, k->names[i]) == 0) {
				*(int *)field(c, k) = i;
				return 0;
			}
		}
		{
			char list[256] = "";

			for (i = 0; k->names[i] != NULL; i++) {
				if (i > 0)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, k->names[i], sizeof(list) - strlen(list) - 1);
			}
			snprintf(why, len, "\"%s\" is not one of: %s", s, list);
		}
		return -1;
	case K_STR:
	case K_PATH:
		if (strlen(s) >= PATH_MAX) {
			snprintf(why, len, "value is longer than %d bytes", PATH_MAX - 1);
			return -1;
		}
		sp = field(c, k);
		free(*sp);
		*sp = k->type == K_PATH ? resolve_path(c, s) : strdup(s);
		if (*sp == NULL) {
			snprintf(why, len, "out of memory");
			return -1;
		}
		return 0;
	case K_STRLIST:
	case K_PATHLIST:
	case K_SECRETLIST:
		/* A single scalar is a one-element list (env overrides). */
		strlist_free(field(c, k));
		if (k->type == K_PATHLIST) {
			char *p = resolve_path(c, s);
			int r = p ? strlist_add(field(c, k), p) : -1;

			free(p);
			return r;
		}
		return strlist_add(field(c, k), s);
	default:
		snprintf(why, len, "expected a mapping or a list");
		return -1;
	}
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static int
is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int
quoted(const yaml_node_t *n)
{
	return n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
}

static int
set_list(struct loader *L, const struct key *k, yaml_node_t *n)
{
	struct strlist *l = field(L->c, k);
	yaml_node_item_t *it;
	yaml_node_t *e;
	char ipath[256];
	int idx = 0;

	if (n->type == YAML_SCALAR_NODE) {
		char why[256];

		if (set_scalar(L->c, k, scalar(n), quoted(n), why, sizeof(why)) == -1)
			return fail(L, n, k->path, "%s", why);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, k->path, "expected a list, got %s", node_kind(n));
	strlist_free(l);
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++, idx++) {
		e = yaml_document_get_node(L->doc, *it);
		snprintf(ipath, sizeof(ipath), "%s[%d]", k->path, idx);
		if (e == NULL || e->type != YAML_SCALAR_NODE)
			return fail(L, e, ipath, "expected a string, got %s",
			    e ? node_kind(e) : "nothing");
		if (k->type == K_PATHLIST) {
			char *p = resolve_path(L->c, scalar(e));
			int r = p ? strlist_add(l, p) : -1;

			free(p);
			if (r == -1)
				return fail(L, e, ipath, "out of memory");
		} else if (strlist_add(l, scalar(e)) == -1)
			return fail(L, e, ipath, "out of memory");
	}
	return 0;
}

static int
set_from_node(struct loader *L, const struct key *k, yaml_node_t *n)
{
	char why[512];

	if (is_null(n))
		return 0;
	switch (k->type) {
	case K_LISTEN:
		return set_listen(L, k, n);
	case K_STACKS:
		return set_stacks(L, k, n);
	case K_BUDGETS:
		return set_budgets(L, k, n);
	case K_STRLIST:
	case K_PATHLIST:
	case K_SECRETLIST:
		return set_list(L, k, n);
	default:
		break;
	}
	if (n->type != YAML_SCALAR_NODE)
		return fail(L, n, k->path, "expected a single value, got %s",
		    node_kind(n));
	if (set_scalar(L->c, k, scalar(n), quoted(n), why, sizeof(why)) == -1)
		return fail(L, n, k->path, "%s", why);
	return 0;
}

/*
 * Walk a mapping: every key must be known, appear once, and have a value
 * of the right shape.  prefix is the dotted path of the mapping itself.
 */
static int
walk_mapping(struct loader *L, yaml_node_t *map, const char *prefix)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *kn, *vn, *other;
	const struct key *k;
	char path[256];

	if (map->type != YAML_MAPPING_NODE)
		return fail(L, map, *prefix ? prefix : "(top level)",
		    "expected a mapping, got %s", node_kind(map));
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(L->doc, p->key);
		vn = yaml_document_get_node(L->doc, p->value);
		if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE)
			return fail(L, kn, *prefix ? prefix : "(top level)",
			    "keys must be plain strings");
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "",
		    scalar(kn));
		for (q = map->data.mapping.pairs.start; q < p; q++) {
			other = yaml_document_get_node(L->doc, q->key);
			if (other && other->type == YAML_SCALAR_NODE &&
			    strcmp(scalar(other), scalar(kn)) == 0)
				return fail(L, kn, path, "duplicate key (first set"
				    " at line %zu)",
				    (size_t)other->start_mark.line + 1);
		}
		if ((k = find_key(path)) == NULL)
			return fail(L, kn, path, "unknown key");
		mark_seen(L->c, k);
		if (k->type == K_SECTION) {
			if (is_null(vn))
				continue;
			if (walk_mapping(L, vn, path) == -1)
				return -1;
			continue;
		}
		if (set_from_node(L, k, vn) == -1)
			return -1;
	}
	return 0;
}

/* --- listeners ------------------------------------------------------------ */

static void
listen_free(struct conf_listen *l)
{
	free(l->address);
	free(l->host);
	free(l->path);
	free(l->owner);
	free(l->group);
}

/* Parse "HOST:PORT", "[V6]:PORT", ":PORT", "PORT" or "unix:PATH". */
static int
parse_address(struct conf *c, struct conf_listen *l, const char *a,
    char *why, size_t len)
{
	char host[256];
	const char *colon, *port;
	int64_t p;
	unsigned char tmp[16];

	if (strncmp(a, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		if (a[5] == '\0') {
			snprintf(why, len, "\"unix:\" needs a socket path");
			return -1;
		}
		l->family = AF_UNIX;
		l->path = resolve_path(c, a + 5);
		if (l->path == NULL || strlen(l->path) >= sizeof(sun.sun_path)) {
			snprintf(why, len, "socket path \"%s\" is longer than %zu bytes",
			    l->path ? l->path : a + 5, sizeof(sun.sun_path) - 1);
			return -1;
		}
		return 0;
	}
	if (a[0] == '[') {
		const char *rb = strchr(a, ']');

		if (rb == NULL || rb[1] != ':' || (size_t)(rb - a - 1) >= sizeof(host)) {
			snprintf(why, len, "\"%s\" is not [IPV6]:PORT", a);
			return -1;
		}
		memcpy(host, a + 1, (size_t)(rb - a - 1));
		host[rb - a - 1] = '\0';
		port = rb + 2;
		l->family = AF_INET6;
		if (inet_pton(AF_INET6, host, tmp) != 1) {
			snprintf(why, len, "\"%s\" is not a numeric IPv6 address", host);
			return -1;
		}
	} else {
		colon = strrchr(a, ':');
		if (colon == NULL) {
			strlcpy_(host, "0.0.0.0", sizeof(host));
			port = a;
		} else {
			if ((size_t)(colon - a) >= sizeof(host)) {
				snprintf(why, len, "host part of \"%s\" is too long", a);
				return -1;
			}
			memcpy(host, a, (size_t)(colon - a));
			host[colon - a] = '\0';
			if (host[0] == '\0' || strcmp(host, "*") == 0)
				strlcpy_(host, "0.0.0.0", sizeof(host));
			if (strcmp(host, "localhost") == 0)
				strlcpy_(host, "127.0.0.1", sizeof(host));
			port = colon + 1;
		}
		l->family = AF_INET;
		if (inet_pton(AF_INET, host, tmp) != 1) {
			snprintf(why, len, "\"%s\" is not a numeric IPv4 address"
			    " (use [addr]:port for IPv6, unix:PATH for sockets)", host);
			return -1;
		}
	}
	if (parse_int64(port, &p) == -1 || p < 1 || p > 65535) {
		snprintf(why, len, "port \"%s\" is not a number in 1..65535", port);
		return -1;
	}
	l->port = (int)p;
	l->host = strdup(host);
	return 0;
}

static void
listen_init(struct conf_listen *l)
{
	memset(l, 0, sizeof(*l));
	l->mode = -1;
	l->backlog = 511;
}

static int
set_listen_item(struct loader *L, struct conf_listen *l, yaml_node_t *n,
    const char *ipath)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *kn, *vn;
	const char *addr = NULL;
	yaml_node_t *addr_node = n;
	char path[300], why[256];
	int64_t v;

	listen_init(l);
	if (n->type == YAML_SCALAR_NODE) {
		addr = scalar(n);
		goto parse;
	}
	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, ipath, "expected an address or a mapping, got %s",
		    node_kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(L->doc, p->key);
		vn = yaml_document_get_node(L->doc, p->value);
		if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE)
			return fail(L, kn, ipath, "keys must be plain strings");
		snprintf(path, sizeof(path), "%s.%s", ipath, scalar(kn));
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *o = yaml_document_get_node(L->doc, q->key);

			if (o && strcmp(scalar(o), scalar(kn)) == 0)
				return fail(L, kn, path, "duplicate key (first set"
				    " at line %zu)", (size_t)o->start_mark.line + 1);
		}
		if (vn->type != YAML_SCALAR_NODE)
			return fail(L, vn, path, "expected a single value, got %s",
			    node_kind(vn));
		if (strcmp(scalar(kn), "address") == 0) {
			addr = scalar(vn);
			addr_node = vn;
		} else if (strcmp(scalar(kn), "protocol") == 0) {
			if (strcmp(scalar(vn), "http") == 0)
				l->proto = PROTO_HTTP;
			else if (strcmp(scalar(vn), "stream") == 0)
				l->proto = PROTO_STREAM;
			else
				return fail(L, vn, path, "\"%s\" is not one of: http,"
				    " stream", scalar(vn));
		} else if (strcmp(scalar(kn), "tls") == 0) {
			if (quoted(vn) || parse_bool(scalar(vn), &l->tls) == -1)
				return fail(L, vn, path, "expected true or false,"
				    " got \"%s\"", scalar(vn));
		} else if (strcmp(scalar(kn), "mode") == 0) {
			char *end;
			long m = strtol(scalar(vn), &end, 8);

			if (*scalar(vn) == '\0' || *end != '\0' || m < 0 || m > 0777)
				return fail(L, vn, path, "expected an octal mode such"
				    " as 0660, got \"%s\"", scalar(vn));
			l->mode = (int)m;
		} else if (strcmp(scalar(kn), "owner") == 0) {
			free(l->owner);
			l->owner = strdup(scalar(vn));
		} else if (strcmp(scalar(kn), "group") == 0) {
			free(l->group);
			l->group = strdup(scalar(vn));
		} else if (strcmp(scalar(kn), "backlog") == 0) {
			if (parse_int64(scalar(vn), &v) == -1 || v < 1 || v > 65535)
				return fail(L, vn, path, "expected a number in"
				    " 1..65535, got \"%s\"", scalar(vn));
			l->backlog = v;
		} else
			return fail(L, kn, path, "unknown key (expected address,"
			    " protocol, tls, mode, owner, group or backlog)");
	}
	if (addr == NULL)
		return fail(L, n, ipath, "missing \"address\"");
parse:
	if (parse_address(L->c, l, addr, why, sizeof(why)) == -1) {
		snprintf(path, sizeof(path), "%s.address", ipath);
		return fail(L, addr_node, n->type == YAML_SCALAR_NODE ? ipath : path,
		    "%s", why);
	}
	if ((l->address = strdup(addr)) == NULL)
		return fail(L, n, ipath, "out of memory");
	if (l->family != AF_UNIX && (l->mode != -1 || l->owner || l->group))
		return fail(L, n, ipath, "mode, owner and group apply to unix:"
		    " sockets only");
	return 0;
}

static void
listeners_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nlisten; i++)
		listen_free(&c->listen[i]);
	free(c->listen);
	c->listen = NULL;
	c->nlisten = 0;
}

static int
set_listen(struct loader *L, const struct key *k, yaml_node_t *n)
{
	yaml_node_item_t *it;
	yaml_node_t *e;
	char ipath[64];
	size_t cnt, i, j;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(L, n, k->path, "expected a list of listeners, got %s",
		    node_kind(n));
	listeners_free(L->c);
	cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt == 0)
		return fail(L, n, k->path, "the list is empty");
	if ((L->c->listen = calloc(cnt, sizeof(*L->c->listen))) == NULL)
		return fail(L, n, k->path, "out of memory");
	for (i = 0, it = n->data.sequence.items.start; i < cnt; i++, it++) {
		e = yaml_document_get_node(L->doc, *it);
		snprintf(ipath, sizeof(ipath), "%s[%zu]", k->path, i);
		L->c->nlisten = i + 1;
		if (set_listen_item(L, &L->c->listen[i], e, ipath) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (conf_listen_same(&L->c->listen[j], &L->c->listen[i]))
				return fail(L, e, ipath, "\"%s\" is listed twice",
				    L->c->listen[i].address);
	}
	return 0;
}

int
conf_listen_same(const struct conf_listen *a, const struct conf_listen *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == AF_UNIX)
		return strcmp(a->path, b->path) == 0;
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/*
 * The key of pair p of mapping map, which must be a plain string that no
 * earlier pair has: NULL after failing with "PATH: why".
 */
static const char *
pair_key(struct loader *L, yaml_node_t *map, yaml_node_pair_t *p,
    const char *mpath, char *path, size_t pathlen)
{
	yaml_node_t *kn = yaml_document_get_node(L->doc, p->key), *o;
	yaml_node_pair_t *q;

	if (kn == NULL || kn->type != YAML_SCALAR_NODE) {
		fail(L, kn, mpath, "keys must be plain strings");
		return NULL;
	}
	snprintf(path, pathlen, "%s.%s", mpath, scalar(kn));
	for (q = map->data.mapping.pairs.start; q < p; q++) {
		o = yaml_document_get_node(L->doc, q->key);
		if (o && o->type == YAML_SCALAR_NODE && strcmp(scalar(o), scalar(kn)) == 0) {
			fail(L, kn, path, "duplicate key (first set at line %zu)",
			    (size_t)o->start_mark.line + 1);
			return NULL;
		}
	}
	return scalar(kn);
}

/* --- stacks --------------------------------------------------------------- */

static void
stacks_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nstacks; i++) {
		free(c->stacks[i].name);
		free(c->stacks[i].state);
		free(c->stacks[i].preview);
	}
	free(c->stacks);
	c->stacks = NULL;
	c->nstacks = 0;
}

/* stacks: { NAME: PATH } or { NAME: { state: PATH, preview: PATH } } */
static int
set_stacks(struct loader *L, const struct key *k, yaml_node_t *n)
{
	yaml_node_pair_t *p, *q;
	yaml_node_t *vn, *fv;
	struct conf_stack *s;
	char path[300], fpath[340];
	const char *name, *field_name;
	size_t cnt, i;

	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, k->path, "expected a mapping of stack names,"
		    " got %s", node_kind(n));
	stacks_free(L->c);
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt == 0)
		return 0;
	if ((L->c->stacks = calloc(cnt, sizeof(*L->c->stacks))) == NULL)
		return fail(L, n, k->path, "out of memory");
	for (i = 0, p = n->data.mapping.pairs.start; i < cnt; i++, p++) {
		if ((name = pair_key(L, n, p, k->path, path, sizeof(path))) == NULL)
			return -1;
		vn = yaml_document_get_node(L->doc, p->value);
		s = &L->c->stacks[i];
		L->c->nstacks = i + 1;
		s->name = strdup(name);
		if (vn->type == YAML_SCALAR_NODE) {
			s->state = resolve_path(L->c, scalar(vn));
			continue;
		}
		if (vn->type != YAML_MAPPING_NODE)
			return fail(L, vn, path, "expected a file path or a mapping"
			    " with state and preview, got %s", node_kind(vn));
		for (q = vn->data.mapping.pairs.start;
		    q < vn->data.mapping.pairs.top; q++) {
			char **dst;

			if ((field_name = pair_key(L, vn, q, path, fpath,
			    sizeof(fpath))) == NULL)
				return -1;
			fv = yaml_document_get_node(L->doc, q->value);
			if (strcmp(field_name, "state") == 0)
				dst = &s->state;
			else if (strcmp(field_name, "preview") == 0)
				dst = &s->preview;
			else
				return fail(L, yaml_document_get_node(L->doc, q->key),
				    fpath, "unknown key (expected state or preview)");
			if (fv->type != YAML_SCALAR_NODE)
				return fail(L, fv, fpath, "expected a file path,"
				    " got %s", node_kind(fv));
			*dst = resolve_path(L->c, scalar(fv));
		}
		if (s->state == NULL && s->preview == NULL)
			return fail(L, vn, path, "needs a state or a preview file");
	}
	return 0;
}

/* --- budgets -------------------------------------------------------------- */

static void
budgets_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nbudgets; i++) {
		struct conf_budget *b = &c->budgets[i];

		free(b->name);
		free(b->currency);
		free(b->stack);
		free(b->service);
		free(b->region);
		free(b->account);
		strlist_free(&b->tag_keys);
		strlist_free(&b->tag_values);
	}
	free(c->budgets);
	c->budgets = NULL;
	c->nbudgets = 0;
}

static int
budget_number(struct loader *L, yaml_node_t *v, const char *path, double max,
    double *out)
{
	char *end;

	if (v->type != YAML_SCALAR_NODE || quoted(v) || *scalar(v) == '\0')
		return fail(L, v, path, "expected a number");
	*out = strtod(scalar(v), &end);
	if (*end != '\0' || !isfinite(*out) || *out < 0 || *out > max)
		return fail(L, v, path, "expected a number in 0..%g, got \"%s\"", max,
		    scalar(v));
	return 0;
}

static int
budget_string(struct loader *L, yaml_node_t *v, const char *path, char **out)
{
	if (v->type != YAML_SCALAR_NODE || *scalar(v) == '\0')
		return fail(L, v, path, "expected a non-empty string");
	free(*out);
	*out = strdup(scalar(v));
	return *out == NULL ? fail(L, v, path, "out of memory") : 0;
}

static int
budget_filters(struct loader *L, struct conf_budget *b, yaml_node_t *n,
    const char *fpath)
{
	yaml_node_pair_t *p, *t;
	yaml_node_t *v, *tv;
	char path[400], tpath[500];
	const char *name;

	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, fpath, "expected a mapping, got %s", node_kind(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		if ((name = pair_key(L, n, p, fpath, path, sizeof(path))) == NULL)
			return -1;
		v = yaml_document_get_node(L->doc, p->value);
		if (strcmp(name, "service") == 0) {
			if (budget_string(L, v, path, &b->service) == -1)
				return -1;
		} else if (strcmp(name, "region") == 0) {
			if (budget_string(L, v, path, &b->region) == -1)
				return -1;
		} else if (strcmp(name, "account") == 0) {
			if (budget_string(L, v, path, &b->account) == -1)
				return -1;
		} else if (strcmp(name, "tags") == 0) {
			if (v->type != YAML_MAPPING_NODE)
				return fail(L, v, path, "expected a mapping of tag"
				    " keys to values, got %s", node_kind(v));
			for (t = v->data.mapping.pairs.start;
			    t < v->data.mapping.pairs.top; t++) {
				const char *tk = pair_key(L, v, t, path, tpath, sizeof(tpath));

				if (tk == NULL)
					return -1;
				tv = yaml_document_get_node(L->doc, t->value);
				if (tv->type != YAML_SCALAR_NODE)
					return fail(L, tv, tpath, "expected a tag value");
				if (strlist_add(&b->tag_keys, tk) == -1 ||
				    strlist_add(&b->tag_values, scalar(tv)) == -1)
					return fail(L, tv, tpath, "out of memory");
			}
		} else
			return fail(L, yaml_document_get_node(L->doc, p->key), path,
			    "unknown key (expected service, region, account or tags)");
	}
	return 0;
}

static int
budget_field(struct loader *L, struct conf_budget *b, const char *name,
    yaml_node_t *v, const char *path)
{
	yaml_node_item_t *it;
	size_t i;

	if (strcmp(name, "amount") == 0)
		return budget_number(L, v, path, 1e15, &b->amount);
	if (strcmp(name, "currency") == 0) {
		if (v->type != YAML_SCALAR_NODE || strlen(scalar(v)) != 3 ||
		    strspn(scalar(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
			return fail(L, v, path, "expected an ISO 4217 code such as USD");
		return budget_string(L, v, path, &b->currency);
	}
	if (strcmp(name, "period") == 0) {
		for (i = 0; v->type == YAML_SCALAR_NODE && budget_periods[i]; i++)
			if (strcasecmp(scalar(v), budget_periods[i]) == 0) {
				b->period = (int)i;
				return 0;
			}
		return fail(L, v, path, "expected daily, weekly, monthly, quarterly"
		    " or yearly");
	}
	if (strcmp(name, "stack") == 0)
		return budget_string(L, v, path, &b->stack);
	if (strcmp(name, "filters") == 0)
		return budget_filters(L, b, v, path);
	if (strcmp(name, "alert_thresholds") == 0) {
		if (v->type != YAML_SEQUENCE_NODE)
			return fail(L, v, path, "expected a list of percentages");
		b->nthresholds = 0;
		for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
		    it++) {
			if (b->nthresholds == BUDGET_MAX_THRESHOLDS)
				return fail(L, v, path, "at most %d thresholds",
				    BUDGET_MAX_THRESHOLDS);
			if (budget_number(L, yaml_document_get_node(L->doc, *it), path,
			    1000, &b->thresholds[b->nthresholds++]) == -1)
				return -1;
		}
		return 0;
	}
	return fail(L, v, path, "unknown key (expected amount, currency, period,"
	    " stack, filters or alert_thresholds)");
}

/* A budget's stack must be one the configuration names. */
static int
budgets_check(struct loader *L)
{
	const struct conf *c = L->c;
	size_t i, j;

	for (i = 0; i < c->nbudgets; i++) {
		if (c->budgets[i].stack == NULL)
			continue;
		for (j = 0; j < c->nstacks; j++)
			if (strcmp(c->stacks[j].name, c->budgets[i].stack) == 0)
				break;
		if (j == c->nstacks) {
			snprintf(L->err, L->errlen, "%s: budgets.%s.stack: no stack"
			    " \"%s\" in stacks", L->name, c->budgets[i].name,
			    c->budgets[i].stack);
			return -1;
		}
	}
	return 0;
}

/* budgets: { NAME: { amount, currency, period, stack, filters, alert_thresholds } } */
static int
set_budgets(struct loader *L, const struct key *k, yaml_node_t *n)
{
	static const double defaults[] = { 50, 80, 90, 100 };
	yaml_node_pair_t *p, *q;
	yaml_node_t *vn;
	struct conf_budget *b;
	char path[300], fpath[340];
	const char *name;
	size_t cnt, i;
	int has_amount;

	if (n->type != YAML_MAPPING_NODE)
		return fail(L, n, k->path, "expected a mapping of budget names,"
		    " got %s", node_kind(n));
	budgets_free(L->c);
	cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (cnt == 0)
		return 0;
	if ((L->c->budgets = calloc(cnt, sizeof(*L->c->budgets))) == NULL)
		return fail(L, n, k->path, "out of memory");
	for (i = 0, p = n->data.mapping.pairs.start; i < cnt; i++, p++) {
		if ((name = pair_key(L, n, p, k->path, path, sizeof(path))) == NULL)
			return -1;
		vn = yaml_document_get_node(L->doc, p->value);
		b = &L->c->budgets[i];
		L->c->nbudgets = i + 1;
		b->name = strdup(name);
		b->currency = strdup("USD");
		b->period = 2;
		memcpy(b->thresholds, defaults, sizeof(defaults));
		b->nthresholds = nitems(defaults);
		if (vn->type != YAML_MAPPING_NODE)
			return fail(L, vn, path, "expected a mapping with amount,"
			    " period, ..., got %s", node_kind(vn));
		has_amount = 0;
		for (q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top;
		    q++) {
			const char *f = pair_key(L, vn, q, path, fpath, sizeof(fpath));

			if (f == NULL || budget_field(L, b, f,
			    yaml_document_get_node(L->doc, q->value), fpath) == -1)
				return -1;
			has_amount |= strcmp(f, "amount") == 0;
		}
		if (!has_amount)
			return fail(L, vn, path, "missing \"amount\"");
	}
	return 0;
}

/* --- environment ---------------------------------------------------------- */

static const struct {
	const char	*var;
	const char	*key;
} env_overrides[] = {
	{ "MCP_LOG_LEVEL", KEY_LOG_LEVEL },
	{ "MCP_SERVER_HOST", "server.host" },
	{ "MCP_SERVER_PORT", "server.port" },
	{ "PULUMICOST_PLUGIN_DIR", "pulumicost.plugin_dir" },
	{ "PULUMICOST_CORE_PATH", "pulumicost.core_path" },
	{ "PULUMICOST_SPEC_VERSION", "pulumicost.spec_version" },
	{ "PLUGIN_TIMEOUT", "plugins.timeout" },
	{ "PLUGIN_MAX_CONCURRENT", "plugins.max_concurrent" },
};

static int
apply_env(struct loader *L)
{
	const struct key *k;
	const char *v;
	char why[512];
	size_t i;

	for (i = 0; i < nitems(env_overrides); i++) {
		if ((v = getenv(env_overrides[i].var)) == NULL || *v == '\0')
			continue;
		k = find_key(env_overrides[i].key);
		if (set_scalar(L->c, k, v, 0, why, sizeof(why)) == -1) {
			snprintf(L->err, L->errlen, "environment variable %s: %s",
			    env_overrides[i].var, why);
			return -1;
		}
		mark_seen(L->c, k);
	}
	return 0;
}

/* --- validation across keys ----------------------------------------------- */

static int
check_readable(struct loader *L, const char *key, const char *path)
{
	if (path == NULL || *path == '\0') {
		snprintf(L->err, L->errlen, "%s: %s: must be set", L->name, key);
		return -1;
	}
	if (access(path, R_OK) == -1) {
		snprintf(L->err, L->errlen, "%s: %s: cannot read \"%s\": %s",
		    L->name, key, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* What a browser client of MCP needs, unless the file lists its own. */
static int
cors_defaults(struct loader *L)
{
	static const char *const methods[] = { "GET", "POST", "DELETE", "OPTIONS", NULL };
	static const char *const headers[] = { "Content-Type", "Accept",
	    "Authorization", "X-API-Token", "Mcp-Session-Id", "MCP-Protocol-Version",
	    "Last-Event-ID", "X-Request-Id", "traceparent", "tracestate", NULL };
	static const char *const exposed[] = { "Mcp-Session-Id", "X-Request-Id",
	    "traceparent", "Retry-After", "WWW-Authenticate", NULL };
	static const struct {
		const char		*key;
		size_t			 off;
		const char *const	*v;
	} d[] = {
		{ "cors.allowed_methods", O(cors_methods), methods },
		{ "cors.allowed_headers", O(cors_headers), headers },
		{ "cors.exposed_headers", O(cors_exposed), exposed },
	};
	size_t i, j;

	for (i = 0; i < nitems(d); i++) {
		struct strlist *l = (struct strlist *)((char *)L->c + d[i].off);

		if (was_seen(L->c, d[i].key))
			continue;
		for (j = 0; d[i].v[j] != NULL; j++)
			if (strlist_add(l, d[i].v[j]) == -1)
				return -1;
	}
	if (L->c->cors_enabled && L->c->cors_origins.n == 0)
		return errorf(L->err, L->errlen, "%s: cors.allowed_origins: name the"
		    " origins allowed (scheme://host[:port], or \"*\")", L->name);
	return 0;
}

/*
 * observability.metrics.port: one more listener, serving only the
 * metrics path (and the probes), plain HTTP, no token.
 */
static int
metrics_listener(struct loader *L)
{
	struct conf *c = L->c;
	struct conf_listen *v, *l;
	char addr[300], why[256];
	size_t i;

	if (!c->metrics_enabled || c->metrics_port == 0)
		return 0;
	if ((v = realloc(c->listen, (c->nlisten + 1) * sizeof(*v))) == NULL)
		return errorf(L->err, L->errlen, "out of memory");
	c->listen = v;
	l = &c->listen[c->nlisten++];
	memset(l, 0, sizeof(*l));
	listen_init(l);
	l->proto = PROTO_METRICS;
	snprintf(addr, sizeof(addr), strchr(c->metrics_host, ':') ? "[%s]:%lld" :
	    "%s:%lld", c->metrics_host, (long long)c->metrics_port);
	if (parse_address(c, l, addr, why, sizeof(why)) == -1 ||
	    (l->address = strdup(addr)) == NULL)
		return errorf(L->err, L->errlen, "%s: observability.metrics.host: %s",
		    L->name, why);
	for (i = 0; i + 1 < c->nlisten; i++)
		if (conf_listen_same(&c->listen[i], l))
			return errorf(L->err, L->errlen, "%s: observability.metrics.port:"
			    " %s is already a server listener (metrics are served on"
			    " the server's listeners too)", L->name, addr);
	return 0;
}

static int
validate(struct loader *L)
{
	struct conf *c = L->c;
	size_t i;
	int tls_used = c->tls_enabled;

	/*
	 * observability.logging.level wins when set; otherwise the older
	 * server.log_level from the seed configuration is honoured.
	 */
	if (!was_seen(c, KEY_LOG_LEVEL) && was_seen(c, "server.log_level"))
		c->log_level = c->server_log_level;

	if (c->nlisten == 0) {
		char addr[300], why[256];

		if ((c->listen = calloc(1, sizeof(*c->listen))) == NULL)
			return -1;
		c->nlisten = 1;
		listen_init(&c->listen[0]);
		if (strchr(c->host, ':') != NULL)
			snprintf(addr, sizeof(addr), "[%s]:%lld", c->host,
			    (long long)c->port);
		else
			snprintf(addr, sizeof(addr), "%s:%lld", c->host,
			    (long long)c->port);
		if (parse_address(c, &c->listen[0], addr, why, sizeof(why)) == -1) {
			snprintf(L->err, L->errlen, "%s: server.host: %s",
			    L->name, why);
			return -1;
		}
		c->listen[0].address = strdup(addr);
		c->listen[0].tls = c->tls_enabled;
	}
	if (metrics_listener(L) == -1)
		return -1;
	for (i = 0; i < c->nlisten; i++)
		tls_used |= c->listen[i].tls;
	if (tls_used) {
		if (check_readable(L, "security.tls.cert_file", c->tls_cert) == -1 ||
		    check_readable(L, "security.tls.key_file", c->tls_key) == -1)
			return -1;
	}
	if (*c->tls_client_ca &&
	    check_readable(L, "security.tls.client_ca_file", c->tls_client_ca) == -1)
		return -1;
	if (budgets_check(L) == -1)
		return -1;
	/* Probes and scrapes need no token unless the file says otherwise. */
	if (!was_seen(c, "security.auth.exempt_paths") &&
	    (strlist_add(&c->auth_exempt, "/health") == -1 ||
	    strlist_add(&c->auth_exempt, "/ready") == -1 ||
	    strlist_add(&c->auth_exempt, "/metrics") == -1))
		return -1;
	if (cors_defaults(L) == -1)
		return -1;
	if (*c->user && getpwnam(c->user) == NULL) {
		snprintf(L->err, L->errlen, "%s: server.user: no such user \"%s\"",
		    L->name, c->user);
		return -1;
	}
	if (*c->group && getgrnam(c->group) == NULL) {
		snprintf(L->err, L->errlen, "%s: server.group: no such group \"%s\"",
		    L->name, c->group);
		return -1;
	}
	for (i = 0; i < c->nlisten; i++) {
		struct conf_listen *l = &c->listen[i];

		if (l->owner && getpwnam(l->owner) == NULL) {
			snprintf(L->err, L->errlen, "%s: server.listen[%zu].owner:"
			    " no such user \"%s\"", L->name, i, l->owner);
			return -1;
		}
		if (l->group && getgrnam(l->group) == NULL) {
			snprintf(L->err, L->errlen, "%s: server.listen[%zu].group:"
			    " no such group \"%s\"", L->name, i, l->group);
			return -1;
		}
	}
	if (c->metrics_path[0] != '/') {
		snprintf(L->err, L->errlen, "%s: observability.metrics.path: must"
		    " start with /", L->name);
		return -1;
	}
	if (*c->pulumi_backend_url &&
	    strncmp(c->pulumi_backend_url, "file://", 7) != 0) {
		snprintf(L->err, L->errlen, "%s: pulumi.backend_url: only file://"
		    " backends are supported (the server reads stack files; it does"
		    " not call a Pulumi service)", L->name);
		return -1;
	}
	if (c->tracing_enabled && *c->tracing_endpoint &&
	    strncmp(c->tracing_endpoint, "http://", 7) != 0 &&
	    strncmp(c->tracing_endpoint, "https://", 8) != 0) {
		snprintf(L->err, L->errlen, "%s: observability.tracing.endpoint:"
		    " must be an http:// or https:// URL", L->name);
		return -1;
	}
	return 0;
}

/* --- load ----------------------------------------------------------------- */

static struct conf *
conf_new(const char *name, const char *prefix)
{
	struct conf *c = calloc(1, sizeof(*c));
	char why[512];
	size_t i;

	if (c == NULL)
		return NULL;
	c->file = strdup(name);
	c->prefix = strdup(prefix);
	for (i = 0; i < nitems(keys); i++) {
		if (keys[i].def == NULL)
			continue;
		if (set_scalar(c, &keys[i], keys[i].def, 0, why, sizeof(why)) == -1) {
			/* A bad default is a programming error. */
			fprintf(stderr, "default for %s: %s\n", keys[i].path, why);
			abort();
		}
	}
	return c;
}

static const char *
yaml_problem(yaml_parser_t *p, char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s:%zu:%zu: %s%s%s", name,
	    (size_t)p->problem_mark.line + 1, (size_t)p->problem_mark.column + 1,
	    p->problem ? p->problem : "syntax error",
	    p->context ? " " : "", p->context ? p->context : "");
	return buf;
}

struct conf *
conf_load_buffer(const char *buf, size_t len, const char *name,
    const char *prefix, char *err, size_t errlen)
{
	struct loader L = { .name = name, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root;
	int ok = -1;

	if ((L.c = conf_new(name, prefix)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_problem(&parser, err, errlen, name);
		yaml_parser_delete(&parser);
		conf_free(L.c);
		return NULL;
	}
	L.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || is_null(root))
		ok = 0;		/* an empty file means "all defaults" */
	else
		ok = walk_mapping(&L, root, "");
	if (ok == 0) {
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_problem(&parser, err, errlen, name);
			ok = -1;
		} else {
			if (yaml_document_get_root_node(&extra) != NULL) {
				snprintf(err, errlen, "%s:%zu:1: more than one YAML"
				    " document", name,
				    (size_t)extra.start_mark.line + 1);
				ok = -1;
			}
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ok == 0)
		ok = apply_env(&L);
	if (ok == 0)
		ok = validate(&L);
	if (ok == -1) {
		conf_free(L.c);
		return NULL;
	}
	return L.c;
}

struct conf *
conf_load(const char *path, const char *prefix, char **bufp, size_t *lenp,
    char *err, size_t errlen)
{
	struct conf *c;
	char *buf;
	size_t len;
	ssize_t r;
	int fd;

	if (path == NULL) {
		len = strlen(conf_default_yaml);
		if ((buf = strdup(conf_default_yaml)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		path = "(embedded defaults)";
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
			return NULL;
		}
		r = read_all_fd(fd, &buf, 16 * 1024 * 1024, &len);
		close(fd);
		if (r == -2) {
			snprintf(err, errlen, "%s: larger than 16MB", path);
			return NULL;
		}
		if (r < 0) {
			snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
			return NULL;
		}
	}
	c = conf_load_buffer(buf, len, path, prefix, err, errlen);
	if (c == NULL || bufp == NULL)
		free(buf);
	else {
		*bufp = buf;
		*lenp = len;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < nitems(keys); i++) {
		switch (keys[i].type) {
		case K_STR:
		case K_PATH:
			free(*(char **)field(c, &keys[i]));
			break;
		case K_STRLIST:
		case K_PATHLIST:
		case K_SECRETLIST:
			strlist_free(field(c, &keys[i]));
			break;
		default:
			break;
		}
	}
	listeners_free(c);
	stacks_free(c);
	budgets_free(c);
	free(c->file);
	free(c->prefix);
	free(c);
}

/* --- printing (-T) -------------------------------------------------------- */

static void
put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static int
depth_of(const char *path)
{
	int d = 0;

	for (; *path; path++)
		d += *path == '.';
	return d;
}

static const char *
leaf(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

static void
print_listen(FILE *f, const struct conf *c, int ind)
{
	size_t i;

	fprintf(f, "%*slisten:\n", ind, "");
	for (i = 0; i < c->nlisten; i++) {
		const struct conf_listen *l = &c->listen[i];

		if (l->proto == PROTO_METRICS)
			continue;	/* observability.metrics.port says it */
		fprintf(f, "%*s- address: ", ind + 2, "");
		if (l->family == AF_UNIX) {
			char a[PATH_MAX + 8];

			snprintf(a, sizeof(a), "unix:%s", l->path);
			put_quoted(f, a);
		} else
			put_quoted(f, l->address);
		fputc('\n', f);
		fprintf(f, "%*sprotocol: %s\n", ind + 4, "",
		    l->proto == PROTO_STREAM ? "stream" : "http");
		fprintf(f, "%*stls: %s\n", ind + 4, "", l->tls ? "true" : "false");
		fprintf(f, "%*sbacklog: %lld\n", ind + 4, "", (long long)l->backlog);
		if (l->mode != -1)
			fprintf(f, "%*smode: \"0%o\"\n", ind + 4, "", l->mode);
		if (l->owner) {
			fprintf(f, "%*sowner: ", ind + 4, "");
			put_quoted(f, l->owner);
			fputc('\n', f);
		}
		if (l->group) {
			fprintf(f, "%*sgroup: ", ind + 4, "");
			put_quoted(f, l->group);
			fputc('\n', f);
		}
	}
}

static void
print_stacks(FILE *f, const struct conf *c)
{
	size_t i;

	if (c->nstacks == 0) {
		fputs("stacks: {}\n", f);
		return;
	}
	fputs("stacks:\n", f);
	for (i = 0; i < c->nstacks; i++) {
		fputs("  ", f);
		put_quoted(f, c->stacks[i].name);
		fputs(":\n", f);
		if (c->stacks[i].state) {
			fputs("    state: ", f);
			put_quoted(f, c->stacks[i].state);
			fputc('\n', f);
		}
		if (c->stacks[i].preview) {
			fputs("    preview: ", f);
			put_quoted(f, c->stacks[i].preview);
			fputc('\n', f);
		}
	}
}

static void
print_budgets(FILE *f, const struct conf *c)
{
	const struct conf_budget *b;
	size_t i, j;

	if (c->nbudgets == 0) {
		fputs("budgets: {}\n", f);
		return;
	}
	fputs("budgets:\n", f);
	for (i = 0; i < c->nbudgets; i++) {
		b = &c->budgets[i];
		fputs("  ", f);
		put_quoted(f, b->name);
		fprintf(f, ":\n    amount: %.17g\n    currency: %s\n    period: %s\n",
		    b->amount, b->currency, budget_periods[b->period]);
		if (b->stack) {
			fputs("    stack: ", f);
			put_quoted(f, b->stack);
			fputc('\n', f);
		}
		fputs("    alert_thresholds: [", f);
		for (j = 0; j < b->nthresholds; j++)
			fprintf(f, "%s%.17g", j ? ", " : "", b->thresholds[j]);
		fputs("]\n", f);
		if (!b->service && !b->region && !b->account && b->tag_keys.n == 0)
			continue;
		fputs("    filters:\n", f);
		if (b->service) {
			fputs("      service: ", f);
			put_quoted(f, b->service);
			fputc('\n', f);
		}
		if (b->region) {
			fputs("      region: ", f);
			put_quoted(f, b->region);
			fputc('\n', f);
		}
		if (b->account) {
			fputs("      account: ", f);
			put_quoted(f, b->account);
			fputc('\n', f);
		}
		if (b->tag_keys.n > 0)
			fputs("      tags:\n", f);
		for (j = 0; j < b->tag_keys.n; j++) {
			fputs("        ", f);
			put_quoted(f, b->tag_keys.v[j]);
			fputs(": ", f);
			put_quoted(f, b->tag_values.v[j]);
			fputc('\n', f);
		}
	}
}

static void
print_key(FILE *f, const struct conf *c, const struct key *k, int redact)
{
	int ind = depth_of(k->path) * 2;
	const struct strlist *l;
	char buf[64];
	size_t i;

	if (k->type == K_LISTEN) {
		print_listen(f, c, ind);
		return;
	}
	if (k->type == K_STACKS) {
		print_stacks(f, c);
		return;
	}
	if (k->type == K_BUDGETS) {
		print_budgets(f, c);
		return;
	}
	fprintf(f, "%*s%s:", ind, "", leaf(k->path));
	switch (k->type) {
	case K_SECTION:
		break;
	case K_BOOL:
		fprintf(f, " %s", *(const int *)((const char *)c + k->off) ?
		    "true" : "false");
		break;
	case K_INT:
	case K_SIZE:
		fprintf(f, " %lld", (long long)*(const int64_t *)((const char *)c + k->off));
		break;
	case K_WORKERS:
		if (*(const int64_t *)((const char *)c + k->off) == 0)
			fputs(" auto", f);
		else
			fprintf(f, " %lld", (long long)*(const int64_t *)((const char *)c + k->off));
		break;
	case K_DURATION:
		fmt_duration(*(const int64_t *)((const char *)c + k->off), buf, sizeof(buf));
		fprintf(f, " %s", buf);
		break;
	case K_DOUBLE:
		fprintf(f, " %.17g", *(const double *)((const char *)c + k->off));
		break;
	case K_ENUM:
		fprintf(f, " %s", k->names[*(const int *)((const char *)c + k->off)]);
		break;
	case K_STR:
	case K_PATH:
		fputc(' ', f);
		put_quoted(f, *(char *const *)((const char *)c + k->off));
		break;
	case K_STRLIST:
	case K_PATHLIST:
	case K_SECRETLIST:
		l = (const struct strlist *)((const char *)c + k->off);
		if (l->n == 0)
			fputs(" []", f);
		for (i = 0; i < l->n; i++) {
			fprintf(f, "\n%*s- ", ind + 2, "");
			if (k->type == K_SECRETLIST && redact)
				fputs("\"<redacted>\"", f);
			else
				put_quoted(f, l->v[i]);
		}
		break;
	default:
		break;
	}
	fputc('\n', f);
}

int
conf_print(const struct conf *c, int fd, int redact)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (f == NULL)
		return -1;
	fprintf(f, "# effective configuration from %s (prefix %s)\n", c->file,
	    c->prefix);
	for (i = 0; i < nitems(keys); i++)
		print_key(f, c, &keys[i], redact);
	fclose(f);
	r = write_all(fd, buf, len);
	free(buf);
	return r;
}

/* --- small lookups -------------------------------------------------------- */

const char *
log_level_name(int l)
{
	return l >= 0 && l < (int)nitems(log_levels) - 1 ? log_levels[l] : "?";
}

int
log_level_parse(const char *s)
{
	int i;

	for (i = 0; log_levels[i] != NULL; i++)
		if (strcasecmp(s, log_levels[i]) == 0)
			return i;
	return -1;
}

const char *
sandbox_mode_name(int m)
{
	return m >= 0 && m < (int)nitems(sandbox_modes) - 1 ? sandbox_modes[m] : "?";
}

int
conf_workers(const struct conf *c)
{
	long n;

	if (c->worker_processes > 0)
		return (int)c->worker_processes;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	return (int)n;
}
