#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "conformance.h"
#include "tools.h"

/* A 1x1 PNG and a short silent WAV (8 kHz, 16-bit mono). */
static const char png_b64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
static const char wav_b64[] =
    "UklGRuwAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YcgAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

static struct event_base *base;

#define NO_ARGS "{\"type\":\"object\",\"additionalProperties\":false}"

/* --- content blocks ------------------------------------------------------- */

static struct json_object *
block(const char *type, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	struct json_object *b = json_object_new_object();

	json_object_object_add(b, "type", json_object_new_string(type));
	json_object_object_add(b, k1, json_object_new_string(v1));
	if (k2 != NULL)
		json_object_object_add(b, k2, json_object_new_string(v2));
	return b;
}

static struct json_object *
embedded(const char *uri, const char *text)
{
	struct json_object *b = json_object_new_object(), *r = json_object_new_object();

	json_object_object_add(r, "uri", json_object_new_string(uri));
	json_object_object_add(r, "mimeType", json_object_new_string("text/plain"));
	json_object_object_add(r, "text", json_object_new_string(text));
	json_object_object_add(b, "type", json_object_new_string("resource"));
	json_object_object_add(b, "resource", r);
	return b;
}

static struct json_object *
one(struct json_object *b)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, b);
	return a;
}

/* --- immediate tools ------------------------------------------------------ */

static void
t_simple_text(struct tool_call *c, struct json_object *args)
{
	(void)args;
	tool_call_result(c, one(block("text", "text",
	    "This is a simple text response for testing.", NULL, NULL)), NULL, 0);
}

static void
t_image(struct tool_call *c, struct json_object *args)
{
	(void)args;
	tool_call_result(c, one(block("image", "data", png_b64, "mimeType",
	    "image/png")), NULL, 0);
}

static void
t_audio(struct tool_call *c, struct json_object *args)
{
	(void)args;
	tool_call_result(c, one(block("audio", "data", wav_b64, "mimeType",
	    "audio/wav")), NULL, 0);
}

static void
t_embedded(struct tool_call *c, struct json_object *args)
{
	(void)args;
	tool_call_result(c, one(embedded("test://embedded-resource",
	    "This is an embedded resource content.")), NULL, 0);
}

static void
t_mixed(struct tool_call *c, struct json_object *args)
{
	struct json_object *a = json_object_new_array();

	(void)args;
	json_object_array_add(a, block("text", "text", "Multiple content types test:",
	    NULL, NULL));
	json_object_array_add(a, block("image", "data", png_b64, "mimeType", "image/png"));
	json_object_array_add(a, embedded("test://mixed-content-resource",
	    "{\"test\":\"data\",\"value\":123}"));
	tool_call_result(c, a, NULL, 0);
}

static void
t_error(struct tool_call *c, struct json_object *args)
{
	(void)args;
	tool_call_fail(c, "This tool intentionally returns an error for testing");
}

/* --- tools that notify over time ------------------------------------------ */

struct steps {
	struct tool_call	*call;
	struct event		*ev;
	int			 step;
	int			 progress;	/* 1: progress, 0: logging */
};

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	static const char *const logs[] = {
		"Tool execution started", "Tool processing data",
		"Tool execution completed",
	};
	struct steps *st = arg;
	struct timeval tv = tv_ms(50);

	(void)fd;
	(void)what;
	if (st->step < 3 && !tool_call_cancelled(st->call)) {
		if (st->progress)
			tool_call_progress(st->call, st->step * 50.0, 100, NULL);
		else
			tool_call_log(st->call, "info", logs[st->step]);
		st->step++;
		evtimer_add(st->ev, &tv);
		return;
	}
	tool_call_result(st->call, one(block("text", "text", st->progress ?
	    "Progress test completed" : "Logging test completed", NULL, NULL)),
	    NULL, 0);
	event_free(st->ev);
	free(st);
}

