/*
 * Conformance validation of a cost-source plugin, after the published
 * suites (finfocus-spec sdk/go/testing, core internal/conformance): levels
 * BASIC, STANDARD and FULL (the SDK's Advanced), each test with its
 * result, duration and why, latency limits as published.  The calls go
 * through a function the caller provides: the broker for the MCP tool,
 * the plugin manager itself for the command line.
 */
#ifndef PCM_VALIDATE_H
#define PCM_VALIDATE_H

#include <stdint.h>

#include <json-c/json.h>

enum vlevel { V_BASIC, V_STANDARD, V_FULL };

typedef void (*vcall_done)(struct json_object *response, const char *code,
	    const char *message, int64_t latency_ms, void *arg);
typedef void (*vcall_fn)(void *ctx, const char *plugin, const char *rpc,
	    struct json_object *request, int64_t timeout_ms, vcall_done, void *arg);

/* BASIC, STANDARD or FULL (any case; ADVANCED for FULL); -1 otherwise. */
int	 validate_level(const char *);
/*
 * Run the level's tests in order; finished(report, arg) gets the report
 * (a new object the callee owns): {plugin_name, conformance_level, passed,
 * test_results: [{name, category, passed, duration_ms, error_message?}],
 * summary, latency_limits_ms}.
 */
void	 validate_plugin(const char *plugin, int level, vcall_fn, void *ctx,
	    void (*finished)(struct json_object *report, void *arg), void *arg);

#endif
