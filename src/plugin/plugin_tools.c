/*
 * The plugin tools of the MCP registry: list_cost_plugins,
 * get_plugin_info and check_plugin_health.  Workers ask the broker, which
 * runs the plugins (plugins.h); nothing here touches a plugin directly.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../core/util.h"
#include "../mcp/mcp.h"
#include "../mcp/tools.h"
#include "broker.h"
#include "plugin_tools.h"
#include "validate.h"

#define BROKER_TIMEOUT_MS	5000

static struct broker_client *broker;

struct pt_call {
	struct tool_call	*call;
	struct json_object	*args;
};

static const char *
arg_string(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v,
	    json_type_string) ? json_object_get_string(v) : NULL;
}

static struct pt_call *
pt_new(struct tool_call *c, struct json_object *args)
{
	struct pt_call *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		tool_call_fail(c, "out of memory");
		return NULL;
	}
	p->call = c;
	p->args = json_object_get(args);
	return p;
}

static void
pt_free(struct pt_call *p)
{
	json_object_put(p->args);
	free(p);
}

/* A broker error, as the tool's error. */
static int
broker_failed(struct pt_call *p, struct json_object *err)
{
	struct json_object *m;

	if (err == NULL)
		return 0;
	json_object_object_get_ex(err, "message", &m);
	tool_call_fail(p->call, "%s", m ? json_object_get_string(m) :
	    "the broker did not answer");
	pt_free(p);
	return 1;
}

/* The tools' view of one plugin. */
static struct json_object *
summary(struct json_object *pl, int with_health)
{
	struct json_object *o = json_object_new_object(), *info, *caps, *h, *v;
	size_t i;

	json_object_object_add(o, "name", json_object_get(json_object_object_get(pl, "name")));
	json_object_object_add(o, "version", json_object_get(json_object_object_get(pl,
	    "version")));
	if (json_object_object_get_ex(pl, "plugin_info", &info) &&
	    json_object_object_get_ex(info, "version", &v))
		json_object_object_add(o, "reported_version", json_object_get(v));
	caps = json_object_new_object();
	if (json_object_object_get_ex(pl, "plugin_info", &info)) {
		struct json_object *list;

		json_object_object_add(caps, "supports_providers",
		    json_object_object_get_ex(info, "providers", &v) ? json_object_get(v) :
		    json_object_new_array());
		list = json_object_object_get_ex(info, "capabilities", &v) ? v : NULL;
		json_object_object_add(caps, "capabilities", list ? json_object_get(list) :
		    json_object_new_array());
		for (i = 0; list != NULL && i < json_object_array_length(list); i++) {
			const char *cap = json_object_get_string(json_object_array_get_idx(list, i));

			if (strcmp(cap, "PLUGIN_CAPABILITY_PROJECTED_COSTS") == 0)
				json_object_object_add(caps, "supports_projected",
				    json_object_new_boolean(1));
			if (strcmp(cap, "PLUGIN_CAPABILITY_ACTUAL_COSTS") == 0)
				json_object_object_add(caps, "supports_actual",
				    json_object_new_boolean(1));
		}
	}
	if (!json_object_object_get_ex(caps, "supports_projected", NULL))
		json_object_object_add(caps, "supports_projected", json_object_new_boolean(0));
	if (!json_object_object_get_ex(caps, "supports_actual", NULL))
		json_object_object_add(caps, "supports_actual", json_object_new_boolean(0));
	if (!json_object_object_get_ex(caps, "supports_providers", NULL))
		json_object_object_add(caps, "supports_providers", json_object_new_array());
	json_object_object_add(o, "capabilities", caps);
	json_object_object_add(o, "state", json_object_get(json_object_object_get(pl, "state")));
	/* Which process answers: the same pid across a reload means carried over. */
	if (json_object_object_get_ex(pl, "pid", &v))
		json_object_object_add(o, "pid", json_object_get(v));
	json_object_object_add(o, "legacy", json_object_get(json_object_object_get(pl, "legacy")));
	json_object_object_add(o, "restarts", json_object_get(json_object_object_get(pl,
	    "restarts")));
	if (json_object_object_get_ex(pl, "last_exit", &v))
		json_object_object_add(o, "last_exit", json_object_get(v));
	if (with_health && json_object_object_get_ex(pl, "health", &h)) {
		json_object_object_add(o, "health_status", json_object_get(
		    json_object_object_get(h, "status")));
		json_object_object_add(o, "health", json_object_get(h));
	}
	return o;
}

