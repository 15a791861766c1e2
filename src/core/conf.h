/*
 * Configuration: a YAML file (libyaml) loaded into an immutable struct
 * conf, validated completely before anything uses it.  Keys are described
 * by one table (conf.c) that drives parsing, environment overrides,
 * printing (-T) and freeing, so the four never disagree.
 */
#ifndef PCM_CONF_H
#define PCM_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* PROTO_METRICS: observability.metrics.port, made by the loader, not listed. */
enum listen_proto { PROTO_HTTP = 0, PROTO_STREAM = 1, PROTO_METRICS = 2 };
enum sandbox_mode { SANDBOX_ENFORCE = 0, SANDBOX_TRAP, SANDBOX_LOG, SANDBOX_OFF };
enum auth_method { AUTH_TOKEN = 0, AUTH_OAUTH, AUTH_MTLS };
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_CRIT, LOG_ALERT };

struct strlist {
	char	**v;
	size_t	  n;
};

struct conf_listen {
	char		*address;	/* as written: HOST:PORT, [V6]:PORT, unix:PATH */
	int		 family;	/* AF_INET, AF_INET6, AF_UNIX */
	char		*host;		/* numeric address, TCP only */
	int		 port;
	char		*path;		/* AF_UNIX, resolved against the prefix */
	int		 proto;		/* enum listen_proto */
	int		 tls;
	int		 mode;		/* AF_UNIX permissions, -1 = umask */
	char		*owner;
	char		*group;
	int64_t		 backlog;
};

struct conf_stack {
	char		*name;
	char		*state;		/* pulumi stack export / checkpoint */
	char		*preview;	/* pulumi preview --json */
};

/* budgets: NAME: {...}, doc/analysis.md */
#define BUDGET_MAX_THRESHOLDS	16
struct conf_budget {
	char		*name;
	double		 amount;
	char		*currency;	/* ISO 4217, "USD" unless set */
	int		 period;	/* index into budget_periods */
	char		*stack;		/* only the stack's spend; NULL: all */
	char		*service, *region, *account;	/* filters, or NULL */
	struct strlist	 tag_keys, tag_values;		/* filters.tags */
	double		 thresholds[BUDGET_MAX_THRESHOLDS];	/* percent */
	size_t		 nthresholds;
};

/* "daily", "weekly", "monthly", "quarterly", "yearly", NULL */
extern const char *const budget_periods[];

struct conf {
	char		*file;		/* where it came from, for messages */
	char		*prefix;

	/* server */
	char		*host;
	int64_t		 port;
	int		 server_log_level;
	int64_t		 read_timeout, write_timeout, shutdown_timeout;
	int64_t		 keepalive_timeout;
	struct conf_listen *listen;
	size_t		 nlisten;
	int64_t		 worker_processes;	/* 0 = auto */
	char		*user, *group, *pid_file;
	int		 sandbox;
	int64_t		 reload_timeout, worker_watchdog, max_connections;
	int64_t		 max_header_size;
	struct strlist	 trusted_proxies;

	/* pulumicost */
	char		*core_path, *plugin_dir, *spec_version, *spec_dir;

	/* plugins */
	int64_t		 plugin_timeout, plugin_max_concurrent;
	int64_t		 plugin_health_interval, plugin_retry_attempts;
	int64_t		 plugin_retry_delay;
	struct strlist	 plugin_priority;	/* asked first, in order */

	/* mcp */
	int		 mcp_streaming;
	int64_t		 max_message_size, connection_timeout;
	int64_t		 session_timeout;	/* idle MCP sessions expire */
	int		 mcp_conformance;	/* the conformance suite's fixtures */
	int64_t		 page_size;		/* items per tools/list page */
	struct strlist	 allowed_hosts;		/* empty: localhost forms */
	struct strlist	 allowed_origins;	/* empty: localhost forms */

	/* cache */
	int		 cache_enabled;
	int64_t		 ttl_plugin_metadata, ttl_cost_data, ttl_pulumi_state;
	int64_t		 cache_size;

	/* observability */
	int		 metrics_enabled;
	int64_t		 metrics_port;
	char		*metrics_path;
	char		*metrics_host;	/* of metrics_port's listener */
	int		 tracing_enabled;
	char		*tracing_endpoint;
	double		 tracing_sample_rate;
	int		 log_format;	/* 0 json, 1 text */
	int		 log_level;	/* effective, enum log_level */
	char		*log_output;	/* stdout, stderr or a path */

	/* security */
	int		 tls_enabled;
	char		*tls_cert, *tls_key, *tls_client_ca;
	int		 tls_client_auth;	/* with a client CA: 0 required, 1 optional */
	int64_t		 tls_verify_depth;
	int64_t		 tls_handshake_timeout;
	int		 auth_enabled;
	int		 auth_method;	/* enum auth_method */
	char		*auth_token_header;
	struct strlist	 auth_tokens;	/* secret */
	char		*auth_token_file;
	struct strlist	 auth_exempt;	/* paths that need no token */
	char		*oauth_issuer, *oauth_audience, *oauth_jwks_file;
	struct strlist	 oauth_scopes;	/* every one required */
	int64_t		 oauth_leeway;	/* ms */
	char		*oauth_metadata_url;	/* "": from the audience's origin */
	int		 rl_enabled;
	int64_t		 rl_per_minute, rl_burst;
	int		 cors_enabled;
	struct strlist	 cors_origins, cors_methods, cors_headers, cors_exposed;
	int64_t		 cors_max_age;	/* ms */

	/* inputs read by the broker (later issues fill in their use) */
	struct conf_stack *stacks;
	size_t		 nstacks;
	char		*pulumi_backend_url;
	char		*pricing_spec_dir;
	struct strlist	 billing_focus;
	struct strlist	 billing_join_tags;
	struct conf_budget *budgets;
	size_t		 nbudgets;

	uint64_t	 seen[2];	/* which table keys were set, by index */
};

/*
 * Load and validate.  On failure returns NULL and writes a one-line
 * message "FILE:LINE:COL: KEY: reason" into err.
 */
/*
 * path NULL loads the embedded defaults.  When bufp is given it receives
 * the exact bytes that were validated (the snapshot handed to children).
 */
struct conf	*conf_load(const char *path, const char *prefix, char **bufp,
		    size_t *lenp, char *err, size_t errlen);
struct conf	*conf_load_buffer(const char *buf, size_t len, const char *name,
		    const char *prefix, char *err, size_t errlen);
void		 conf_free(struct conf *);

/* Write the effective configuration as YAML; secrets shown as "<redacted>". */
int		 conf_print(const struct conf *, int fd, int redact);

/* Embedded default configuration, used when no file is given or found. */
extern const char conf_default_yaml[];

const char	*log_level_name(int);
int		 log_level_parse(const char *);
const char	*sandbox_mode_name(int);
int		 conf_workers(const struct conf *);
int		 conf_listen_same(const struct conf_listen *, const struct conf_listen *);

#endif
