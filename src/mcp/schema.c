#include "config.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/util.h"
#include "schema.h"

#define MAX_DEPTH	32

struct ctx {
	struct json_object	*root;		/* for local $ref */
	char			*why;
	size_t			 whylen;
	int			 depth;
};

static const char *
type_of(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_double:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	default:
		return "object";
	}
}

static int
is_type(struct json_object *v, const char *t)
{
	const char *vt = type_of(v);

	if (strcmp(t, vt) == 0)
		return 1;
	if (strcmp(t, "number") == 0 && strcmp(vt, "integer") == 0)
		return 1;
	/* 3.0 is an integer in JSON Schema. */
	if (strcmp(t, "integer") == 0 && strcmp(vt, "number") == 0) {
		double d = json_object_get_double(v);

		return d == floor(d) && isfinite(d);
	}
	return 0;
}

static int	fail(struct ctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(struct ctx *x, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(x->why, x->whylen, "%s: %s", path, msg);
	return -1;
}

/* The subschema that declares "$anchor": name, searched depth first. */
static struct json_object *
find_anchor(struct json_object *s, const char *name, int depth)
{
	struct json_object *a, *hit;
	size_t i, n;

	if (depth > MAX_DEPTH)
		return NULL;
	if (json_object_is_type(s, json_type_array)) {
		n = json_object_array_length(s);
		for (i = 0; i < n; i++)
			if ((hit = find_anchor(json_object_array_get_idx(s, i),
			    name, depth + 1)) != NULL)
				return hit;
		return NULL;
	}
	if (!json_object_is_type(s, json_type_object))
		return NULL;
	if (json_object_object_get_ex(s, "$anchor", &a) &&
	    json_object_is_type(a, json_type_string) &&
	    strcmp(json_object_get_string(a), name) == 0)
		return s;
	json_object_object_foreach(s, k, v) {
		(void)k;
		if ((hit = find_anchor(v, name, depth + 1)) != NULL)
			return hit;
	}
	return NULL;
}

/* Local references only: "#", "#/json/pointer" and "#anchor". */
static struct json_object *
resolve_ref(struct ctx *x, const char *ref)
{
	struct json_object *cur = x->root;
	char part[256];
	const char *p;
	size_t n;

	if (strcmp(ref, "#") == 0)
		return x->root;
	if (ref[0] == '#' && ref[1] != '/')
		return find_anchor(x->root, ref + 1, 0);
	if (strncmp(ref, "#/", 2) != 0)
		return NULL;
	for (p = ref + 2; *p; p += n + (p[n] == '/')) {
		n = strcspn(p, "/");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(cur, part, &cur))
			return NULL;
	}
	return cur;
}

static int	validate(struct ctx *, struct json_object *, struct json_object *,
		    const char *);

static int
check_type(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *t;
	size_t i, n;

	if (!json_object_object_get_ex(s, "type", &t))
		return 0;
	if (json_object_is_type(t, json_type_string)) {
		if (!is_type(v, json_object_get_string(t)))
			return fail(x, path, "expected %s, got %s",
			    json_object_get_string(t), type_of(v));
		return 0;
	}
	if (json_object_is_type(t, json_type_array)) {
		n = json_object_array_length(t);
		for (i = 0; i < n; i++)
			if (is_type(v, json_object_get_string(
			    json_object_array_get_idx(t, i))))
				return 0;
		return fail(x, path, "expected %s, got %s",
		    json_object_to_json_string(t), type_of(v));
	}
	return 0;
}

static int
check_number(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	static const struct {
		const char	*kw;
		int		 sign;		/* the value fails when sign * (d - b) > 0 */
		int		 strict;	/* ... or equal, for exclusive bounds */
		const char	*words;
	} bounds[] = {
		{ "minimum", -1, 0, "at least" },
		{ "maximum", 1, 0, "at most" },
		{ "exclusiveMinimum", -1, 1, "more than" },
		{ "exclusiveMaximum", 1, 1, "less than" },
	};
	struct json_object *b;
	double d, bv, diff;
	char lim[64];
	size_t i;

	if (!is_type(v, "number"))
		return 0;
	d = json_object_get_double(v);
	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		if (!json_object_object_get_ex(s, bounds[i].kw, &b))
			continue;
		bv = json_object_get_double(b);
		diff = bounds[i].sign * (d - bv);
		if (diff > 0 || (bounds[i].strict && diff == 0)) {
			snprintf(lim, sizeof(lim), "%g", bv);
			return fail(x, path, "must be %s %s", bounds[i].words, lim);
		}
	}
	return 0;
}