/* --- list_cost_plugins ----------------------------------------------------- */

static void
on_list(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct pt_call *p = arg;
	struct json_object *ans, *arr, *pls, *v;
	int with_health = 1;
	size_t i, n;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;

	if (fd >= 0)
		close(fd);
	if (broker_failed(p, err))
		return;
	if (json_object_object_get_ex(p->args, "include_health", &v))
		with_health = json_object_get_boolean(v);
	json_object_object_get_ex(res, "plugins", &pls);
	n = json_object_array_length(pls);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, summary(json_object_array_get_idx(pls, i),
		    with_health));
	ans = json_object_new_object();
	json_object_object_add(ans, "plugins", arr);
	json_object_object_add(ans, "directories", json_object_get(json_object_object_get(res,
	    "directories")));
	json_object_object_add(ans, "skipped", json_object_get(json_object_object_get(res,
	    "skipped")));
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		fprintf(f, "%zu cost-source plugin%s", n, n == 1 ? "" : "s");
		for (i = 0; i < n; i++) {
			struct json_object *s = json_object_array_get_idx(arr, i);

			fprintf(f, "\n  %s %s: %s", json_object_get_string(json_object_object_get(s,
			    "name")), json_object_get_string(json_object_object_get(s, "version")),
			    with_health ? json_object_get_string(json_object_object_get(s,
			    "health_status")) : json_object_get_string(json_object_object_get(s,
			    "state")));
		}
		fclose(f);
	}
	tool_call_done(p->call, ans, text);
	free(text);
	pt_free(p);
}

static void
t_list(struct tool_call *c, struct json_object *args)
{
	struct pt_call *p = pt_new(c, args);

	if (p != NULL && broker_call(broker, "plugins", NULL, BROKER_TIMEOUT_MS, on_list,
	    p) == -1) {
		tool_call_fail(c, "cannot reach the broker");
		pt_free(p);
	}
}

/* --- get_plugin_info ------------------------------------------------------- */

static struct json_object *
plugin_named(struct json_object *res, const char *name)
{
	struct json_object *pls;
	size_t i;

	json_object_object_get_ex(res, "plugins", &pls);
	for (i = 0; i < json_object_array_length(pls); i++) {
		struct json_object *pl = json_object_array_get_idx(pls, i);

		if (strcmp(json_object_get_string(json_object_object_get(pl, "name")),
		    name) == 0)
			return pl;
	}
	return NULL;
}

static void
on_info(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct pt_call *p = arg;
	const char *name = arg_string(p->args, "plugin_name");
	struct json_object *pl, *ans, *info, *v;
	char text[512];

	if (fd >= 0)
		close(fd);
	if (broker_failed(p, err))
		return;
	if ((pl = plugin_named(res, name)) == NULL) {
		tool_call_fail(p->call, "no plugin \"%s\": %d discovered (list_cost_plugins"
		    " lists them)", name, (int)json_object_array_length(
		    json_object_object_get(res, "plugins")));
		pt_free(p);
		return;
	}
	ans = summary(pl, 1);
	json_object_object_get_ex(pl, "plugin_info", &info);
	if (info != NULL && json_object_object_get_ex(info, "spec_version", &v))
		json_object_object_add(ans, "spec_version", json_object_get(v));
	json_object_object_add(ans, "description", json_object_new_string(""));
	if (json_object_object_get_ex(pl, "manifest", &v)) {
		struct json_object *d, *meta;

		/* The spec schema's shape keeps name and description in
		 * "metadata"; the flat core shape at the top. */
		meta = json_object_object_get_ex(v, "metadata", &meta) &&
		    json_object_object_get_ex(meta, "name", NULL) ? meta : v;
		if (json_object_object_get_ex(meta, "description", &d))
			json_object_object_add(ans, "description", json_object_get(d));
		json_object_object_add(ans, "manifest", json_object_get(v));
	}
	json_object_object_add(ans, "configuration", info != NULL &&
	    json_object_object_get_ex(info, "metadata", &v) ? json_object_get(v) :
	    json_object_new_object());
	json_object_object_add(ans, "grpc_address", json_object_new_string(""));
	snprintf(text, sizeof(text), "127.0.0.1:%d",
	    json_object_get_int(json_object_object_get(pl, "port")));
	json_object_object_add(ans, "grpc_address", json_object_new_string(text));
	json_object_object_add(ans, "package", json_object_get(json_object_object_get(pl,
	    "package")));
	json_object_object_add(ans, "binary", json_object_get(json_object_object_get(pl,
	    "binary")));
	snprintf(text, sizeof(text), "%s %s (%s): %s", name, json_object_get_string(
	    json_object_object_get(ans, "version")), json_object_get_string(
	    json_object_object_get(ans, "state")), json_object_get_string(
	    json_object_object_get(ans, "health_status")));
	tool_call_done(p->call, ans, text);
	pt_free(p);
}

