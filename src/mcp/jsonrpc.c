#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../core/jtext.h"
#include "jsonrpc.h"

struct json_object *
rpc_parse(const char *buf, size_t len, char *why, size_t whylen)
{
	struct json_object *o;
	struct jtext_error err;
	size_t used;

	if (jtext_parse(buf, len, JTEXT_MAX_DEPTH, &o, &used, &err) == -1) {
		if (err.incomplete)
			snprintf(why, whylen, "incomplete JSON");
		else
			snprintf(why, whylen, "invalid JSON at byte %zu: %s", err.at,
			    err.what);
		return NULL;
	}
	if (o == NULL) {
		snprintf(why, whylen, "the JSON text is null, not an object or an array");
		return NULL;
	}
	/* Only white space may follow the value. */
	for (; used < len; used++) {
		if (strchr(" \t\r\n", buf[used]) == NULL) {
			json_object_put(o);
			snprintf(why, whylen, "unexpected data after the JSON"
			    " value at byte %zu", used);
			return NULL;
		}
	}
	return o;
}

static int
valid_id(struct json_object *id)
{
	/* A string or an integer; never null, a fraction, a bool or a structure. */
	return json_object_is_type(id, json_type_string) ||
	    json_object_is_type(id, json_type_int);
}

int
rpc_classify(struct json_object *o, struct rpc_msg *m, int *code, char *why,
    size_t whylen)
{
	struct json_object *v, *id = NULL, *method = NULL, *params = NULL;
	int has_id, has_result, has_error;

	memset(m, 0, sizeof(*m));
	m->obj = o;
	*code = RPC_INVALID_REQUEST;
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, whylen, "a JSON-RPC message must be an object");
		return -1;
	}
	if (!json_object_object_get_ex(o, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0) {
		snprintf(why, whylen, "\"jsonrpc\" must be \"2.0\"");
		return -1;
	}
	has_id = json_object_object_get_ex(o, "id", &id);
	has_result = json_object_object_get_ex(o, "result", NULL);
	has_error = json_object_object_get_ex(o, "error", NULL);
	if (has_id && !valid_id(id)) {
		snprintf(why, whylen, "\"id\" must be a string or an integer");
		return -1;
	}
	if (json_object_object_get_ex(o, "method", &method)) {
		if (!json_object_is_type(method, json_type_string)) {
			snprintf(why, whylen, "\"method\" must be a string");
			return -1;
		}
		if (has_result || has_error) {
			snprintf(why, whylen, "a request cannot carry \"result\" or"
			    " \"error\"");
			return -1;
		}
		if (json_object_object_get_ex(o, "params", &params) &&
		    !json_object_is_type(params, json_type_object) &&
		    !json_object_is_type(params, json_type_array)) {
			*code = RPC_INVALID_REQUEST;
			snprintf(why, whylen, "\"params\" must be an object or"
			    " an array");
			return -1;
		}
		m->method = json_object_get_string(method);
		m->params = params;
		m->id = has_id ? id : NULL;
		m->kind = has_id ? RPC_REQUEST : RPC_NOTIFICATION;
		return 0;
	}
	if (has_result == has_error || !has_id) {
		snprintf(why, whylen, "a message needs \"method\", or \"id\" with"
		    " exactly one of \"result\" and \"error\"");
		return -1;
	}
	m->id = id;
	m->kind = RPC_RESPONSE;
	return 0;
}

static struct json_object *
envelope(struct json_object *id)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	/* The id keeps its JSON type; an unreadable id is null. */
	json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
	return o;
}

struct json_object *
rpc_result(struct json_object *id, struct json_object *result)
{
	struct json_object *o = envelope(id);

	json_object_object_add(o, "result", result ? result :
	    json_object_new_object());
	return o;
}

struct json_object *
rpc_error(struct json_object *id, int code, const char *msg,
    struct json_object *data)
{
	struct json_object *o = envelope(id), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	if (data != NULL)
		json_object_object_add(e, "data", data);
	json_object_object_add(o, "error", e);
	return o;
}

struct json_object *
rpc_notification(const char *method, struct json_object *params)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "method", json_object_new_string(method));
	if (params != NULL)
		json_object_object_add(o, "params", params);
	return o;
}

const char *
rpc_string(struct json_object *o)
{
	size_t len;

	return rpc_string_len(o, &len);
}

const char *
rpc_string_len(struct json_object *o, size_t *len)
{
	return json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
