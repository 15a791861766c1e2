/* Pricing specs (JSON or YAML) checked against the PulumiCost schema. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/cost/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec_book *b = spec_book_new();
	char err[1024];

	if (b == NULL)
		return 0;
	(void)spec_parse(b, (const char *)data, size, "fuzz.yaml", err, sizeof(err));
	spec_book_free(b);
	return 0;
}