static void
start_steps(struct tool_call *c, int progress)
{
	struct steps *st = calloc(1, sizeof(*st));
	struct timeval tv = tv_ms(0);

	if (st == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	st->call = c;
	st->progress = progress;
	st->ev = evtimer_new(base, on_step, st);
	evtimer_add(st->ev, &tv);
}

static void
t_logging(struct tool_call *c, struct json_object *args)
{
	(void)args;
	start_steps(c, 0);
}

static void
t_progress(struct tool_call *c, struct json_object *args)
{
	(void)args;
	start_steps(c, 1);
}

static void
t_schema(struct tool_call *c, struct json_object *args)
{
	tool_call_result(c, one(block("text", "text", rpc_string(args), NULL,
	    NULL)), NULL, 0);
}

/* --- tools that ask the client -------------------------------------------- */

static const char *
arg_str(struct json_object *args, const char *k, const char *def)
{
	struct json_object *v;

	return json_object_object_get_ex(args, k, &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}

/* --- tools that need input from the client (MRTR in every revision) -------- */

static struct json_object *
sampling_params(const char *prompt, int max_tokens)
{
	struct json_object *p = json_object_new_object(), *msgs, *msg;

	msg = json_object_new_object();
	json_object_object_add(msg, "role", json_object_new_string("user"));
	json_object_object_add(msg, "content", block("text", "text", prompt,
	    NULL, NULL));
	msgs = json_object_new_array();
	json_object_array_add(msgs, msg);
	json_object_object_add(p, "messages", msgs);
	json_object_object_add(p, "maxTokens", json_object_new_int(max_tokens));
	return p;
}

static struct json_object *
elicit_params(const char *message, struct json_object *schema)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "message", json_object_new_string(message));
	json_object_object_add(p, "requestedSchema", schema);
	return p;
}

/* A form of one required field. */
static struct json_object *
one_field(const char *field, const char *type)
{
	char schema[256];

	snprintf(schema, sizeof(schema), "{\"type\":\"object\",\"properties\":"
	    "{\"%s\":{\"type\":\"%s\"}},\"required\":[\"%s\"]}", field, type, field);
	return json_tokener_parse(schema);
}

/* The text of a CreateMessageResult, or NULL. */
static const char *
sampled_text(struct json_object *r)
{
	struct json_object *content, *text;

	if (r == NULL || !json_object_object_get_ex(r, "content", &content) ||
	    !json_object_object_get_ex(content, "text", &text))
		return NULL;
	return json_object_get_string(text);
}

/* A field of an ElicitResult's content, or NULL. */
static const char *
elicited(struct json_object *r, const char *field)
{
	struct json_object *content, *v;

	if (r == NULL || !json_object_object_get_ex(r, "content", &content) ||
	    !json_object_object_get_ex(content, field, &v))
		return NULL;
	return json_object_get_string(v);
}

static void
text_result(struct tool_call *c, const char *text)
{
	tool_call_result(c, one(block("text", "text", text, NULL, NULL)), NULL, 0);
}

static void
t_sampling(struct tool_call *c, struct json_object *args)
{
	struct json_object *r = tool_call_input(c, "reply");
	char out[2048];

	if (r == NULL) {
		tool_call_need(c, "reply", "sampling/createMessage",
		    sampling_params(arg_str(args, "prompt", ""), 100));
		tool_call_input_required(c, NULL);
		return;
	}
	if (sampled_text(r) == NULL) {
		tool_call_fail(c, "sampling returned no text content");
		return;
	}
	snprintf(out, sizeof(out), "LLM response: %s", sampled_text(r));
	text_result(c, out);
}

static void
elicit(struct tool_call *c, const char *message, const char *schema,
    const char *prefix)
{
	struct json_object *r = tool_call_input(c, "answer"), *action, *content;
	char out[4096];

	if (r == NULL) {
		tool_call_need(c, "answer", "elicitation/create",
		    elicit_params(message, json_tokener_parse(schema)));
		tool_call_input_required(c, NULL);
		return;
	}
	if (!json_object_object_get_ex(r, "action", &action))
		action = NULL;
	if (!json_object_object_get_ex(r, "content", &content))
		content = NULL;
	snprintf(out, sizeof(out), "%saction=%s, content=%s", prefix,
	    action ? json_object_get_string(action) : "none",
	    content ? rpc_string(content) : "{}");
	text_result(c, out);
}

static void
t_elicitation(struct tool_call *c, struct json_object *args)
{
	elicit(c, arg_str(args, "message", "Please provide your information"),
	    "{\"type\":\"object\",\"properties\":{"
	    "\"username\":{\"type\":\"string\",\"description\":\"User's response\"},"
	    "\"email\":{\"type\":\"string\",\"description\":\"User's email address\"}},"
	    "\"required\":[\"username\",\"email\"]}", "User response: ");
}

