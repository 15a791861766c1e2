#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/util.h"
#include "schema.h"
#include "tools.h"

#define MAX_TOOLS	128

static const struct tool *registry[MAX_TOOLS];
static struct json_object *schemas[MAX_TOOLS];	/* parsed inputSchema */
static struct json_object *described[MAX_TOOLS];	/* tools/list entries, made once */
static size_t ntools;

/*
 * "x-mcp-header" (SEP-2243) names an HTTP header: a non-empty token, on a
 * primitive-typed property, unique regardless of case.  0, or -1 with why.
 */
static int
check_header_params(struct json_object *schema, char *why, size_t whylen)
{
	static const char *const prim[] = { "string", "integer", "number",
	    "boolean", NULL };
	struct json_object *props, *h, *type;
	const char *seen[32], *name;
	size_t nseen = 0, i;

	if (!json_object_object_get_ex(schema, "properties", &props) ||
	    !json_object_is_type(props, json_type_object))
		return 0;
	json_object_object_foreach(props, k, ps) {
		if (!json_object_is_type(ps, json_type_object) ||
		    !json_object_object_get_ex(ps, "x-mcp-header", &h))
			continue;
		name = json_object_get_string(h);
		if (!json_object_is_type(h, json_type_string) || name[0] == '\0' ||
		    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789!#$%&'*+-.^_`|~") != strlen(name)) {
			snprintf(why, whylen, "%s: x-mcp-header must be a header"
			    " name token", k);
			return -1;
		}
		type = NULL;
		json_object_object_get_ex(ps, "type", &type);
		for (i = 0; prim[i] != NULL; i++)
			if (type != NULL && strcmp(json_object_get_string(type),
			    prim[i]) == 0)
				break;
		if (prim[i] == NULL) {
			snprintf(why, whylen, "%s: x-mcp-header needs a string,"
			    " number, integer or boolean type", k);
			return -1;
		}
		for (i = 0; i < nseen; i++)
			if (strcasecmp(seen[i], name) == 0) {
				snprintf(why, whylen, "%s: x-mcp-header %s is used"
				    " twice", k, name);
				return -1;
			}
		if (nseen == nitems(seen)) {
			snprintf(why, whylen, "too many x-mcp-header arguments");
			return -1;
		}
		seen[nseen++] = name;
	}
	return 0;
}

int
tools_register(const struct tool *t)
{
	char why[256];

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
	if (check_header_params(schemas[ntools], why, sizeof(why)) == -1) {
		logmsg(LOG_ALERT, "tool %s: inputSchema %s", t->name, why);
		json_object_put(schemas[ntools]);
		schemas[ntools] = NULL;
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

static struct json_object *
describe(const struct tool *t)
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

/*
 * The registry is fixed once a worker starts, so each entry is built (and
 * its schemas parsed) once; callers get a reference and must not change it.
 */
struct json_object *
tool_describe(const struct tool *t)
{
	size_t i;

	for (i = 0; i < ntools; i++)
		if (registry[i] == t) {
			if (described[i] == NULL)
				described[i] = describe(t);
			return json_object_get(described[i]);
		}
	return describe(t);
}

struct json_object *
tool_input_schema(const struct tool *t)
{
	size_t i;

	for (i = 0; i < ntools; i++)
		if (registry[i] == t)
			return schemas[i];
	return NULL;
}

int
tool_check_args(const struct tool *t, struct json_object *args, char *why,
    size_t whylen)
{
	struct json_object *s = tool_input_schema(t);

	return s == NULL ? 0 : schema_validate(s, args, why, whylen);
}
