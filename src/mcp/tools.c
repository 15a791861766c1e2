#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/util.h"
#include "schema.h"
#include "tools.h"

#define MAX_TOOLS	64

static const struct tool *registry[MAX_TOOLS];
static struct json_object *schemas[MAX_TOOLS];	/* parsed inputSchema */
static size_t ntools;

int
tools_register(const struct tool *t)
{
	size_t i;

	for (i = 0; i < ntools; i++)
		if (strcmp(registry[i]->name, t->name) == 0)
			return -1;
	if (ntools == MAX_TOOLS)
		return -1;
	if ((schemas[ntools] = json_tokener_parse(t->input_schema)) == NULL) {
		logmsg(LOG_ALERT, "tool %s: its inputSchema is not JSON", t->name);
		return -1;
	}
	registry[ntools++] = t;
	return 0;
}

const struct tool *
tools_find(const char *name)
{
	size_t i, j;

	for (i = 0; i < ntools; i++) {
		if (strcmp(registry[i]->name, name) == 0)
			return registry[i];
		for (j = 0; registry[i]->aliases && registry[i]->aliases[j]; j++)
			if (strcmp(registry[i]->aliases[j], name) == 0)
				return registry[i];
	}
	return NULL;
}

size_t
tools_count(void)
{
	return ntools;
}

const struct tool *
tools_at(size_t i)
{
	return i < ntools ? registry[i] : NULL;
}

struct json_object *
tool_describe(const struct tool *t)
{
	struct json_object *o = json_object_new_object(), *a;

	json_object_object_add(o, "name", json_object_new_string(t->name));
	if (t->title)
		json_object_object_add(o, "title", json_object_new_string(t->title));
	json_object_object_add(o, "description",
	    json_object_new_string(t->description));
	/* Schemas are kept verbatim ($schema, $defs, additionalProperties). */
	json_object_object_add(o, "inputSchema",
	    json_tokener_parse(t->input_schema));
	if (t->output_schema)
		json_object_object_add(o, "outputSchema",
		    json_tokener_parse(t->output_schema));
	a = json_object_new_object();
	if (t->title)
		json_object_object_add(a, "title", json_object_new_string(t->title));
	json_object_object_add(a, "readOnlyHint", json_object_new_boolean(t->read_only));
	json_object_object_add(a, "destructiveHint", json_object_new_boolean(0));
	json_object_object_add(a, "idempotentHint", json_object_new_boolean(t->idempotent));
	json_object_object_add(a, "openWorldHint", json_object_new_boolean(t->open_world));
	json_object_object_add(o, "annotations", a);
	return o;
}

int
tool_check_args(const struct tool *t, struct json_object *args, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < ntools; i++)
		if (registry[i] == t)
			return schema_validate(schemas[i], args, why, whylen);
	return 0;
}