static void
t_info(struct tool_call *c, struct json_object *args)
{
	struct pt_call *p = pt_new(c, args);

	if (p != NULL && broker_call(broker, "plugins", NULL, BROKER_TIMEOUT_MS, on_info,
	    p) == -1) {
		tool_call_fail(c, "cannot reach the broker");
		pt_free(p);
	}
}

/* --- check_plugin_health --------------------------------------------------- */

static void
on_health(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct pt_call *p = arg;
	struct json_object *ans = json_object_new_object(), *m, *code;
	char text[600];
	int64_t lat = 0;

	if (fd >= 0)
		close(fd);
	json_object_object_add(ans, "plugin_name", json_object_new_string(
	    arg_string(p->args, "plugin_name")));
	if (err != NULL) {
		json_object_object_get_ex(err, "message", &m);
		json_object_object_get_ex(err, "code", &code);
		if (code && strcmp(json_object_get_string(code), "not_found") == 0) {
			json_object_put(ans);
			tool_call_fail(p->call, "%s", json_object_get_string(m));
			pt_free(p);
			return;
		}
		json_object_object_add(ans, "status", json_object_new_string("unhealthy"));
		json_object_object_add(ans, "error_message", json_object_new_string(m ?
		    json_object_get_string(m) : "no answer"));
		json_object_object_add(ans, "error_code", json_object_get(code));
	} else {
		lat = json_object_get_int64(json_object_object_get(res, "latency_ms"));
		res = json_object_object_get(res, "response");
		json_object_object_add(ans, "status", json_object_new_string(lat > 500 ?
		    "degraded" : "healthy"));
		json_object_object_add(ans, "latency_ms", json_object_new_int64(lat));
		json_object_object_add(ans, "reported_name", json_object_get(
		    json_object_object_get(res, "name")));
	}
	json_object_object_add(ans, "last_check", json_object_new_int64(wall_ms()));
	json_object_object_add(ans, "method", json_object_new_string("a Name call through"
	    " the broker: healthy when it answers within 500 ms, degraded when it"
	    " answers later, unhealthy when it fails"));
	snprintf(text, sizeof(text), "%s: %s%s%s", arg_string(p->args, "plugin_name"),
	    json_object_get_string(json_object_object_get(ans, "status")),
	    err ? ": " : "", err ? json_object_get_string(json_object_object_get(ans,
	    "error_message")) : "");
	tool_call_done(p->call, ans, text);
	pt_free(p);
}

static void
t_health(struct tool_call *c, struct json_object *args)
{
	struct pt_call *p = pt_new(c, args);
	struct json_object *params;

	if (p == NULL)
		return;
	params = json_object_new_object();
	json_object_object_add(params, "plugin", json_object_new_string(
	    arg_string(args, "plugin_name")));
	if (broker_call(broker, "plugin_health", params, BROKER_TIMEOUT_MS * 12, on_health,
	    p) == -1) {
		tool_call_fail(c, "cannot reach the broker");
		pt_free(p);
	}
}

/* --- validate_plugin_spec ------------------------------------------------- */

struct vcall {
	vcall_done	 done;
	void		*arg;
};