/* The SEP-2322 scenarios, each named for what it exercises. */
static void
t_ir_elicitation(struct tool_call *c, struct json_object *args)
{
	const char *name = elicited(tool_call_input(c, "user_name"), "name");
	char out[512];

	(void)args;
	if (tool_call_input(c, "user_name") == NULL) {
		tool_call_need(c, "user_name", "elicitation/create",
		    elicit_params("What is your name?", one_field("name", "string")));
		tool_call_input_required(c, NULL);
		return;
	}
	snprintf(out, sizeof(out), "Hello, %s!", name ? name : "whoever you are");
	text_result(c, out);
}

static void
t_ir_sampling(struct tool_call *c, struct json_object *args)
{
	const char *text = sampled_text(tool_call_input(c, "capital_question"));
	char out[2048];

	(void)args;
	if (tool_call_input(c, "capital_question") == NULL) {
		tool_call_need(c, "capital_question", "sampling/createMessage",
		    sampling_params("What is the capital of France?", 100));
		tool_call_input_required(c, NULL);
		return;
	}
	snprintf(out, sizeof(out), "The model said: %s", text ? text : "(no text)");
	text_result(c, out);
}

static void
t_ir_roots(struct tool_call *c, struct json_object *args)
{
	struct json_object *r = tool_call_input(c, "client_roots"), *roots, *uri;
	char out[2048];
	size_t i, n, len;

	(void)args;
	if (r == NULL) {
		tool_call_need(c, "client_roots", "roots/list", NULL);
		tool_call_input_required(c, NULL);
		return;
	}
	if (!json_object_object_get_ex(r, "roots", &roots) ||
	    !json_object_is_type(roots, json_type_array)) {
		tool_call_fail(c, "the roots/list answer has no roots array");
		return;
	}
	n = json_object_array_length(roots);
	len = (size_t)snprintf(out, sizeof(out), "%zu root(s):", n);
	for (i = 0; i < n && len < sizeof(out); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(roots, i),
		    "uri", &uri))
			len += (size_t)snprintf(out + len, sizeof(out) - len, " %s",
			    json_object_get_string(uri));
	text_result(c, out);
}

/* Round 2 counts only with the state round 1 issued (and we sealed). */
static void
confirm_with_state(struct tool_call *c, const char *state)
{
	const char *st = tool_call_state(c);
	struct json_object *r = tool_call_input(c, "confirm"), *content;
	char out[512];

	if (r == NULL || st == NULL || strcmp(st, state) != 0) {
		tool_call_need(c, "confirm", "elicitation/create",
		    elicit_params("Please confirm", one_field("ok", "boolean")));
		tool_call_input_required(c, state);
		return;
	}
	if (!json_object_object_get_ex(r, "content", &content))
		content = NULL;
	snprintf(out, sizeof(out), "state-ok: confirmed with %s",
	    content ? rpc_string(content) : "{}");
	text_result(c, out);
}

static void
t_ir_request_state(struct tool_call *c, struct json_object *args)
{
	(void)args;
	confirm_with_state(c, "request-state-v1");
}

static void
t_ir_tampered(struct tool_call *c, struct json_object *args)
{
	(void)args;
	confirm_with_state(c, "tamper-check-v1");
}

static void
t_ir_multiple(struct tool_call *c, struct json_object *args)
{
	struct json_object *u = tool_call_input(c, "user_name");
	struct json_object *g = tool_call_input(c, "greeting");
	struct json_object *roots = tool_call_input(c, "client_roots");
	const char *st = tool_call_state(c), *name;
	char out[2048];

	(void)args;
	if (st == NULL || strcmp(st, "multi-v1") != 0 || u == NULL || g == NULL ||
	    roots == NULL) {
		tool_call_need(c, "user_name", "elicitation/create",
		    elicit_params("What is your name?", one_field("name", "string")));
		tool_call_need(c, "greeting", "sampling/createMessage",
		    sampling_params("Generate a greeting", 50));
		tool_call_need(c, "client_roots", "roots/list", NULL);
		tool_call_input_required(c, "multi-v1");
		return;
	}
	name = elicited(u, "name");
	snprintf(out, sizeof(out), "%s, %s (roots: %s)", sampled_text(g) ?
	    sampled_text(g) : "Hello", name ? name : "friend", rpc_string(roots));
	text_result(c, out);
}

