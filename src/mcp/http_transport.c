#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/util.h"
#include "http_transport.h"
#include "../net/cors.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "session.h"
#include "tools.h"

#define MAX_BATCH	100

static const struct conf *cf;
static struct shm *sessions;

void
mcp_http_init(const struct conf *c, struct shm *sess)
{
	cf = c;
	sessions = sess;
}

/*
 * One HTTP request's worth of JSON-RPC: a single message or a batch.
 * It owns the session used by the request (session-less mode) and lives
 * until the last response due has been sent.
 */
struct exchange {
	struct http_request	*req;
	struct mcp_session	 session;
	struct json_object	*batch;		/* responses, when a batch */
	int			 pending;	/* responses still due */
	int			 started;	/* dispatching is over */
	int			 sse;		/* answering as an event stream */
	int			 may_stream;	/* switch to SSE at the first notification */
	unsigned		 events;	/* SSE event ids sent */
	char			 sid[SESSION_ID_LEN + 1];	/* Mcp-Session-Id */
	int			 new_session;	/* initialize without a session */
	int			 modern;	/* a 2026-07-28 request */
};

/* --- SSE ------------------------------------------------------------------ */

static void
sse_event(struct exchange *x, struct json_object *msg)
{
	char head[128];
	size_t n, len = 0;
	const char *data = msg ? rpc_string_len(msg, &len) : "";

	/* Ids are unique per stream: the request id and a sequence. */
	n = (size_t)snprintf(head, sizeof(head), "%sid: %s-%u\ndata: ",
	    msg ? "event: message\n" : "", x->req->request_id, x->events++);
	http_stream_write(x->req, head, n);
	http_stream_write(x->req, data, len);
	http_stream_write(x->req, "\n\n", 2);
}

static void
sse_start(struct exchange *x)
{
	x->sse = 1;
	http_add_header(x->req, "Cache-Control", "no-cache, no-transform");
	/* nginx and other proxies must not buffer the stream. */
	http_add_header(x->req, "X-Accel-Buffering", "no");
	http_stream_start(x->req, 200, "text/event-stream");
	sse_event(x, NULL);	/* priming event: an id and empty data */
}

/*
 * The stream starts with the first notification: a call that ends before
 * notifying (or fails at once) is answered as plain JSON, with the HTTP
 * status its error deserves.
 */
static void
on_notify(void *arg, struct json_object *note)
{
	struct exchange *x = arg;

	if (!x->sse && x->may_stream)
		sse_start(x);
	if (x->sse)
		sse_event(x, note);
	json_object_put(note);
}

static const char *
transport_of(const struct http_request *r)
{
	return r->route != NULL && strcmp(r->route, "/rpc") == 0 ? "rpc" : "http";
}

/* A transport-level JSON-RPC error: no id could be trusted. */
static void
send_rpc_error(struct http_request *r, int status, int code, const char *msg)
{
	mcp_count_error(transport_of(r), code);
	http_reply_json(r, status, rpc_error(NULL, code, msg, NULL));
}

/* An error about a request whose id could be read: it carries that id. */
static void
send_rpc_error_for(struct http_request *r, struct json_object *o, int status,
    int code, const char *msg)
{
	struct json_object *id = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, "id", &id);
	if (id != NULL && !json_object_is_type(id, json_type_string) &&
	    !json_object_is_type(id, json_type_int))
		id = NULL;
	mcp_count_error(transport_of(r), code);
	http_reply_json(r, status, rpc_error(id, code, msg, NULL));
}

