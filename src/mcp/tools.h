/*
 * The tool registry: one table of tools, each with its name, title,
 * description, input and output JSON Schemas, annotations, aliases and a
 * handler.  Tools register themselves from the modules that build their
 * engines; the protocol code only lists, finds and calls.
 */
#ifndef PCM_TOOLS_H
#define PCM_TOOLS_H

#include <json-c/json.h>

struct tool_call;

/*
 * A handler answers through tool_call_done (now or later).  args is an
 * object (missing arguments arrive as {}).
 */
typedef void	(*tool_handler)(struct tool_call *, struct json_object *args);

struct tool {
	const char	*name;
	const char	*title;
	const char	*description;
	const char	*input_schema;		/* JSON text */
	const char	*output_schema;		/* JSON text or NULL */
	int		 read_only;
	int		 idempotent;
	int		 open_world;
	int		 notifies;	/* may send progress or log messages */
	int		 requires_client;	/* MCP_CLIENT_* capabilities it needs */
	int		 cacheable;	/* answers depend only on the arguments
					 * and the inputs they name: shared cache */
	int		 cost_query;	/* counted in pulumicost_cost_queries_total */
	const char *const *aliases;		/* NULL-terminated, or NULL */
	tool_handler	 handler;
};

int		 tools_register(const struct tool *);
const struct tool *tools_find(const char *name);	/* by name or alias */
size_t		 tools_count(void);
const struct tool *tools_at(size_t i);
/*
 * Check arguments against the tool's inputSchema: 0, or -1 with a message
 * naming the argument (the schema is parsed once and kept).
 */
int		 tool_check_args(const struct tool *, struct json_object *args,
		    char *why, size_t whylen);
/* The parsed inputSchema, kept by the registry (borrowed). */
struct json_object *tool_input_schema(const struct tool *);
/* A tools/list entry: a shared reference (built once), not to be changed. */
struct json_object *tool_describe(const struct tool *);

#endif
