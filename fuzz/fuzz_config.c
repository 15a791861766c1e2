/* The YAML configuration loader, from bytes (relative paths against /tmp). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char err[1024];

	c = conf_load_buffer((const char *)data, size, "fuzz.yaml", "/tmp", err,
	    sizeof(err));
	conf_free(c);
	return 0;
}
