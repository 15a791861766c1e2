/*
 * Tools that exist only in builds configured with --enable-test-hooks,
 * so the test suite can drive tools/call end to end before the cost tools
 * exist.  Never compiled into production builds.
 */
#include "config.h"

#ifdef PCM_TEST_HOOKS

#include <string.h>

#include "mcp.h"
#include "test_tools.h"
#include "tools.h"

static void
echo(struct tool_call *c, struct json_object *args)
{
	struct json_object *o, *fail;

	if (json_object_object_get_ex(args, "fail", &fail) &&
	    json_object_get_boolean(fail)) {
		tool_call_fail(c, "failing as asked");
		return;
	}
	o = json_object_new_object();
	tool_call_log(c, "info", "echoing");
	tool_call_progress(c, 1, 2, "half way");
	tool_call_progress(c, 2, 2, "done");
	json_object_object_add(o, "echo", json_object_get(args));
	tool_call_done(c, o, NULL);
}

static const char *const echo_aliases[] = { "test_echo_alias", NULL };

static const struct tool echo_tool = {
	.name = "test_echo",
	.title = "Echo (test build only)",
	.description = "Returns its arguments as structured content.",
	.input_schema = "{\"type\":\"object\",\"properties\":{\"fail\":{\"type\":\"boolean\"}}}",
	.output_schema = "{\"type\":\"object\",\"properties\":{\"echo\":{\"type\":\"object\"}},\"required\":[\"echo\"]}",
	.read_only = 1,
	.idempotent = 1,
	.notifies = 1,
	.aliases = echo_aliases,
	.handler = echo,
};

void
test_tools_register(void)
{
	tools_register(&echo_tool);
}

#endif