static int
check_length(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *b;
	int64_t len;
	const char *what;
	char lim[32];

	if (json_object_is_type(v, json_type_string)) {
		len = json_object_get_string_len(v);
		what = "characters";
	} else if (json_object_is_type(v, json_type_array)) {
		len = (int64_t)json_object_array_length(v);
		what = "items";
	} else
		return 0;
	if (json_object_object_get_ex(s, json_object_is_type(v, json_type_string) ?
	    "minLength" : "minItems", &b) && len < json_object_get_int64(b)) {
		snprintf(lim, sizeof(lim), "%lld", (long long)json_object_get_int64(b));
		return fail(x, path, "needs at least %s %s", lim, what);
	}
	if (json_object_object_get_ex(s, json_object_is_type(v, json_type_string) ?
	    "maxLength" : "maxItems", &b) && len > json_object_get_int64(b)) {
		snprintf(lim, sizeof(lim), "%lld", (long long)json_object_get_int64(b));
		return fail(x, path, "allows at most %s %s", lim, what);
	}
	return 0;
}

/* pattern: a POSIX extended regular expression, unanchored as in JSON Schema. */
static int
check_pattern(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *p;
	regex_t re;
	int r;

	if (!json_object_is_type(v, json_type_string) ||
	    !json_object_object_get_ex(s, "pattern", &p) ||
	    !json_object_is_type(p, json_type_string))
		return 0;
	if (regcomp(&re, json_object_get_string(p), REG_EXTENDED | REG_NOSUB) != 0)
		return 0;	/* a pattern we cannot read constrains nothing */
	r = regexec(&re, json_object_get_string(v), 0, NULL, 0);
	regfree(&re);
	if (r != 0)
		return fail(x, path, "does not match the pattern %s",
		    json_object_get_string(p));
	return 0;
}

static int
check_enum(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *e;
	size_t i, n;

	if (json_object_object_get_ex(s, "const", &e) && !json_object_equal(e, v))
		return fail(x, path, "must be %s", json_object_to_json_string_ext(e,
		    JSON_C_TO_STRING_PLAIN));
	if (!json_object_object_get_ex(s, "enum", &e) ||
	    !json_object_is_type(e, json_type_array))
		return 0;
	n = json_object_array_length(e);
	for (i = 0; i < n; i++)
		if (json_object_equal(json_object_array_get_idx(e, i), v))
			return 0;
	{
		const char *list = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);

		/* A long list is cut; the schema has all of it. */
		if (strlen(list) > 300)
			return fail(x, path, "must be one of %.280s...] (%zu values)",
			    list, n);
		return fail(x, path, "must be one of %s", list);
	}
}

static int
check_object(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *props = NULL, *req, *addl, *sub;
	char sp[512];
	size_t i, n;

	if (!json_object_is_type(v, json_type_object))
		return 0;
	json_object_object_get_ex(s, "properties", &props);
	if (json_object_object_get_ex(s, "required", &req) &&
	    json_object_is_type(req, json_type_array)) {
		n = json_object_array_length(req);
		for (i = 0; i < n; i++) {
			const char *k = json_object_get_string(
			    json_object_array_get_idx(req, i));

			if (!json_object_object_get_ex(v, k, NULL)) {
				snprintf(sp, sizeof(sp), "%s.%s", path, k);
				return fail(x, sp, "is required");
			}
		}
	}
	json_object_object_foreach(v, k, val) {
		snprintf(sp, sizeof(sp), "%s.%s", path, k);
		if (props != NULL && json_object_object_get_ex(props, k, &sub)) {
			if (validate(x, sub, val, sp) == -1)
				return -1;
			continue;
		}
		if (json_object_object_get_ex(s, "additionalProperties", &addl)) {
			if (json_object_is_type(addl, json_type_boolean) &&
			    !json_object_get_boolean(addl))
				return fail(x, sp, "is not an accepted argument");
			if (json_object_is_type(addl, json_type_object) &&
			    validate(x, addl, val, sp) == -1)
				return -1;
		}
	}
	return 0;
}

