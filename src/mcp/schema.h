/*
 * Validation of tool arguments against the tool's inputSchema: the JSON
 * Schema 2020-12 keywords the tools use (type, properties, required,
 * additionalProperties, items, enum, const, numeric and length bounds,
 * minItems/maxItems, anyOf/oneOf/allOf, local $ref).  A failure is
 * reported to the model as a tool error that names the argument, as
 * revision 2025-11-25 asks, so it can correct the call.
 */
#ifndef PCM_SCHEMA_H
#define PCM_SCHEMA_H

#include <stddef.h>

#include <json-c/json.h>

/* 0 when value conforms; else -1 and a message naming the failing path. */
int	 schema_validate(struct json_object *schema, struct json_object *value,
	    char *why, size_t whylen);

/* The same, naming the value root in messages ("spec", "arguments"). */
int	 schema_validate_at(struct json_object *schema, struct json_object *value,
	    const char *root, char *why, size_t whylen);

#endif