/* Three rounds; the state carries what the first one learnt. */
static void
t_ir_multi_round(struct tool_call *c, struct json_object *args)
{
	const char *st = tool_call_state(c), *name, *color;
	char next[256], out[512];

	(void)args;
	if (st != NULL && strncmp(st, "round-2\n", 8) == 0 &&
	    tool_call_input(c, "step2") != NULL) {
		color = elicited(tool_call_input(c, "step2"), "color");
		snprintf(out, sizeof(out), "Hello %s, your favorite color is %s.",
		    st + 8, color ? color : "a secret");
		text_result(c, out);
		return;
	}
	if (st != NULL && strcmp(st, "round-1") == 0 &&
	    tool_call_input(c, "step1") != NULL) {
		name = elicited(tool_call_input(c, "step1"), "name");
		snprintf(next, sizeof(next), "round-2\n%.200s", name ? name : "friend");
		tool_call_need(c, "step2", "elicitation/create", elicit_params(
		    "Step 2: What is your favorite color?", one_field("color", "string")));
		tool_call_input_required(c, next);
		return;
	}
	tool_call_need(c, "step1", "elicitation/create", elicit_params(
	    "Step 1: What is your name?", one_field("name", "string")));
	tool_call_input_required(c, "round-1");
}

/* Asks only for what the client declared it can answer. */
static void
t_ir_capabilities(struct tool_call *c, struct json_object *args)
{
	int el = tool_call_client_can(c, MCP_CLIENT_ELICITATION);
	int sa = tool_call_client_can(c, MCP_CLIENT_SAMPLING);
	char out[512];

	(void)args;
	if (!el && !sa) {
		text_result(c, "The client declared neither elicitation nor"
		    " sampling, so there is nothing to ask it.");
		return;
	}
	if ((el && tool_call_input(c, "user_name") == NULL) ||
	    (sa && tool_call_input(c, "summary") == NULL)) {
		if (el)
			tool_call_need(c, "user_name", "elicitation/create",
			    elicit_params("What is your name?", one_field("name",
			    "string")));
		if (sa)
			tool_call_need(c, "summary", "sampling/createMessage",
			    sampling_params("Summarise the request in one line", 50));
		tool_call_input_required(c, NULL);
		return;
	}
	snprintf(out, sizeof(out), "Asked for %s%s%s.", el ? "elicitation" : "",
	    el && sa ? " and " : "", sa ? "sampling" : "");
	text_result(c, out);
}

static void
t_elicitation_defaults(struct tool_call *c, struct json_object *args)
{
	(void)args;
	elicit(c, "Please review your profile; defaults are filled in",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
	    "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
	    "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
	    "\"status\":{\"type\":\"string\",\"description\":\"User status\","
	    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
	    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\",\"default\":true}},"
	    "\"required\":[]}", "Elicitation completed: ");
}

static void
t_elicitation_enums(struct tool_call *c, struct json_object *args)
{
	(void)args;
	elicit(c, "Please choose from each kind of list",
	    "{\"type\":\"object\",\"properties\":{"
	    "\"untitledSingle\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]},"
	    "\"titledSingle\":{\"type\":\"string\",\"oneOf\":["
	    "{\"const\":\"value1\",\"title\":\"First Option\"},"
	    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
	    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
	    "\"legacyEnum\":{\"type\":\"string\",\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
	    "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
	    "\"untitledMulti\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
	    "\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
	    "\"titledMulti\":{\"type\":\"array\",\"items\":{\"anyOf\":["
	    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
	    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
	    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},"
	    "\"required\":[]}", "Elicitation completed: ");
}

#define ARGS1(k) "{\"type\":\"object\",\"properties\":{\"" k "\":{\"type\":\"string\"}},\"required\":[\"" k "\"]}"

#define TOOL(n, d, h, notif) { .name = n, .description = d, .input_schema = NO_ARGS, \
	.read_only = 1, .idempotent = 1, .notifies = notif, .handler = h }