/* 2026-07-28 gives JSON-RPC errors HTTP statuses of their own. */
static int
modern_status(struct json_object *resp)
{
	struct json_object *e, *c;
	int code;

	if (!json_object_object_get_ex(resp, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return 200;
	code = json_object_get_int(c);
	if (code == RPC_METHOD_NOT_FOUND)
		return 404;
	if (code == RPC_INVALID_PARAMS || code == RPC_INVALID_REQUEST ||
	    code == MCP_ERR_HEADER_MISMATCH || code == MCP_ERR_MISSING_CAP ||
	    code == MCP_ERR_UNSUPPORTED_VER)
		return 400;
	return 200;
}

#define HEADER_VALUE_MAX	4096

/*
 * A header value as SEP-2243 encodes it: "=?base64?...?=" carries Base64
 * (for values that are not plain ASCII); anything else is literal.
 * 0 with the value in out, or -1 when the Base64 is invalid or too long.
 */
static int
header_decode(const char *raw, char *out, size_t outlen)
{
	size_t n = strlen(raw);
	ssize_t d;

	if (n >= 11 && strncmp(raw, "=?base64?", 9) == 0 &&
	    strcmp(raw + n - 2, "?=") == 0) {
		if ((d = base64_decode(raw + 9, n - 11, out, outlen - 1)) == -1 ||
		    memchr(out, '\0', (size_t)d) != NULL)
			return -1;
		out[d] = '\0';
		return 0;
	}
	return strlcpy_(out, raw, outlen) < outlen ? 0 : -1;
}

/*
 * Does the header carry the value the body has?  NULL when it does, or
 * what is wrong, for a -32020 error.
 */
static const char *
header_mismatch(struct http_request *r, const char *hdr, struct json_object *v,
    char *msg, size_t msglen)
{
	const char *raw = http_header(r, hdr);
	char val[HEADER_VALUE_MAX], *end;
	int same;

	if (raw == NULL)
		snprintf(msg, msglen, "the %s header is required", hdr);
	else if (header_decode(raw, val, sizeof(val)) == -1)
		snprintf(msg, msglen, "the %s header is not valid Base64", hdr);
	else {
		if (json_object_is_type(v, json_type_string))
			same = strcmp(val, json_object_get_string(v)) == 0;
		else if (json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double)) {
			double d = strtod(val, &end);

			same = end != val && *end == '\0' &&
			    fabs(d - json_object_get_double(v)) <= 1e-9;
		} else if (json_object_is_type(v, json_type_boolean))
			same = strcmp(val, json_object_get_boolean(v) ?
			    "true" : "false") == 0;
		else
			same = 0;
		if (same)
			return NULL;
		snprintf(msg, msglen, "the %s header does not match the body", hdr);
	}
	return msg;
}

/*
 * Arguments whose schema says "x-mcp-header": NAME are mirrored in
 * Mcp-Param-NAME (SEP-2243), so proxies can route on them: the header and
 * the body must agree, and one without the other is a mismatch.
 */
static const char *
param_header_mismatch(struct http_request *r, struct json_object *params,
    char *msg, size_t msglen)
{
	struct json_object *name, *schema, *props, *h, *args = NULL, *v;
	const struct tool *t;
	char hdr[128];

	if (!json_object_object_get_ex(params, "name", &name) ||
	    (t = tools_find(json_object_get_string(name))) == NULL ||
	    (schema = tool_input_schema(t)) == NULL ||
	    !json_object_object_get_ex(schema, "properties", &props) ||
	    !json_object_is_type(props, json_type_object))
		return NULL;
	json_object_object_get_ex(params, "arguments", &args);
	json_object_object_foreach(props, k, ps) {
		if (!json_object_is_type(ps, json_type_object) ||
		    !json_object_object_get_ex(ps, "x-mcp-header", &h) ||
		    !json_object_is_type(h, json_type_string))
			continue;
		snprintf(hdr, sizeof(hdr), "Mcp-Param-%s", json_object_get_string(h));
		v = NULL;
		if (json_object_is_type(args, json_type_object))
			json_object_object_get_ex(args, k, &v);
		if (v == NULL || json_object_is_type(v, json_type_null)) {
			if (http_header(r, hdr) == NULL)
				continue;
			snprintf(msg, msglen, "the %s header is sent but"
			    " arguments.%s is not", hdr, k);
			return msg;
		}
		if (header_mismatch(r, hdr, v, msg, msglen) != NULL)
			return msg;
	}
	return NULL;
}

/*
 * A 2026-07-28 request (modern _meta in the body, or the header naming
 * that revision) is served statelessly: Mcp-Session-Id is ignored, and the
 * Mcp-Method and Mcp-Name headers must match the body.  0 to go on.
 */
static int
modern_checks(struct http_request *r, struct json_object *o, struct exchange *x)
{
	const char *hv = http_header(r, "MCP-Protocol-Version");
	const char *hm = http_header(r, "Mcp-Method");
	struct json_object *meth, *params, *name = NULL, *meta;
	char msg[256];
	int header_modern = hv != NULL && strcmp(hv, MCP_MODERN_VERSION) == 0;
	int body_modern = 0;

	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "params", &params) &&
	    json_object_is_type(params, json_type_object) &&
	    json_object_object_get_ex(params, "_meta", &meta) &&
	    json_object_is_type(meta, json_type_object) &&
	    json_object_object_get_ex(meta, MCP_META_VERSION, NULL))
		body_modern = 1;
	if (!header_modern && !body_modern)
		return 0;
	x->modern = 1;
	if (!json_object_is_type(o, json_type_object)) {
		send_rpc_error(r, 400, RPC_INVALID_REQUEST, "batches do not exist in"
		    " protocol version 2026-07-28");
		return -1;
	}
	if (!json_object_object_get_ex(o, "method", &meth))
		return 0;	/* a response or something invalid: classified later */
	if (!body_modern && json_object_object_get_ex(o, "id", NULL)) {
		send_rpc_error_for(r, o, 400, RPC_INVALID_PARAMS, "params._meta needs"
		    " io.modelcontextprotocol/protocolVersion");
		return -1;
	}
	if (body_modern) {
		struct json_object *bv;

		json_object_object_get_ex(meta, MCP_META_VERSION, &bv);
		if (hv != NULL && (!json_object_is_type(bv, json_type_string) ||
		    strcmp(hv, json_object_get_string(bv)) != 0)) {
			send_rpc_error_for(r, o, 400, MCP_ERR_HEADER_MISMATCH, "the"
			    " MCP-Protocol-Version header does not match"
			    " params._meta");
			return -1;
		}
	}
	if (hm == NULL || strcmp(hm, json_object_get_string(meth)) != 0) {
		send_rpc_error_for(r, o, 400, MCP_ERR_HEADER_MISMATCH, hm == NULL ?
		    "the Mcp-Method header is required" :
		    "the Mcp-Method header does not match the body");
		return -1;
	}
	if (!json_object_object_get_ex(o, "params", &params) ||
	    !json_object_is_type(params, json_type_object))
		return 0;
	if (strcmp(hm, "resources/read") == 0)
		json_object_object_get_ex(params, "uri", &name);
	else if (strcmp(hm, "tools/call") == 0 || strcmp(hm, "prompts/get") == 0)
		json_object_object_get_ex(params, "name", &name);
	if ((name != NULL && header_mismatch(r, "Mcp-Name", name, msg,
	    sizeof(msg)) != NULL) || (strcmp(hm, "tools/call") == 0 &&
	    param_header_mismatch(r, params, msg, sizeof(msg)) != NULL)) {
		send_rpc_error_for(r, o, 400, MCP_ERR_HEADER_MISMATCH, msg);
		return -1;
	}
	return 0;
}

