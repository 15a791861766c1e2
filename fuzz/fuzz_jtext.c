/*
 * jtext against json-c's strict tokener (differential): whatever jtext
 * takes, json-c takes as the same value, and jtext_check (nothing built)
 * says what jtext_parse says, to the byte, as does jtext_parse on its SSE2
 * path where the processor has AVX-512.  A disagreement aborts.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/jtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *a, *b, *n;
	struct json_tokener *tok;
	struct jtext_error e, ce, ne;
	size_t used, cused, nused;
	char *buf;
	int pa, ca, na, wide;

	pa = jtext_parse((const char *)data, size, JTEXT_MAX_DEPTH, &a, &used, &e);
	ca = jtext_check((const char *)data, size, JTEXT_MAX_DEPTH, &cused, &ce);
	if (pa != ca || (pa == 0 && used != cused) || (pa == -1 && (e.at != ce.at ||
	    e.incomplete != ce.incomplete || strcmp(e.what, ce.what) != 0)))
		abort();
	if ((wide = jtext_wide(0)) != 0) {
		na = jtext_parse((const char *)data, size, JTEXT_MAX_DEPTH, &n, &nused, &ne);
		jtext_wide(1);
		if (na != pa || (pa == 0 && (nused != used || !json_object_equal(a, n))) ||
		    (pa == -1 && (e.at != ne.at || strcmp(e.what, ne.what) != 0)))
			abort();
		json_object_put(n);
	}
	if (pa == -1)
		return 0;
	/* json-c over the same value (a space ends a number for it). */
	if ((buf = malloc(used + 1)) == NULL)
		abort();
	memcpy(buf, data, used);
	buf[used] = ' ';
	tok = json_tokener_new_ex(JTEXT_MAX_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	b = json_tokener_parse_ex(tok, buf, (int)used + 1);
	if (json_tokener_get_error(tok) != json_tokener_success || !json_object_equal(a, b) ||
	    strcmp(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
	    json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN)) != 0)
		abort();
	json_tokener_free(tok);
	json_object_put(a);
	json_object_put(b);
	free(buf);
	return 0;
}