static const struct tool fixtures[] = {
	TOOL("test_simple_text", "Returns a simple text response.", t_simple_text, 0),
	TOOL("test_image_content", "Returns an image.", t_image, 0),
	TOOL("test_audio_content", "Returns audio.", t_audio, 0),
	TOOL("test_embedded_resource", "Returns an embedded resource.", t_embedded, 0),
	TOOL("test_multiple_content_types", "Returns text, an image and a resource.",
	    t_mixed, 0),
	TOOL("test_tool_with_logging", "Sends three log messages while it runs.",
	    t_logging, 1),
	TOOL("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100.",
	    t_progress, 1),
	TOOL("test_error_handling", "Always fails, as a tool error.", t_error, 0),
	{ .name = "test_sampling", .description = "Asks the client's model (sampling).",
	  .input_schema = ARGS1("prompt"), .notifies = 1, .handler = t_sampling },
	{ .name = "test_elicitation", .description = "Asks the user for a name and an email.",
	  .input_schema = ARGS1("message"), .notifies = 1, .handler = t_elicitation },
	TOOL("test_elicitation_sep1034_defaults", "Asks with default values (SEP-1034).",
	    t_elicitation_defaults, 1),
	TOOL("test_elicitation_sep1330_enums", "Asks with every enum shape (SEP-1330).",
	    t_elicitation_enums, 1),
	/* 2026-07-28 diagnostics. */
	{ .name = "test_missing_capability", .description = "Needs the client's"
	  " sampling capability.", .input_schema = NO_ARGS, .notifies = 1,
	  .requires_client = MCP_CLIENT_SAMPLING, .handler = t_sampling },
	TOOL("test_logging_tool", "Logs at info while it runs.", t_logging, 1),
	{ .name = "test_streaming_elicitation", .description = "Asks the user;"
	  " in 2026-07-28 with an input_required result, never a request on"
	  " the stream.", .input_schema = NO_ARGS, .notifies = 1,
	  .handler = t_elicitation },
	/* Input-required results (SEP-2322); asked on the stream before 2026. */
	TOOL("test_input_required_result_elicitation", "Asks the user's name.",
	    t_ir_elicitation, 1),
	TOOL("test_input_required_result_sampling", "Asks the client's model a"
	    " question.", t_ir_sampling, 1),
	TOOL("test_input_required_result_list_roots", "Asks for the client's"
	    " roots.", t_ir_roots, 1),
	TOOL("test_input_required_result_request_state", "Asks for a"
	    " confirmation, carrying state.", t_ir_request_state, 1),
	TOOL("test_input_required_result_multiple_inputs", "Asks three things"
	    " at once.", t_ir_multiple, 1),
	TOOL("test_input_required_result_multi_round", "Asks in two rounds.",
	    t_ir_multi_round, 1),
	TOOL("test_input_required_result_tampered_state", "Carries sealed state"
	    " that must come back unaltered.", t_ir_tampered, 1),
	TOOL("test_input_required_result_capabilities", "Asks only what the"
	    " client declared it can answer.", t_ir_capabilities, 1),
	{ .name = "test_custom_headers",
	  .description = "Echoes its arguments; region, priority and verbose"
	  " are mirrored in Mcp-Param-* headers (SEP-2243).",
	  .input_schema = "{\"type\":\"object\",\"properties\":{"
	    "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
	    "\"priority\":{\"type\":\"integer\",\"x-mcp-header\":\"Priority\"},"
	    "\"verbose\":{\"type\":\"boolean\",\"x-mcp-header\":\"Verbose\"}}}",
	  .read_only = 1, .idempotent = 1, .handler = t_schema },
	{ .name = "json_schema_2020_12_tool",
	  .description = "Keeps a JSON Schema 2020-12 input schema verbatim.",
	  .input_schema = "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
	    "\"type\":\"object\",\"$defs\":{\"address\":{\"$anchor\":\"addressDef\","
	    "\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
	    "\"city\":{\"type\":\"string\"}}}},"
	    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"},"
	    "\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
	    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
	    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
	    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},"
	    "\"required\":[\"contactMethod\"]},"
	    "\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":[\"email\"]},"
	    "\"additionalProperties\":false}",
	  .read_only = 1, .idempotent = 1, .handler = t_schema },
};