static void
exchange_finish(struct exchange *x)
{
	if (x->pending > 0 || !x->started)
		return;
	if (x->batch != NULL) {
		if (json_object_array_length(x->batch) == 0) {
			json_object_put(x->batch);
			http_reply(x->req, 202, NULL, NULL, 0);
		} else
			http_reply_json(x->req, 200, x->batch);
	}
	free(x);
}

static void
on_respond(void *arg, struct json_object *resp)
{
	struct exchange *x = arg;

	x->pending--;
	if (resp == NULL) {
		/* Cancelled: no response; close what was open for it. */
		if (x->batch == NULL) {
			if (x->sse)
				http_stream_end(x->req);
			else
				http_reply(x->req, 204, NULL, NULL, 0);
		}
		exchange_finish(x);
		return;
	}
	if (x->new_session && !json_object_object_get_ex(resp, "error", NULL)) {
		/* A successful initialize opens a session (shared memory). */
		if (session_create(sessions, &x->session, cf->session_timeout,
		    x->sid) == 0 && strlcpy_(x->session.sid, x->sid,
		    sizeof(x->session.sid)) > 0)
			http_add_header(x->req, "Mcp-Session-Id", x->sid);
		else
			logmsg(LOG_ERROR, "cannot store a new MCP session");
		x->new_session = 0;
	}
	if (x->batch != NULL)
		json_object_array_add(x->batch, resp);
	else if (x->sse) {
		sse_event(x, resp);
		json_object_put(resp);
		http_stream_end(x->req);
	} else
		http_reply_json(x->req, x->modern ? modern_status(resp) : 200, resp);
	exchange_finish(x);
}