static int
check_items(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *items;
	char sp[512];
	size_t i, n;

	if (!json_object_is_type(v, json_type_array) ||
	    !json_object_object_get_ex(s, "items", &items) ||
	    !json_object_is_type(items, json_type_object))
		return 0;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		snprintf(sp, sizeof(sp), "%s[%zu]", path, i);
		if (validate(x, items, json_object_array_get_idx(v, i), sp) == -1)
			return -1;
	}
	return 0;
}

/* Does v match s?  Without touching the caller's error message. */
static int
matches(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	char scratch[512], *keep = x->why;
	size_t keeplen = x->whylen;
	int r;

	x->why = scratch;
	x->whylen = sizeof(scratch);
	r = validate(x, s, v, path);
	x->why = keep;
	x->whylen = keeplen;
	return r == 0;
}

/* allOf: all must pass; anyOf: one; oneOf: exactly one. */
static int
check_combinators(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	static const char *const kw[] = { "allOf", "anyOf", "oneOf" };
	struct json_object *list, *sub;
	size_t i, n, k, ok;

	for (k = 0; k < nitems(kw); k++) {
		if (!json_object_object_get_ex(s, kw[k], &list) ||
		    !json_object_is_type(list, json_type_array))
			continue;
		n = json_object_array_length(list);
		for (i = 0, ok = 0; i < n; i++) {
			sub = json_object_array_get_idx(list, i);
			if (k == 0 && validate(x, sub, v, path) == -1)
				return -1;	/* its own message says why */
			if (k != 0 && matches(x, sub, v, path))
				ok++;
		}
		if (k == 1 && ok == 0)
			return fail(x, path, "matches none of the accepted forms");
		if (k == 2 && ok != 1)
			return fail(x, path, "must match exactly one accepted form");
	}
	return 0;
}

/* not: must fail; if/then/else: then applies where if matches, else elsewhere. */
static int
check_conditionals(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *sub;

	if (json_object_object_get_ex(s, "not", &sub) && matches(x, sub, v, path))
		return fail(x, path, "matches a form that is not accepted");
	if (!json_object_object_get_ex(s, "if", &sub))
		return 0;
	if (matches(x, sub, v, path))
		return json_object_object_get_ex(s, "then", &sub) ?
		    validate(x, sub, v, path) : 0;
	return json_object_object_get_ex(s, "else", &sub) ?
	    validate(x, sub, v, path) : 0;
}

static int
validate(struct ctx *x, struct json_object *s, struct json_object *v,
    const char *path)
{
	struct json_object *ref;
	int r;

	if (s == NULL || json_object_is_type(s, json_type_boolean))
		return s == NULL || json_object_get_boolean(s) ? 0 :
		    fail(x, path, "is not accepted");
	if (!json_object_is_type(s, json_type_object))
		return 0;
	if (++x->depth > MAX_DEPTH) {
		x->depth--;
		return fail(x, path, "is nested too deeply");
	}
	if (json_object_object_get_ex(s, "$ref", &ref)) {
		struct json_object *t = resolve_ref(x, json_object_get_string(ref));

		if (t == NULL) {
			x->depth--;
			return fail(x, path, "schema reference %s cannot be resolved",
			    json_object_get_string(ref));
		}
		r = validate(x, t, v, path);
		x->depth--;
		return r;
	}
	r = check_type(x, s, v, path);
	if (r == 0)
		r = check_enum(x, s, v, path);
	if (r == 0)
		r = check_pattern(x, s, v, path);
	if (r == 0)
		r = check_number(x, s, v, path);
	if (r == 0)
		r = check_length(x, s, v, path);
	if (r == 0)
		r = check_object(x, s, v, path);
	if (r == 0)
		r = check_items(x, s, v, path);
	if (r == 0)
		r = check_combinators(x, s, v, path);
	if (r == 0)
		r = check_conditionals(x, s, v, path);
	x->depth--;
	return r;
}

int
schema_validate(struct json_object *schema, struct json_object *value,
    char *why, size_t whylen)
{
	return schema_validate_at(schema, value, "arguments", why, whylen);
}

int
schema_validate_at(struct json_object *schema, struct json_object *value,
    const char *root, char *why, size_t whylen)
{
	struct ctx x = { schema, why, whylen, 0 };

	return validate(&x, schema, value, root);
}
