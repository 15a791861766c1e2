/* Pulumi ingest: `pulumi preview --json` and `pulumi stack export` documents. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/cost/pulumi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];

	pulumi_free(pulumi_parse((const char *)data, size, err, sizeof(err)));
	return 0;
}
