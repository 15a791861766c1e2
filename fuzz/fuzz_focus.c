/* The FOCUS CSV parser: header mapping, RFC 4180 quoting, the Tags JSON. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/cost/focus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct focus_store *s = focus_store_new();
	char err[1024];

	if (s == NULL)
		return 0;
	(void)focus_load_buffer(s, "fuzz.csv", (const char *)data, size, err, sizeof(err));
	focus_store_free(s);
	return 0;
}
