/*
 * Cost-source plugins, run by the broker: discovered on disk
 * (discovery.h), launched with a free port (--port=N and the
 * FINFOCUS_PLUGIN_PORT / PULUMICOST_PLUGIN_PORT variables, the PORT= line
 * honoured), probed until they answer Name, asked GetPluginInfo, health
 * checked, restarted with back-off when they exit, stopped with SIGTERM
 * then SIGKILL.  Calls go over gRPC (grpc.h) with the package
 * finfocus.v1, or pulumicost.v1 for a plugin that only knows that, at most
 * plugins.max_concurrent at a time per plugin, behind a circuit breaker.
 * Workers reach plugins only through the broker.
 */
#ifndef PCM_PLUGINS_H
#define PCM_PLUGINS_H

#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

struct conf;

struct discovery;

/*
 * The broker's mode: plugin processes are the master's (core/plugproc.h),
 * asked for by key, so a reload can carry them over.  Without it (the
 * command line) the caller forks them itself.  Call before plugins_start.
 */
void	 plugins_via_master(int send_fd);
/* A message from the master about a plugin process (MSG_PLUGIN_*). */
void	 plugins_master_msg(uint32_t type, const char *json, size_t len);
/* Discover and launch every plugin. */
void	 plugins_start(struct event_base *, const struct conf *);
/* Launch the plugins of a discovery (consumed), e.g. one binary. */
void	 plugins_start_from(struct event_base *, const struct conf *,
	    struct discovery *);
/* SIGTERM every plugin, SIGKILL what is left after the grace period (the
 * master's plugins: just let go of them; it stops the unused ones). */
void	 plugins_stop(void);
/* The command line's plugin processes that exited (SIGCHLD), reaped; a
 * broker has none (the master owns them). */
void	 plugins_reap(void);
/* {plugins: [...], skipped: [...], directories: [...]}, a new object. */
struct json_object *plugins_list(void);

/*
 * The end of a plugin call: result (borrowed) or an error code
 * ("not_found", "unavailable", a gRPC status name) and message, with the
 * decoded google.rpc.Status details when the plugin sent them, and how
 * long the plugin took (0 when no call was made).
 */
typedef void (*plugin_done)(struct json_object *result, const char *code,
	    const char *message, struct json_object *details, int64_t latency_ms,
	    void *arg);
/* Call rpc of plugin with request (protojson); done always runs. */
void	 plugins_call(const char *plugin, const char *rpc, struct json_object *request,
	    int64_t timeout_ms, plugin_done, void *arg);
/*
 * Projected prices for resources ([{urn, provider, resource_type, sku,
 * region, tags}]): for each, the ready plugins that declare its provider
 * (or declare none), in plugins.priority order then by name, are asked
 * Supports and then GetProjectedCost; the first answer counts, a $0 that
 * says "not supported" does not.  result: {prices: {urn: {plugin,
 * cost_per_month, currency, unit_price, billing_detail}}, errors: [...],
 * plugins: N}.
 */
void	 plugins_price(struct json_object *resources, int64_t timeout_ms, plugin_done,
	    void *arg);
/*
 * Actual costs of resources ([{urn, resource_id, arn, tags}]) over
 * [start, end) (RFC 3339): for each, the ready plugins that report the
 * ACTUAL_COSTS capability, in plugins.priority order, are asked
 * GetActualCost, paged; the first with results counts.  result: {actual:
 * {urn: {plugin, results: [...]}}, errors: [...], plugins: N}.
 */
void	 plugins_actual(struct json_object *resources, const char *start,
	    const char *end, int64_t timeout_ms, plugin_done, void *arg);
/*
 * Every ready plugin's recommendations (GetRecommendations, paged, 10 pages
 * at most; UNIMPLEMENTED plugins are passed over): result
 * {recommendations: [{plugin, ...Recommendation}], errors: [...]}.
 */
void	 plugins_recommendations(int64_t timeout_ms, plugin_done, void *arg);
/* Every ready plugin's budgets (GetBudgets with their status): result
 * {budgets: [{plugin, ...Budget}], errors: [...]}. */
void	 plugins_budgets(int64_t timeout_ms, plugin_done, void *arg);
/* Check a plugin's health now: result {status, latency_ms, error?}. */
void	 plugins_check(const char *plugin, plugin_done, void *arg);

#endif
