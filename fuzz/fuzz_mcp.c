/*
 * MCP dispatch: a message (or a batch, in order, on one session) through
 * the JSON-RPC classifier into mcp_dispatch, on a stateful session and
 * standalone: the lifecycle rules, version negotiation, the 2026-07-28
 * _meta path, tools/list paging, logging, cancellation and client
 * responses.  No tool is registered, so no call outlives its input.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <event2/event.h>

#include "../src/core/shm.h"
#include "../src/mcp/jsonrpc.h"
#include "../src/mcp/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;

static void
drop(void *arg, struct json_object *o)
{
	(void)arg;
	json_object_put(o);
}

static void
dispatch_message(struct mcp_session *s, enum mcp_mode mode, struct json_object *o)
{
	struct mcp_io io = { drop, drop, NULL, "fuzz", NULL, NULL, NULL };
	struct rpc_msg m;
	char why[256];
	int code;

	if (rpc_classify(o, &m, &code, why, sizeof(why)) == 0)
		(void)mcp_dispatch(s, mode, &m, &io);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_session stateful, alone;
	struct json_object *o;
	char err[256];
	size_t i;

	if (base == NULL) {
		struct shm *sess;

		if ((base = event_base_new()) == NULL ||
		    (sess = shm_create(8 << 20, 16, err, sizeof(err))) == NULL)
			abort();
		mcp_init(base, sess);
	}
	if ((o = rpc_parse((const char *)data, size, err, sizeof(err))) == NULL)
		return 0;
	mcp_session_init(&stateful);
	mcp_session_init(&alone);
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o) && i < 16; i++)
			dispatch_message(&stateful, MCP_STATEFUL, json_object_array_get_idx(o, i));
	} else {
		dispatch_message(&stateful, MCP_STATEFUL, o);
		dispatch_message(&alone, MCP_SESSIONLESS, o);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	json_object_put(o);
	return 0;
}