void
conformance_register(struct event_base *b)
{
	size_t i;

	base = b;
	for (i = 0; i < nitems(fixtures); i++)
		tools_register(&fixtures[i]);
}

/* --- resources, prompts, completions -------------------------------------- */

void
conformance_capabilities(struct json_object *caps, int modern)
{
	struct json_object *r = json_object_new_object(), *p = json_object_new_object();

	if (!modern)
		json_object_object_add(r, "subscribe", json_object_new_boolean(1));
	json_object_object_add(r, "listChanged", json_object_new_boolean(0));
	json_object_object_add(caps, "resources", r);
	json_object_object_add(p, "listChanged", json_object_new_boolean(0));
	json_object_object_add(caps, "prompts", p);
	json_object_object_add(caps, "completions", json_object_new_object());
}

static const char *const methods[] = {
	"resources/list", "resources/read", "resources/templates/list",
	"resources/subscribe", "resources/unsubscribe", "prompts/list",
	"prompts/get", "completion/complete", NULL
};

int
conformance_handles(const char *m)
{
	size_t i;

	for (i = 0; methods[i] != NULL; i++)
		if (strcmp(methods[i], m) == 0)
			return 1;
	return 0;
}

static int
ok(const struct rpc_msg *m, const struct mcp_io *io, struct json_object *r)
{
	io->respond(io->arg, rpc_result(m->id, r));
	return 1;
}

static int
bad(const struct rpc_msg *m, const struct mcp_io *io, int code, const char *msg)
{
	io->respond(io->arg, rpc_error(m->id, code, msg, NULL));
	return 1;
}

static const char *
str_param(const struct rpc_msg *m, const char *k)
{
	struct json_object *v;

	if (m->params == NULL || !json_object_is_type(m->params, json_type_object) ||
	    !json_object_object_get_ex(m->params, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *
resource_desc(const char *uri, const char *name, const char *desc,
    const char *mime)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "uri", json_object_new_string(uri));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "description", json_object_new_string(desc));
	json_object_object_add(o, "mimeType", json_object_new_string(mime));
	return o;
}

static int
read_resource(const struct rpc_msg *m, const struct mcp_io *io)
{
	const char *uri = str_param(m, "uri");
	struct json_object *c = json_object_new_object(), *r, *a;
	char text[256];
	unsigned id;

	if (uri == NULL) {
		json_object_put(c);
		return bad(m, io, RPC_INVALID_PARAMS, "params.uri is required");
	}
	json_object_object_add(c, "uri", json_object_new_string(uri));
	if (strcmp(uri, "test://static-text") == 0) {
		json_object_object_add(c, "mimeType", json_object_new_string("text/plain"));
		json_object_object_add(c, "text", json_object_new_string(
		    "This is the content of the static text resource."));
	} else if (strcmp(uri, "test://static-binary") == 0) {
		json_object_object_add(c, "mimeType", json_object_new_string("image/png"));
		json_object_object_add(c, "blob", json_object_new_string(png_b64));
	} else if (sscanf(uri, "test://template/%u/data", &id) == 1) {
		snprintf(text, sizeof(text), "{\"id\":\"%u\",\"templateTest\":true,"
		    "\"data\":\"Data for ID: %u\"}", id, id);
		json_object_object_add(c, "mimeType", json_object_new_string("application/json"));
		json_object_object_add(c, "text", json_object_new_string(text));
	} else if (strcmp(uri, "test://watched-resource") == 0) {
		json_object_object_add(c, "mimeType", json_object_new_string("text/plain"));
		json_object_object_add(c, "text", json_object_new_string("Watched resource content."));
	} else {
		/* -32002 until 2026-07-28 standardised on -32602 (SEP-2164). */
		json_object_put(c);
		a = json_object_new_object();
		json_object_object_add(a, "uri", json_object_new_string(uri));
		io->respond(io->arg, rpc_error(m->id, mcp_is_modern(m) ?
		    RPC_INVALID_PARAMS : -32002, "Resource not found", a));
		return 1;
	}
	a = json_object_new_array();
	json_object_array_add(a, c);
	r = json_object_new_object();
	json_object_object_add(r, "contents", a);
	return ok(m, io, r);
}

