/*
 * MCP, independent of the transport: lifecycle and version negotiation,
 * ping, logging/setLevel, tools/list with cursors, tools/call, and the
 * notifications a request may produce (progress, log messages).
 */
#ifndef PCM_MCP_H
#define PCM_MCP_H

#include <json-c/json.h>

#include "../core/trace.h"
#include "jsonrpc.h"

#define MCP_LATEST_VERSION	"2025-11-25"	/* of the stateful revisions */
#define MCP_MODERN_VERSION	"2026-07-28"	/* stateless, per-request _meta */
#define MCP_META_VERSION	"io.modelcontextprotocol/protocolVersion"
#define MCP_ERR_HEADER_MISMATCH	-32020
#define MCP_ERR_MISSING_CAP	-32021
#define MCP_ERR_UNSUPPORTED_VER	-32022

enum mcp_mode {
	MCP_STATEFUL,		/* one session (stream connection, HTTP session) */
	MCP_SESSIONLESS		/* /rpc and session-less /mcp: every request stands alone */
};

#define MCP_CLIENT_SAMPLING	0x1
#define MCP_CLIENT_ELICITATION	0x2
#define MCP_CLIENT_ROOTS	0x4

struct mcp_session {
	char		 sid[40];	/* HTTP session id, or "" (not stored) */
	char		 version[16];	/* negotiated; "" before initialize */
	int		 client_caps;	/* MCP_CLIENT_* the client declared */
	int		 initialized;	/* initialize answered */
	int		 ready;		/* notifications/initialized seen */
	int		 log_level;	/* MCP level index; -1 until set */
	char		 client[64];	/* clientInfo.name */
};

/*
 * Where a request's messages go.  notify may be NULL (they are dropped).
 * respond gets NULL when the request was cancelled: nothing is due.
 */
struct mcp_io {
	void		(*notify)(void *arg, struct json_object *note);
	void		(*respond)(void *arg, struct json_object *resp);
	void		*arg;
	const char	*transport;	/* metrics label: http, rpc, socket */
	const struct trace_ctx *trace;	/* the transport's span, or NULL */
	const char	*request_id;	/* HTTP: for the log; NULL otherwise */
	const char	*user;		/* the authenticated identity, or NULL */
};

/* A JSON-RPC error answered before dispatch (parse errors, batches). */
void		 mcp_count_error(const char *transport, int code);

void		 mcp_session_init(struct mcp_session *);
/*
 * Handle one classified message.  Returns 1 when a response will be
 * delivered through io->respond (now or later), 0 when none is due
 * (a notification or a client response).  Ownership of what is passed to
 * notify and respond goes to the callee.
 */
int		 mcp_dispatch(struct mcp_session *, enum mcp_mode,
		    const struct rpc_msg *, const struct mcp_io *);
int		 mcp_version_supported(const char *);	/* stateful revisions */
/* Does this request carry 2026-07-28 per-request metadata? */
int		 mcp_is_modern(const struct rpc_msg *);
const char	*mcp_supported_list(void);

struct event_base;
struct shm;
/*
 * Where answers to our requests to clients (sampling, elicitation) meet
 * the call that waits for them: the sessions segment, so an answer POSTed
 * to any worker reaches the worker holding the call.
 */
void		 mcp_init(struct event_base *, struct shm *sessions);
/* Items per page of tools/list (mcp.page_size). */
void		 mcp_set_page_size(size_t);

/*
 * The shared answer cache (cache.*): answers of cacheable tools, keyed by
 * the generation, the tool and its canonical arguments; a reload starts a
 * new generation and so a new key space.  ttl_named applies to answers
 * about named stacks (whose files may change), ttl to the others.
 */
void		 mcp_set_cache(struct shm *, uint32_t generation, int enabled,
		    int64_t ttl, int64_t ttl_named);

/* Conformance mode adds the fixture resources, prompts and completions. */
void		 mcp_set_conformance(int on);
int		 mcp_conformance(void);

/* --- for tool handlers ---------------------------------------------------- */
struct tool_call;
/* The general result: content blocks (consumed), structured content or NULL. */
void		 tool_call_result(struct tool_call *, struct json_object *content,
		    struct json_object *structured, int is_error);
void		 tool_call_done(struct tool_call *, struct json_object *structured,
		    const char *text);
void		 tool_call_fail(struct tool_call *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 tool_call_progress(struct tool_call *, double progress,
		    double total, const char *message);
void		 tool_call_log(struct tool_call *, const char *level,
		    const char *message);
int		 tool_call_cancelled(const struct tool_call *);

/*
 * Input from the client (MRTR, SEP-2322).  A handler that needs the
 * client's answer to a request (elicitation/create, sampling/createMessage,
 * roots/list) looks for it under a key of its own with tool_call_input;
 * when it is missing, it names the request with tool_call_need and ends
 * the round with tool_call_input_required, passing the state it wants
 * back (or NULL).  In 2026-07-28 that is an input_required result, which
 * the client answers by calling again; in the stateful revisions the
 * server asks the client on the call's stream and runs the handler again
 * with the answers.  Either way the handler is written once, and runs
 * again from the top with more input each round.
 */
struct json_object *tool_call_input(struct tool_call *, const char *key);
const char	*tool_call_state(const struct tool_call *);
int		 tool_call_client_can(const struct tool_call *, int caps);
/* Resources a call analyses (summed), for its log line and metrics. */
void		 tool_call_note_resources(struct tool_call *, size_t n);
/* The tool being called (its registered name, never an alias). */
const char	*tool_call_name(const struct tool_call *);
void		 tool_call_need(struct tool_call *, const char *key,
		    const char *method, struct json_object *params);
void		 tool_call_input_required(struct tool_call *, const char *state);

/* For the other methods that may need input (prompts/get, resources/read). */
int		 mcp_client_caps(struct json_object *capabilities);
int		 mcp_input_params(const struct rpc_msg *, const struct mcp_io *,
		    const char *scope, struct json_object **inputs, char **state);
struct json_object *mcp_input_required(struct json_object *requests,
		    const char *scope, const char *state);

#endif
