/*
 * Conformance mode (mcp.conformance: true, off by default): the fixture
 * tools, resources, prompts and completions the official MCP conformance
 * suite calls by name, implemented for real (notifications spaced in time
 * by timers, as the suite expects).
 */
#ifndef PCM_CONFORMANCE_H
#define PCM_CONFORMANCE_H

#include <event2/event.h>
#include <json-c/json.h>

#include "jsonrpc.h"
#include "mcp.h"

void	 conformance_register(struct event_base *);
void	 conformance_capabilities(struct json_object *caps, int modern);
int	 conformance_handles(const char *method);
int	 conformance_method(const struct rpc_msg *, const struct mcp_io *);

#endif