static struct json_object *
prompt_desc(const char *name, const char *desc, int nargs, ...)
{
	struct json_object *o = json_object_new_object(), *args;
	va_list ap;
	int i;

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "description", json_object_new_string(desc));
	if (nargs > 0) {
		args = json_object_new_array();
		va_start(ap, nargs);
		for (i = 0; i < nargs; i++) {
			struct json_object *a = json_object_new_object();

			json_object_object_add(a, "name", json_object_new_string(
			    va_arg(ap, const char *)));
			json_object_object_add(a, "description",
			    json_object_new_string(va_arg(ap, const char *)));
			json_object_object_add(a, "required", json_object_new_boolean(1));
			json_object_array_add(args, a);
		}
		va_end(ap);
		json_object_object_add(o, "arguments", args);
	}
	return o;
}

static struct json_object *
message(struct json_object *content)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "role", json_object_new_string("user"));
	json_object_object_add(o, "content", content);
	return o;
}

static const char *
prompt_arg(const struct rpc_msg *m, const char *k)
{
	struct json_object *a, *v;

	if (m->params == NULL || !json_object_object_get_ex(m->params, "arguments", &a) ||
	    !json_object_object_get_ex(a, k, &v))
		return NULL;
	return json_object_get_string(v);
}

/*
 * A prompt that needs the user's context first: input_required in
 * 2026-07-28 (a prompts/get has no stream to ask on before that).
 */
static int
prompt_with_input(const struct rpc_msg *m, const struct mcp_io *io)
{
	static const char scope[] = "prompts/get test_input_required_result_prompt";
	struct json_object *inputs, *answer, *want, *req, *r, *msgs;
	const char *ctx;
	char *state, text[1024];

	if (!mcp_is_modern(m))
		return bad(m, io, RPC_INVALID_PARAMS, "this prompt needs input from"
		    " the client, which only revision 2026-07-28 can give"
		    " (input_required results)");
	if (!json_object_object_get_ex(m->params, "_meta", &r) ||
	    !json_object_object_get_ex(r, "io.modelcontextprotocol/clientCapabilities",
	    &r) || !(mcp_client_caps(r) & MCP_CLIENT_ELICITATION))
		return bad(m, io, RPC_INVALID_PARAMS, "this prompt asks the user"
		    " (elicitation), a capability the client did not declare");
	if (mcp_input_params(m, io, scope, &inputs, &state) != 0)
		return 1;
	free(state);
	if (inputs == NULL || !json_object_object_get_ex(inputs, "user_context",
	    &answer)) {
		json_object_put(inputs);
		req = json_object_new_object();
		json_object_object_add(req, "method",
		    json_object_new_string("elicitation/create"));
		json_object_object_add(req, "params", elicit_params("What context"
		    " should the prompt use?", one_field("context", "string")));
		want = json_object_new_object();
		json_object_object_add(want, "user_context", req);
		return ok(m, io, mcp_input_required(want, scope, NULL));
	}
	ctx = elicited(answer, "context");
	snprintf(text, sizeof(text), "Answer with this context in mind: %s",
	    ctx ? ctx : "(none given)");
	msgs = json_object_new_array();
	json_object_array_add(msgs, message(block("text", "text", text, NULL, NULL)));
	r = json_object_new_object();
	json_object_object_add(r, "messages", msgs);
	json_object_put(inputs);
	return ok(m, io, r);
}

