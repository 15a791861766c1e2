/* W3C traceparent, from the HTTP header and MCP params._meta. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_ctx c;
	char *s, out[64];

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (trace_parse(s, &c) == 0) {
		trace_format(&c, out, sizeof(out));
		if (strlen(out) != 55)
			abort();	/* what we parse we print back in the 00 form */
	}
	free(s);
	return 0;
}
