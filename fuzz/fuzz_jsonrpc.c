/* JSON-RPC: parse one message (or a batch) and classify each element. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/mcp/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *o;
	struct rpc_msg m;
	char why[256];
	int code;
	size_t i;

	if ((o = rpc_parse((const char *)data, size, why, sizeof(why))) == NULL)
		return 0;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			(void)rpc_classify(json_object_array_get_idx(o, i), &m, &code,
			    why, sizeof(why));
	} else
		(void)rpc_classify(o, &m, &code, why, sizeof(why));
	json_object_put(o);
	return 0;
}