static void
on_plugin_call(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct vcall *w = arg;
	struct json_object *code = NULL, *msg = NULL;

	if (fd >= 0)
		close(fd);
	if (err != NULL) {
		json_object_object_get_ex(err, "code", &code);
		json_object_object_get_ex(err, "message", &msg);
		w->done(NULL, code ? json_object_get_string(code) : "UNAVAILABLE",
		    msg ? json_object_get_string(msg) : "no answer", 0, w->arg);
	} else
		w->done(json_object_object_get(res, "response"), NULL, NULL,
		    json_object_get_int64(json_object_object_get(res, "latency_ms")), w->arg);
	free(w);
}

/* The validation's calls, through the broker. */
static void
broker_vcall(void *ctx, const char *plugin, const char *rpc, struct json_object *req,
    int64_t timeout_ms, vcall_done done, void *arg)
{
	struct json_object *params = json_object_new_object();
	struct vcall *w = calloc(1, sizeof(*w));

	(void)ctx;
	if (w == NULL) {
		json_object_put(params);
		done(NULL, "INTERNAL", "out of memory", 0, arg);
		return;
	}
	w->done = done;
	w->arg = arg;
	json_object_object_add(params, "plugin", json_object_new_string(plugin));
	json_object_object_add(params, "rpc", json_object_new_string(rpc));
	if (req != NULL)
		json_object_object_add(params, "request", json_object_get(req));
	json_object_object_add(params, "timeout_ms", json_object_new_int64(timeout_ms));
	if (broker_call(broker, "plugin_call", params, timeout_ms + 5000, on_plugin_call,
	    w) == -1) {
		free(w);
		done(NULL, "UNAVAILABLE", "cannot reach the broker", 0, arg);
	}
}

static void
on_validated(struct json_object *report, void *arg)
{
	struct pt_call *p = arg;
	struct json_object *s;
	char text[300];

	if (report == NULL) {
		tool_call_fail(p->call, "out of memory");
		pt_free(p);
		return;
	}
	s = json_object_object_get(report, "summary");
	snprintf(text, sizeof(text), "%s at %s: %s, %d of %d tests passed",
	    json_object_get_string(json_object_object_get(report, "plugin_name")),
	    json_object_get_string(json_object_object_get(report, "conformance_level")),
	    json_object_get_boolean(json_object_object_get(report, "passed")) ?
	    "conformant" : "not conformant",
	    json_object_get_int(json_object_object_get(s, "passed")),
	    json_object_get_int(json_object_object_get(s, "total")));
	tool_call_done(p->call, report, text);
	pt_free(p);
}

/* A name, or a path naming a plugin's directory or binary, to its name. */
static const char *
resolve_plugin(struct json_object *res, const char *what)
{
	struct json_object *pls;
	size_t i, n;

	json_object_object_get_ex(res, "plugins", &pls);
	n = json_object_array_length(pls);
	for (i = 0; i < n; i++) {
		struct json_object *pl = json_object_array_get_idx(pls, i);
		const char *name = json_object_get_string(json_object_object_get(pl, "name"));
		const char *dir = json_object_get_string(json_object_object_get(pl, "directory"));
		const char *bin = json_object_get_string(json_object_object_get(pl, "binary"));
		size_t dl = strlen(dir);

		if (strcmp(what, name) == 0 || strcmp(what, bin) == 0 ||
		    (strncmp(what, dir, dl) == 0 && (what[dl] == '\0' ||
		    strcmp(what + dl, "/") == 0)))
			return name;
		/* The plugin's own directory, above its versions. */
		if (strlen(what) < dl && strncmp(dir, what, strlen(what)) == 0 &&
		    dir[strlen(what)] == '/' && strchr(dir + strlen(what) + 1, '/') == NULL)
			return name;
	}
	return NULL;
}

static void
on_validate_list(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct pt_call *p = arg;
	const char *what = arg_string(p->args, "plugin_path") ?
	    arg_string(p->args, "plugin_path") : arg_string(p->args, "plugin_name");
	const char *lvl = arg_string(p->args, "conformance_level");
	const char *name;
	int level = validate_level(lvl ? lvl : "STANDARD");

	if (fd >= 0)
		close(fd);
	if (broker_failed(p, err))
		return;
	if (what == NULL) {
		tool_call_fail(p->call, "invalid arguments: give plugin_path or plugin_name");
		pt_free(p);
		return;
	}
	if ((name = resolve_plugin(res, what)) == NULL) {
		tool_call_fail(p->call, "\"%s\" is not a plugin the server runs (its plugin"
		    " directory, a version directory or its binary; list_cost_plugins lists"
		    " them; pulumicost-mcp plugin validate checks any other)", what);
		pt_free(p);
		return;
	}
	validate_plugin(name, level, broker_vcall, NULL, on_validated, p);
}