/*
 * /rpc: a method that names a tool is a tools/call of it, with params as
 * its arguments ({"method":"analyze_projected_costs","params":{...}}).
 */
static struct json_object *
tool_as_method(struct json_object *o, const struct rpc_msg *m)
{
	struct json_object *n, *p;

	if (m->kind != RPC_REQUEST || tools_find(m->method) == NULL)
		return NULL;
	n = json_object_new_object();
	json_object_object_add(n, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(n, "id", json_object_get(m->id));
	json_object_object_add(n, "method", json_object_new_string("tools/call"));
	p = json_object_new_object();
	json_object_object_add(p, "name", json_object_new_string(m->method));
	json_object_object_add(p, "arguments", m->params &&
	    json_object_is_type(m->params, json_type_object) ?
	    json_object_get(m->params) : json_object_new_object());
	json_object_object_add(n, "params", p);
	(void)o;
	return n;
}

/* Dispatch one element; an invalid one answers with an error response. */
static void
dispatch_one(struct exchange *x, struct json_object *o, int rpc)
{
	struct mcp_io io = { on_notify, on_respond, x, rpc ? "rpc" : "http",
	    &x->req->span.ctx, x->req->request_id, x->req->user };
	struct json_object *alias = NULL;
	struct rpc_msg m;
	char why[256];
	int code;

	if (rpc_classify(o, &m, &code, why, sizeof(why)) == -1) {
		mcp_count_error(rpc ? "rpc" : "http", code);
		x->pending++;
		on_respond(x, rpc_error(NULL, code, why, NULL));
		return;
	}
	if (rpc && m.kind == RPC_REQUEST && strcmp(m.method, "tools/call") != 0 &&
	    (alias = tool_as_method(o, &m)) != NULL)
		rpc_classify(alias, &m, &code, why, sizeof(why));
	x->pending++;
	if (mcp_dispatch(&x->session, x->sid[0] ? MCP_STATEFUL : MCP_SESSIONLESS,
	    &m, &io) == 0)
		x->pending--;
	json_object_put(alias);
}

static int
header_has(const struct http_request *r, const char *name, const char *token)
{
	const char *v = http_header(r, name);

	return v != NULL && strcasestr(v, token) != NULL;
}

/*
 * JSON unless the request may produce notifications: a tools/call with a
 * progress token, or of a tool that reports progress or logs, from a
 * client that accepts an event stream.
 */
static int
wants_stream(const struct http_request *r, const struct rpc_msg *m)
{
	struct json_object *name, *meta;
	const struct tool *t;

	if (m->kind != RPC_REQUEST || strcmp(m->method, "tools/call") != 0 ||
	    !header_has(r, "Accept", "text/event-stream") ||
	    m->params == NULL || !json_object_is_type(m->params, json_type_object))
		return 0;
	if (json_object_object_get_ex(m->params, "_meta", &meta) &&
	    json_object_object_get_ex(meta, "progressToken", NULL))
		return 1;
	return json_object_object_get_ex(m->params, "name", &name) &&
	    (t = tools_find(json_object_get_string(name))) != NULL && t->notifies;
}

/* --- DNS rebinding protection ---------------------------------------------- */

static int
is_local_host(const char *h, size_t n)
{
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0);
}

/* Length of the host part of "host[:port]" (IPv6 in brackets). */
static size_t
host_len(const char *h)
{
	const char *e;

	if (*h == '[')
		return (e = strchr(h, ']')) ? (size_t)(e - h + 1) : strlen(h);
	return (e = strchr(h, ':')) ? (size_t)(e - h) : strlen(h);
}