static int
get_prompt(const struct rpc_msg *m, const struct mcp_io *io)
{
	const char *name = str_param(m, "name");
	struct json_object *msgs = json_object_new_array(), *r;
	char text[512];

	if (name == NULL) {
		json_object_put(msgs);
		return bad(m, io, RPC_INVALID_PARAMS, "params.name is required");
	}
	if (strcmp(name, "test_simple_prompt") == 0)
		json_object_array_add(msgs, message(block("text", "text",
		    "This is a simple prompt for testing.", NULL, NULL)));
	else if (strcmp(name, "test_prompt_with_arguments") == 0) {
		const char *a1 = prompt_arg(m, "arg1"), *a2 = prompt_arg(m, "arg2");

		snprintf(text, sizeof(text), "Prompt with arguments: arg1='%s',"
		    " arg2='%s'", a1 ? a1 : "", a2 ? a2 : "");
		json_object_array_add(msgs, message(block("text", "text", text,
		    NULL, NULL)));
	} else if (strcmp(name, "test_prompt_with_embedded_resource") == 0) {
		const char *uri = prompt_arg(m, "resourceUri");

		json_object_array_add(msgs, message(embedded(uri ? uri :
		    "test://example-resource", "Embedded resource content for testing.")));
		json_object_array_add(msgs, message(block("text", "text",
		    "Please process the embedded resource above.", NULL, NULL)));
	} else if (strcmp(name, "test_input_required_result_prompt") == 0) {
		json_object_put(msgs);
		return prompt_with_input(m, io);
	} else if (strcmp(name, "test_prompt_with_image") == 0) {
		json_object_array_add(msgs, message(block("image", "data", png_b64,
		    "mimeType", "image/png")));
		json_object_array_add(msgs, message(block("text", "text",
		    "Please analyze the image above.", NULL, NULL)));
	} else {
		json_object_put(msgs);
		return bad(m, io, RPC_INVALID_PARAMS, "Unknown prompt");
	}
	r = json_object_new_object();
	json_object_object_add(r, "messages", msgs);
	return ok(m, io, r);
}

int
conformance_method(const struct rpc_msg *m, const struct mcp_io *io)
{
	const char *meth = m->method;
	struct json_object *r = json_object_new_object(), *a;

	if (strcmp(meth, "resources/list") == 0) {
		a = json_object_new_array();
		json_object_array_add(a, resource_desc("test://static-text",
		    "Static Text Resource", "A static text resource for testing", "text/plain"));
		json_object_array_add(a, resource_desc("test://static-binary",
		    "Static Binary Resource", "A static binary resource (PNG)", "image/png"));
		json_object_array_add(a, resource_desc("test://watched-resource",
		    "Watched Resource", "A resource that can be subscribed to", "text/plain"));
		json_object_object_add(r, "resources", a);
		return ok(m, io, r);
	}
	if (strcmp(meth, "resources/templates/list") == 0) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "uriTemplate",
		    json_object_new_string("test://template/{id}/data"));
		json_object_object_add(t, "name", json_object_new_string("Template Resource"));
		json_object_object_add(t, "description",
		    json_object_new_string("A resource template with an id parameter"));
		json_object_object_add(t, "mimeType", json_object_new_string("application/json"));
		a = json_object_new_array();
		json_object_array_add(a, t);
		json_object_object_add(r, "resourceTemplates", a);
		return ok(m, io, r);
	}
	if (strcmp(meth, "resources/subscribe") == 0 ||
	    strcmp(meth, "resources/unsubscribe") == 0) {
		if (str_param(m, "uri") == NULL) {
			json_object_put(r);
			return bad(m, io, RPC_INVALID_PARAMS, "params.uri is required");
		}
		return ok(m, io, r);
	}
	if (strcmp(meth, "prompts/list") == 0) {
		a = json_object_new_array();
		json_object_array_add(a, prompt_desc("test_simple_prompt",
		    "A simple prompt without arguments", 0));
		json_object_array_add(a, prompt_desc("test_prompt_with_arguments",
		    "A prompt with arguments", 2, "arg1", "First argument",
		    "arg2", "Second argument"));
		json_object_array_add(a, prompt_desc("test_prompt_with_embedded_resource",
		    "A prompt with an embedded resource", 1, "resourceUri",
		    "URI of the resource to embed"));
		json_object_array_add(a, prompt_desc("test_prompt_with_image",
		    "A prompt with an image", 0));
		json_object_array_add(a, prompt_desc("test_input_required_result_prompt",
		    "A prompt that first asks the user for context", 0));
		json_object_object_add(r, "prompts", a);
		return ok(m, io, r);
	}
	json_object_put(r);
	if (strcmp(meth, "resources/read") == 0)
		return read_resource(m, io);
	if (strcmp(meth, "prompts/get") == 0)
		return get_prompt(m, io);
	/* completion/complete: no suggestions is a valid answer. */
	r = json_object_new_object();
	a = json_object_new_object();
	json_object_object_add(a, "values", json_object_new_array());
	json_object_object_add(a, "total", json_object_new_int(0));
	json_object_object_add(a, "hasMore", json_object_new_boolean(0));
	json_object_object_add(r, "completion", a);
	return ok(m, io, r);
}