static void
t_validate(struct tool_call *c, struct json_object *args)
{
	struct pt_call *p = pt_new(c, args);

	if (p != NULL && broker_call(broker, "plugins", NULL, BROKER_TIMEOUT_MS,
	    on_validate_list, p) == -1) {
		tool_call_fail(c, "cannot reach the broker");
		pt_free(p);
	}
}

static const char *const validate_aliases[] = { "validate_plugin", NULL };

static const struct tool t_validate_plugin = {
	.name = "validate_plugin_spec",
	.title = "Conformance of a plugin",
	.description = "Runs the published conformance tests against a plugin the"
	    " server runs (by name, or by its directory or binary path):"
	    " conformance_level BASIC (protocol, error contract, pricing spec"
	    " validity), STANDARD (default: also actual costs, latency averages"
	    " within the published limits, 10 parallel calls, consistent answers)"
	    " or FULL (the SDK's Advanced: tighter limits, 50 parallel calls,"
	    " latency variance). Each test with its result, duration and why.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
	    "\"plugin_path\":{\"type\":\"string\",\"minLength\":1},"
	    "\"plugin_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"conformance_level\":{\"enum\":[\"BASIC\",\"STANDARD\",\"FULL\",\"basic\","
	    "\"standard\",\"full\",\"advanced\",\"ADVANCED\"]}},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"plugin_name\","
	    "\"conformance_level\",\"passed\",\"test_results\"],\"properties\":{"
	    "\"test_results\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	    "\"required\":[\"name\",\"passed\",\"duration_ms\"]}}}}",
	.read_only = 1, .aliases = validate_aliases, .handler = t_validate,
};

static const char *const list_aliases[] = { "list_plugins", NULL };
static const char *const health_aliases[] = { "health_check", "test_plugin", NULL };

static const struct tool t_list_plugins = {
	.name = "list_cost_plugins",
	.title = "Cost-source plugins",
	.description = "The PulumiCost / FinFocus cost-source plugins the server"
	    " found in its plugin directory and runs: name, version, capabilities,"
	    " state, process id and (include_health, default true) health; and what was"
	    " skipped in the directory, with why.",
	.input_schema = "{\"type\":\"object\",\"properties\":{\"include_health\":"
	    "{\"type\":\"boolean\"}},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"plugins\"],\"properties\":{"
	    "\"plugins\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"
	    "[\"name\",\"version\",\"capabilities\"]}}}}",
	.read_only = 1, .idempotent = 1, .aliases = list_aliases, .handler = t_list,
};

static const struct tool t_plugin_info = {
	.name = "get_plugin_info",
	.title = "One plugin in detail",
	.description = "A plugin's version, the information it reports"
	    " (GetPluginInfo), its manifest, capabilities, configuration (secret"
	    " values redacted), address, state and health.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"plugin_name\"],\"properties\":"
	    "{\"plugin_name\":{\"type\":\"string\",\"minLength\":1}},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"name\",\"version\","
	    "\"capabilities\"]}",
	.read_only = 1, .idempotent = 1, .handler = t_info,
};

static const struct tool t_plugin_health = {
	.name = "check_plugin_health",
	.title = "Check a plugin now",
	.description = "Calls the plugin now (Name, through the broker) and reports"
	    " healthy, degraded (slower than 500 ms) or unhealthy, with the latency"
	    " or the error.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"plugin_name\"],\"properties\":"
	    "{\"plugin_name\":{\"type\":\"string\",\"minLength\":1}},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"status\"],\"properties\":{"
	    "\"status\":{\"enum\":[\"healthy\",\"degraded\",\"unhealthy\"]}}}",
	.read_only = 1, .aliases = health_aliases, .handler = t_health,
};

void
plugin_tools_init(struct broker_client *b)
{
	broker = b;
	tools_register(&t_list_plugins);
	tools_register(&t_plugin_info);
	tools_register(&t_plugin_health);
	tools_register(&t_validate_plugin);
}