static int
host_allowed(const char *host)
{
	size_t i, n = host_len(host);

	if (cf == NULL || cf->allowed_hosts.n == 0)
		return is_local_host(host, n);
	for (i = 0; i < cf->allowed_hosts.n; i++) {
		const char *a = cf->allowed_hosts.v[i];

		if (strcmp(a, "*") == 0 || strcasecmp(a, host) == 0 ||
		    (strlen(a) == n && strncasecmp(a, host, n) == 0))
			return 1;
	}
	return 0;
}

static int
origin_allowed(const char *origin)
{
	const char *h = strstr(origin, "://");
	size_t i;

	if (cf != NULL && cors_origin_allowed(cf, origin))
		return 1;
	if (cf != NULL && cf->allowed_origins.n > 0) {
		for (i = 0; i < cf->allowed_origins.n; i++)
			if (strcmp(cf->allowed_origins.v[i], "*") == 0 ||
			    strcasecmp(cf->allowed_origins.v[i], origin) == 0)
				return 1;
		return 0;
	}
	return h != NULL && is_local_host(h + 3, host_len(h + 3));
}

/* 0 when the request may go on; otherwise a 403 was sent. */
static int
check_origin(struct http_request *r)
{
	const char *host = http_header(r, "Host"), *origin = http_header(r, "Origin");

	if (host != NULL && !host_allowed(host)) {
		send_rpc_error(r, 403, -32000, "Forbidden: Host is not allowed"
		    " (mcp.allowed_hosts)");
		return -1;
	}
	if (origin != NULL && !origin_allowed(origin)) {
		send_rpc_error(r, 403, -32000, "Forbidden: Origin is not allowed"
		    " (mcp.allowed_origins)");
		return -1;
	}
	return 0;
}

static int
content_type_is_json(const struct http_request *r, int lenient)
{
	const char *ct = http_header(r, "Content-Type");

	if (ct == NULL)
		return lenient;
	if (strncasecmp(ct, "application/json", 16) == 0 &&
	    (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' '))
		return 1;
	/* curl -d sends this by default; the seed's runbook uses it on /rpc. */
	return lenient && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

static void
serve(struct http_request *r, int rpc)
{
	struct json_object *o;
	struct exchange *x;
	char why[256];
	size_t i, n;

	if ((o = rpc_parse(r->body, r->body_len, why, sizeof(why))) == NULL) {
		send_rpc_error(r, 400, RPC_PARSE_ERROR, why);
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		json_object_put(o);
		send_rpc_error(r, 500, RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	x->req = r;
	mcp_session_init(&x->session);
	if (!rpc && modern_checks(r, o, x) != 0) {
		json_object_put(o);
		free(x);
		return;
	}
	if (!rpc && !x->modern) {
		const char *v = http_header(r, "MCP-Protocol-Version");

		if (v != NULL && !mcp_version_supported(v)) {
			char msg[256];

			/* 400 with a legacy-format body, so newer clients fall back. */
			snprintf(msg, sizeof(msg), "Bad Request: Unsupported protocol"
			    " version: %.32s (supported versions: %s)", v,
			    mcp_supported_list());
			json_object_put(o);
			free(x);
			send_rpc_error(r, 400, -32000, msg);
			return;
		}
	}
	if (!rpc && !x->modern) {
		const char *v = http_header(r, "MCP-Protocol-Version");
		const char *sid = http_header(r, "Mcp-Session-Id");

		if (sid != NULL) {
			int found = session_load(sessions, sid, &x->session,
			    cf->session_timeout);

			if (found != 1) {
				json_object_put(o);
				free(x);
				send_rpc_error(r, 404, -32001, "Session not found");
				return;
			}
			strlcpy_(x->sid, sid, sizeof(x->sid));
		} else
			/* Without the header the spec says to assume 2025-03-26. */
			strlcpy_(x->session.version, v ? v : "2025-03-26",
			    sizeof(x->session.version));
		if (sid == NULL && json_object_is_type(o, json_type_object)) {
			struct json_object *meth;

			x->new_session = json_object_object_get_ex(o, "method",
			    &meth) && json_object_object_get_ex(o, "id", NULL) &&
			    strcmp(json_object_get_string(meth), "initialize") == 0;
		}
	}
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		/* Batches exist in JSON-RPC, and in MCP only in 2025-03-26. */
		if ((!rpc && strcmp(x->session.version, "2025-03-26") != 0) ||
		    n == 0 || n > MAX_BATCH) {
			json_object_put(o);
			free(x);
			send_rpc_error(r, 400, RPC_INVALID_REQUEST, n == 0 ?
			    "empty batch" : n > MAX_BATCH ? "batch of more than"
			    " 100 messages" : "batches are only allowed in"
			    " protocol version 2025-03-26");
			return;
		}
		x->batch = json_object_new_array();
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(o, i);
			struct json_object *meth;

			if (!rpc && json_object_is_type(e, json_type_object) &&
			    json_object_object_get_ex(e, "method", &meth) &&
			    strcmp(json_object_get_string(meth), "initialize") == 0) {
				x->pending++;
				mcp_count_error("http", RPC_INVALID_REQUEST);
				on_respond(x, rpc_error(NULL, RPC_INVALID_REQUEST,
				    "initialize must not be part of a batch", NULL));
				continue;
			}
			dispatch_one(x, e, rpc);
		}
		json_object_put(o);
		x->started = 1;
		exchange_finish(x);
		return;
	}
	{
		struct rpc_msg m;
		int code;

		if (rpc_classify(o, &m, &code, why, sizeof(why)) == -1) {
			json_object_put(o);
			free(x);
			send_rpc_error(r, 400, code, why);
			return;
		}
		x->started = 1;
		if (!rpc && wants_stream(r, &m))
			x->may_stream = 1;
		if (x->sid[0]) {
			/* Keep what this message changed (level, initialized). */
			char sid[SESSION_ID_LEN + 1];
			struct mcp_session before = x->session;

			strlcpy_(sid, x->sid, sizeof(sid));
			x->pending++;	/* hold x across the dispatch */
			dispatch_one(x, o, rpc);
			if (memcmp(&before, &x->session, sizeof(before)) != 0)
				session_store(sessions, sid, &x->session,
				    cf->session_timeout);
			x->pending--;
			if (m.kind == RPC_REQUEST)
				exchange_finish(x);
		} else
			dispatch_one(x, o, rpc);
		json_object_put(o);
		if (m.kind != RPC_REQUEST) {
			/* A notification or a client response: accepted. */
			http_reply(r, rpc ? 204 : 202, NULL, NULL, 0);
			free(x);
		}
	}
}

void
mcp_http_endpoint(struct http_request *r)
{
	if (check_origin(r) == -1)
		return;
	if (strcmp(r->method, "DELETE") == 0) {
		const char *sid = http_header(r, "Mcp-Session-Id");

		if (sid == NULL)
			send_rpc_error(r, 400, -32000, "Bad Request:"
			    " Mcp-Session-Id header is required");
		else if (session_delete(sessions, sid) != 1)
			send_rpc_error(r, 404, -32001, "Session not found");
		else
			http_reply(r, 204, NULL, NULL, 0);
		return;
	}
	if (strcmp(r->method, "POST") != 0) {
		/* No server-initiated stream is offered. */
		http_add_header(r, "Allow", "POST, DELETE");
		send_rpc_error(r, 405, -32000, "Method not allowed: use POST");
		return;
	}
	if (!header_has(r, "Accept", "application/json") &&
	    !header_has(r, "Accept", "*/*") &&
	    !header_has(r, "Accept", "application/*")) {
		send_rpc_error(r, 406, -32000, "Not Acceptable: the client must"
		    " accept application/json and text/event-stream");
		return;
	}
	if (!content_type_is_json(r, 0)) {
		send_rpc_error(r, 415, -32000, "Unsupported Media Type: the body"
		    " must be application/json");
		return;
	}
	serve(r, 0);
}

void
mcp_http_rpc(struct http_request *r)
{
	if (check_origin(r) == -1)
		return;
	if (strcmp(r->method, "POST") != 0) {
		http_add_header(r, "Allow", "POST");
		send_rpc_error(r, 405, -32000, "Method not allowed: use POST");
		return;
	}
	if (!content_type_is_json(r, 1)) {
		send_rpc_error(r, 415, -32000, "Unsupported Media Type: the body"
		    " must be JSON");
		return;
	}
	serve(r, 1);
}
