#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/jtext.h"
#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "jget.h"
#include "pulumi.h"

#define SECRET_SIG	"4dabf18193072939515e22adb298388d"

const char *
pulumi_kind_name(enum pulumi_kind k)
{
	switch (k) {
	case PULUMI_PREVIEW:
		return "preview";
	case PULUMI_EXPORT:
		return "stack_export";
	default:
		return "checkpoint";
	}
}

/* "urn:pulumi:STACK::PROJECT::TYPE::NAME"; the type may be "a$b$c". */
static int
urn_part(const char *urn, int idx, const char **start, size_t *len)
{
	const char *p = urn, *q;
	int i;

	if (strncmp(urn, "urn:pulumi:", 11) != 0)
		return -1;
	for (i = 0; i < idx; i++) {
		if ((p = strstr(p, "::")) == NULL)
			return -1;
		p += 2;
	}
	q = idx == 3 ? p + strlen(p) : strstr(p, "::");
	if (q == NULL)
		return -1;
	*start = p;
	*len = (size_t)(q - p);
	return 0;
}

void
pulumi_type_package(const char *type, char *out, size_t len)
{
	size_t n = strcspn(type, ":");

	snprintf(out, len, "%.*s", (int)n, type);
}

void
pulumi_type_module(const char *type, char *out, size_t len)
{
	const char *m = strchr(type, ':');
	size_t n;

	if (m == NULL) {
		snprintf(out, len, "default");
		return;
	}
	m++;
	n = strcspn(m, "/:");
	snprintf(out, len, "%.*s", (int)(n ? n : 7), n ? m : "default");
}

int
pulumi_is_secret(struct json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), "[secret]") == 0;
	return jget(v, SECRET_SIG) != NULL;
}

struct json_object *
pulumi_redact(struct json_object *v)
{
	struct json_object *o;
	size_t i, n;

	if (pulumi_is_secret(v))
		return json_object_new_string("[secret]");
	if (json_object_is_type(v, json_type_object)) {
		o = json_object_new_object();
		json_object_object_foreach(v, k, e)
			json_object_object_add(o, k, pulumi_redact(e));
		return o;
	}
	if (json_object_is_type(v, json_type_array)) {
		o = json_object_new_array();
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			json_object_array_add(o, pulumi_redact(
			    json_object_array_get_idx(v, i)));
		return o;
	}
	return json_object_get(v);
}

static void
release(struct presource *r)
{
	json_object_put(r->in_c);
	json_object_put(r->old_c);
	json_object_put(r->out_c);
	json_object_put(r->deps_c);
	r->in_c = r->old_c = r->out_c = r->deps_c = NULL;
}

void
pulumi_release(const struct presource *r)
{
	release((struct presource *)r);
}

/* Kept text (checked when the document was read) as a value, once. */
static struct json_object *
cached(const char *text, struct json_object **slot)
{
	struct jtext_error e;
	size_t used;

	if (*slot == NULL && text != NULL &&
	    jtext_parse(text, strlen(text), JTEXT_MAX_DEPTH, slot, &used, &e) == -1)
		*slot = NULL;
	return *slot;
}

struct json_object *
pulumi_inputs(const struct presource *r)
{
	return cached(r->in_text, &((struct presource *)r)->in_c);
}

struct json_object *
pulumi_old_inputs(const struct presource *r)
{
	if (r->old_is_new)
		return pulumi_inputs(r);
	return cached(r->old_text, &((struct presource *)r)->old_c);
}

struct json_object *
pulumi_outputs(const struct presource *r)
{
	return cached(r->out_text, &((struct presource *)r)->out_c);
}

struct json_object *
pulumi_deps(const struct presource *r)
{
	return cached(r->deps_text, &((struct presource *)r)->deps_c);
}

void
pulumi_free(struct pstack *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		struct presource *r = &s->r[i];

		release(r);
		free(r->urn);
		free(r->type);
		free(r->id);
		free(r->parent);
		free(r->provider);
		free(r->in_text);
		free(r->old_text);
		free(r->out_text);
		free(r->deps_text);
	}
	free(s->r);
	free(s->stack);
	free(s->project);
	json_object_put(s->config);
	json_object_put(s->by_urn);
	json_object_put(s->plugin_prices);
	json_object_put(s->plugin_errors);
	free(s);
}

static ssize_t
index_of(const struct pstack *s, const char *urn)
{
	struct json_object *v;

	return json_object_object_get_ex(s->by_urn, urn, &v) ?
	    (ssize_t)json_object_get_int64(v) : -1;
}

const struct presource *
pulumi_find_urn(const struct pstack *s, const char *urn)
{
	ssize_t i = index_of(s, urn);

	return i < 0 ? NULL : &s->r[i];
}

/* The provider field is "<provider URN>::<provider id>". */
static char *
provider_urn(const char *ref)
{
	const char *cut;

	if (ref == NULL || strncmp(ref, "urn:pulumi:", 11) != 0)
		return NULL;
	if ((cut = strstr(ref, "::pulumi:providers:")) != NULL &&
	    (cut = strstr(cut + 19, "::")) != NULL &&
	    (cut = strstr(cut + 2, "::")) != NULL)
		return strndup(ref, (size_t)(cut - ref));
	return strdup(ref);
}

static struct presource *
add(struct pstack *s, size_t *cap)
{
	struct presource *r;

	if (s->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;

		if ((r = reallocarray(s->r, ncap, sizeof(*r))) == NULL)
			return NULL;
		s->r = r;
		*cap = ncap;
	}
	r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

/* The name is the URN's last part. */
static int
fill_from_urn(struct presource *r, char *err, size_t errlen, const char *where)
{
	const char *p;
	size_t len;

	if (urn_part(r->urn, 3, &p, &len) == -1)
		return errorf(err, errlen, "%s: urn \"%.200s\" is not a Pulumi URN"
		    " (urn:pulumi:STACK::PROJECT::TYPE::NAME)", where, r->urn);
	r->name = p;
	return 0;
}

static char *
type_from_urn(const char *urn)
{
	const char *p, *d;
	size_t len;

	if (urn_part(urn, 2, &p, &len) == -1)
		return NULL;
	/* A child's type is the parent chain joined by '$': the last one. */
	for (d = p; (d = memchr(d, '$', len - (size_t)(d - p))) != NULL; p = ++d)
		len -= (size_t)(d + 1 - p);
	return strndup(p, len);
}

static void
set_names(struct pstack *s, const char *urn)
{
	const char *p;
	size_t len;

	if (s->stack == NULL && urn_part(urn, 0, &p, &len) == 0 && len > 11)
		s->stack = strndup(p + 11, len - 11);
	if (s->project == NULL && urn_part(urn, 1, &p, &len) == 0)
		s->project = strndup(p, len);
}

/* --- walking the document without building all of it ---------------------- */

/*
 * The document is read member by member and element by element, checked
 * as it goes and never built whole: a step or resource keeps its strings,
 * and its inputs, outputs and dependencies as compact text copied from the
 * document, which the engine parses when it asks for them.
 */
struct walk {
	const char		*buf;
	size_t			 len, pos;
	char			*err;
	size_t			 errlen;
	int			 depth;
};

static void
ws(struct walk *w)
{
	while (w->pos < w->len && strchr(" \t\r\n", w->buf[w->pos]) != NULL)
		w->pos++;
}

static int
expect(struct walk *w, char c)
{
	ws(w);
	if (w->pos >= w->len)
		return errorf(w->err, w->errlen, "incomplete JSON");
	if (w->buf[w->pos] != c)
		return errorf(w->err, w->errlen, "invalid JSON at byte %zu: expected"
		    " '%c'", w->pos, c);
	w->pos++;
	return 0;
}

static int
peek(struct walk *w, char c)
{
	ws(w);
	return w->pos < w->len && w->buf[w->pos] == c;
}

static int
json_error(struct walk *w, const struct jtext_error *e)
{
	if (e->incomplete)
		return errorf(w->err, w->errlen, "incomplete JSON");
	return errorf(w->err, w->errlen, "invalid JSON at byte %zu: %s",
	    w->pos + e->at, e->what);
}

/* One JSON value at the current position (NULL on error, err set). */
static struct json_object *
value(struct walk *w, int *ok)
{
	struct json_object *o;
	struct jtext_error e;
	size_t used;

	ws(w);
	*ok = 0;
	if (jtext_parse(w->buf + w->pos, w->len - w->pos, JTEXT_MAX_DEPTH, &o, &used,
	    &e) == -1) {
		json_error(w, &e);
		return NULL;
	}
	w->pos += used;
	*ok = 1;
	return o;
}

typedef int (*member_fn)(struct walk *, struct pstack *, const char *key,
    void *arg);

/* Walk an object: fn sees each key with the position at its value. */
static int
members(struct walk *w, struct pstack *s, member_fn fn, void *arg)
{
	struct json_object *k;
	int ok, first = 1;
	size_t at;

	if (++w->depth > 8)
		return errorf(w->err, w->errlen, "nested too deeply");
	if (expect(w, '{') == -1)
		return -1;
	while (!peek(w, '}')) {
		if (!first && expect(w, ',') == -1)
			return -1;
		first = 0;
		ws(w);
		at = w->pos;
		k = value(w, &ok);
		if (!ok)
			return -1;
		if (!json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			return errorf(w->err, w->errlen, "invalid JSON at byte %zu:"
			    " expected a key (a string)", at);
		}
		if (expect(w, ':') == -1 || fn(w, s, json_object_get_string(k), arg) == -1) {
			json_object_put(k);
			return -1;
		}
		json_object_put(k);
	}
	w->pos++;
	w->depth--;
	return 0;
}

/* A member we do not keep: checked, and passed over. */
static int
skip(struct walk *w)
{
	struct jtext_error e;
	size_t used;

	ws(w);
	if (jtext_check(w->buf + w->pos, w->len - w->pos, JTEXT_MAX_DEPTH, &used,
	    &e) == -1)
		return json_error(w, &e);
	w->pos += used;
	return 0;
}

/* A string member: kept (the last of a repeated key wins); other types are
 * passed over, as if absent. */
static int
take_string(struct walk *w, char **dst)
{
	struct json_object *v;
	int ok;

	v = value(w, &ok);
	if (ok && json_object_is_type(v, json_type_string)) {
		free(*dst);
		if ((*dst = strdup(json_object_get_string(v))) == NULL) {
			errorf(w->err, w->errlen, "out of memory");
			ok = 0;
		}
	}
	json_object_put(v);
	return ok ? 0 : -1;
}

static int
take_bool(struct walk *w, int *dst)
{
	struct json_object *v;
	int ok;

	v = value(w, &ok);
	if (ok && v != NULL)		/* null is absent */
		*dst = json_object_get_boolean(v);
	json_object_put(v);
	return ok ? 0 : -1;
}

enum text_kind { T_NONE, T_OBJECT, T_OTHER };

/*
 * A container member kept as compact text: checked, then copied without
 * the white space between tokens (a preview is usually indented).
 */
static int
take_text(struct walk *w, char **dst, enum text_kind *kind)
{
	const char *src;
	size_t start, i, n;
	int in_str = 0;
	char *o;

	ws(w);
	start = w->pos;
	if (skip(w) == -1)
		return -1;
	src = w->buf + start;
	n = w->pos - start;
	free(*dst);
	*dst = NULL;
	*kind = T_NONE;
	if (n == 4 && memcmp(src, "null", 4) == 0)
		return 0;			/* null is absent */
	if ((*dst = o = malloc(n + 1)) == NULL)
		return errorf(w->err, w->errlen, "out of memory");
	for (i = 0; i < n; i++) {
		char c = src[i];

		if (in_str) {
			if (c == '\\')
				*o++ = src[i++];
			else if (c == '"')
				in_str = 0;
		} else if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		else if (c == '"')
			in_str = 1;
		*o++ = src[i];
	}
	*o = '\0';
	*kind = src[0] == '{' ? T_OBJECT : T_OTHER;
	return 0;
}

/*
 * What is kept of a resource's state: a step's newState or oldState, or a
 * resource of a stack export.  Strings only where a string is expected
 * (anything else is as if absent); custom -1 when absent.
 */
struct state {
	char		*urn, *type, *id, *parent, *provider;
	int		 custom;
	char		*inputs, *outputs, *deps;
	enum text_kind	 inputs_kind, outputs_kind, deps_kind;
};

struct step {
	char		*op, *urn, *type, *provider, *inputs;
	enum text_kind	 inputs_kind;
	struct state	 ns, os;
};

/* A member kept into a struct: where its value goes, and how it is read. */
struct field {
	const char	*key;
	enum { F_STRING, F_BOOL, F_TEXT } how;
	size_t		 at, kind_at;	/* offsets; kind_at for F_TEXT */
};

#define STRING(t, m)	{ #m, F_STRING, offsetof(t, m), 0 }
#define TEXT(t, k, m)	{ k, F_TEXT, offsetof(t, m), offsetof(t, m##_kind) }

static const struct field state_fields[] = {
	STRING(struct state, urn), STRING(struct state, type), STRING(struct state, id),
	STRING(struct state, parent), STRING(struct state, provider),
	{ "custom", F_BOOL, offsetof(struct state, custom), 0 },
	TEXT(struct state, "inputs", inputs), TEXT(struct state, "outputs", outputs),
	TEXT(struct state, "dependencies", deps),
};

static const struct field step_fields[] = {
	STRING(struct step, op), STRING(struct step, urn), STRING(struct step, type),
	STRING(struct step, provider), TEXT(struct step, "inputs", inputs),
};

#undef STRING
#undef TEXT

/* The member key into base if fields name it, else passed over. */
static int
take_field(struct walk *w, const struct field *f, size_t n, void *base,
    const char *key)
{
	char *b = base;
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(f[i].key, key) != 0)
			continue;
		switch (f[i].how) {
		case F_STRING:
			return take_string(w, (char **)(void *)(b + f[i].at));
		case F_BOOL:
			return take_bool(w, (int *)(void *)(b + f[i].at));
		default:
			return take_text(w, (char **)(void *)(b + f[i].at),
			    (enum text_kind *)(void *)(b + f[i].kind_at));
		}
	}
	return skip(w);
}

static void
fields_free(const struct field *f, size_t n, void *base)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (f[i].how != F_BOOL)
			free(*(char **)(void *)((char *)base + f[i].at));
}

static void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->custom = -1;
}

static void
state_free(struct state *st)
{
	fields_free(state_fields, nitems(state_fields), st);
}

static int
state_member(struct walk *w, struct pstack *s, const char *key, void *arg)
{
	(void)s;
	return take_field(w, state_fields, nitems(state_fields), arg, key);
}

/* A state member: an object walked, anything else passed over as absent. */
static int
take_state(struct walk *w, struct pstack *s, struct state *st)
{
	if (!peek(w, '{'))
		return skip(w);
	state_free(st);		/* a repeated key: the last wins */
	state_init(st);
	return members(w, s, state_member, st);
}

static int
step_member(struct walk *w, struct pstack *s, const char *key, void *arg)
{
	struct step *st = arg;

	if (strcmp(key, "newState") == 0)
		return take_state(w, s, &st->ns);
	if (strcmp(key, "oldState") == 0)
		return take_state(w, s, &st->os);
	return take_field(w, step_fields, nitems(step_fields), st, key);
}

/* Replace *dst with a copy of src (or of nothing). */
static void
set_str(char **dst, const char *src)
{
	if (src == NULL)
		return;
	free(*dst);
	*dst = strdup(src);
}

/* Move text into *dst when there is none there yet. */
static void
keep_text(char **dst, char **src)
{
	if (*dst == NULL && *src != NULL) {
		*dst = *src;
		*src = NULL;
	}
}

static const char *
first_of(const char *a, const char *b, const char *c)
{
	return a != NULL ? a : b != NULL ? b : c;
}

static const char *const counted_ops[] = {
	/* op, before, after */
	"create", "01", "update", "11", "same", "11", "replace", "11",
	"create-replacement", "11", "delete-replaced", "10", "delete", "10",
	"import", "01", "import-replacement", "11", "read", "00",
	"read-replacement", "00", "refresh", "11", "discard", "00",
	"discard-replaced", "00", "remove-pending-replace", "00", NULL
};

/* Which op describes a merged resource best: the first in this list. */
static const char *const op_rank[] = {
	"replace", "create-replacement", "import-replacement", "delete-replaced",
	"create", "import", "update", "delete", "refresh", "same", "read",
	"read-replacement", "discard", "discard-replaced",
	"remove-pending-replace", NULL
};

static int
rank(const char *op)
{
	int i;

	for (i = 0; op_rank[i] != NULL; i++)
		if (strcmp(op_rank[i], op) == 0)
			return i;
	return i;
}

/* A resource not seen before, indexed by its URN. */
static struct presource *
new_resource(struct pstack *s, size_t *cap, const char *urn, const char *where,
    char *err, size_t errlen)
{
	struct presource *r;

	if ((r = add(s, cap)) == NULL) {
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_object_add(s->by_urn, urn,
	    json_object_new_int64((int64_t)(s->n - 1)));
	r->urn = strdup(urn);
	if (fill_from_urn(r, err, errlen, where) == -1)
		return NULL;
	set_names(s, urn);
	return r;
}

static int
add_step(struct pstack *s, struct step *st, const char *where, size_t *cap,
    char *err, size_t errlen)
{
	struct state *ns = &st->ns, *os = &st->os;
	const char *op = st->op, *urn, *type, *flags = NULL;
	struct presource *r = NULL;
	size_t i;

	if (op == NULL)
		return errorf(err, errlen, "%s: op must be a string", where);
	for (i = 0; counted_ops[i] != NULL; i += 2)
		if (strcmp(counted_ops[i], op) == 0) {
			flags = counted_ops[i + 1];
			op = counted_ops[i];	/* a static string, kept */
		}
	if (flags == NULL)
		return errorf(err, errlen, "%s: unknown op \"%.40s\"", where, op);
	if (strcmp(op, "same") == 0)
		s->sames_listed++;
	if ((urn = first_of(st->urn, ns->urn, os->urn)) == NULL)
		return errorf(err, errlen, "%s: urn is missing", where);
	if (index_of(s, urn) >= 0)
		r = &s->r[index_of(s, urn)];
	if (r == NULL) {
		if ((r = new_resource(s, cap, urn, where, err, errlen)) == NULL)
			return -1;
		r->op = op;
		r->custom = 1;
	} else if (rank(op) < rank(r->op))
		r->op = op;
	if ((type = first_of(st->type, ns->type, os->type)) != NULL)
		set_str(&r->type, type);
	else if (r->type == NULL && (r->type = type_from_urn(urn)) == NULL)
		return errorf(err, errlen, "%s: the resource type is missing", where);
	if (ns->custom != -1)
		r->custom = ns->custom;
	else if (os->custom != -1)
		r->custom = os->custom;
	r->before |= flags[0] == '1';
	r->after |= flags[1] == '1';
	/* Inputs after: the step's own (simplified shape), else newState. */
	if (st->inputs_kind == T_NONE) {
		st->inputs = ns->inputs;
		st->inputs_kind = ns->inputs_kind;
		ns->inputs = NULL;
	}
	if (st->inputs_kind == T_OTHER)
		return errorf(err, errlen, "%s: inputs must be an object", where);
	if (st->inputs_kind == T_OBJECT && flags[1] == '1') {
		free(r->in_text);
		r->in_text = st->inputs;
		st->inputs = NULL;
	}
	if (os->inputs_kind == T_OBJECT && flags[0] == '1') {
		free(r->old_text);
		r->old_text = os->inputs;
		os->inputs = NULL;
	}
	if (r->in_text == NULL && strcmp(op, "same") == 0 && r->old_text != NULL)
		r->in_text = strdup(r->old_text);
	if (ns->outputs_kind == T_OBJECT)
		keep_text(&r->out_text, &ns->outputs);
	else if (os->outputs_kind == T_OBJECT)
		keep_text(&r->out_text, &os->outputs);
	if (r->id == NULL)
		set_str(&r->id, first_of(ns->id, os->id, NULL));
	if (r->parent == NULL)
		set_str(&r->parent, first_of(ns->parent, os->parent, NULL));
	keep_text(&r->deps_text, ns->deps != NULL ? &ns->deps : &os->deps);
	if (r->provider == NULL)
		r->provider = provider_urn(first_of(st->provider, ns->provider,
		    os->provider));
	return 0;
}

static int
add_resource(struct pstack *s, struct state *e, const char *where, size_t *cap,
    char *err, size_t errlen)
{
	struct presource *r;

	if (e->urn == NULL)
		return errorf(err, errlen, "%s: urn is missing", where);
	if ((r = new_resource(s, cap, e->urn, where, err, errlen)) == NULL)
		return -1;
	if (e->type != NULL)
		r->type = strdup(e->type);
	else if ((r->type = type_from_urn(e->urn)) == NULL)
		return errorf(err, errlen, "%s: type is missing", where);
	r->op = "state";
	r->custom = e->custom == 1;
	if (e->inputs_kind == T_OBJECT)
		keep_text(&r->in_text, &e->inputs);
	r->old_is_new = 1;
	if (e->outputs_kind == T_OBJECT)
		keep_text(&r->out_text, &e->outputs);
	set_str(&r->id, e->id);
	set_str(&r->parent, e->parent);
	keep_text(&r->deps_text, &e->deps);
	r->provider = provider_urn(e->provider);
	r->before = r->after = 1;
	return 0;
}

typedef int (*element_fn)(struct walk *, struct pstack *, size_t idx,
    size_t *cap, const char *path);

/* Walk an array, one element at a time. */
static int
elements(struct walk *w, struct pstack *s, const char *path, element_fn fn,
    size_t *cap)
{
	size_t idx = 0;

	ws(w);
	if (w->pos < w->len && w->buf[w->pos] != '[') {
		/* Not an array: checked for the JSON error, else said so. */
		if (skip(w) == -1)
			return -1;
		return errorf(w->err, w->errlen, "%s must be an array", path);
	}
	if (expect(w, '[') == -1)
		return -1;
	while (!peek(w, ']')) {
		if (idx > 0 && expect(w, ',') == -1)
			return -1;
		if (fn(w, s, idx++, cap, path) == -1)
			return -1;
	}
	w->pos++;
	return 0;
}

/* An element that must be an object: checked first if it is not one. */
static int
element_object(struct walk *w, const char *where, const char *what)
{
	if (peek(w, '{'))
		return 0;
	if (skip(w) == -1)
		return -1;
	return errorf(w->err, w->errlen, "%s: %s", where, what);
}

static int
step_el(struct walk *w, struct pstack *s, size_t idx, size_t *cap, const char *path)
{
	struct step st;
	char where[48];
	int rc;

	(void)path;
	snprintf(where, sizeof(where), "steps[%zu]", idx);
	if (element_object(w, where, "a step must be an object") == -1)
		return -1;
	memset(&st, 0, sizeof(st));
	state_init(&st.ns);
	state_init(&st.os);
	rc = members(w, s, step_member, &st);
	if (rc == 0)
		rc = add_step(s, &st, where, cap, w->err, w->errlen);
	fields_free(step_fields, nitems(step_fields), &st);
	state_free(&st.ns);
	state_free(&st.os);
	return rc;
}

static int
resource_el(struct walk *w, struct pstack *s, size_t idx, size_t *cap,
    const char *path)
{
	struct state st;
	char where[96];
	int rc;

	snprintf(where, sizeof(where), "%.60s[%zu]", path, idx);
	if (element_object(w, where, "must be an object") == -1)
		return -1;
	state_init(&st);
	rc = members(w, s, state_member, &st);
	if (rc == 0)
		rc = add_resource(s, &st, where, cap, w->err, w->errlen);
	state_free(&st);
	return rc;
}

struct top {
	size_t		 cap;
	int		 seen_steps, seen_deployment, seen_checkpoint;
	struct json_object *version;
	char		*cp_stack;
	const char	*path;		/* for resources: where they are */
};

/* deployment and checkpoint.latest: their resources. */
static int
deployment_member(struct walk *w, struct pstack *s, const char *key, void *arg)
{
	struct top *t = arg;
	char path[64];

	if (strcmp(key, "resources") != 0)
		return skip(w);
	snprintf(path, sizeof(path), "%s.resources", t->path);
	return elements(w, s, path, resource_el, &t->cap);
}

static int
checkpoint_member(struct walk *w, struct pstack *s, const char *key, void *arg)
{
	struct top *t = arg;
	struct json_object *v;
	int ok;

	if (strcmp(key, "latest") == 0) {
		if (!peek(w, '{')) {
			if (skip(w) == -1)
				return -1;
			return errorf(w->err, w->errlen, "checkpoint.latest must be"
			    " an object");
		}
		t->path = "checkpoint.latest";
		return members(w, s, deployment_member, t);
	}
	if (strcmp(key, "stack") == 0) {
		v = value(w, &ok);
		if (ok && json_object_is_type(v, json_type_string) &&
		    strrchr(json_object_get_string(v), '/') != NULL) {
			free(t->cp_stack);	/* a key given twice: the last wins */
			t->cp_stack = strdup(strrchr(json_object_get_string(v), '/') + 1);
		}
		json_object_put(v);
		return ok ? 0 : -1;
	}
	return skip(w);
}

static int
top_member(struct walk *w, struct pstack *s, const char *key, void *arg)
{
	struct top *t = arg;
	struct json_object *v;
	int ok;

	if (strcmp(key, "steps") == 0) {
		t->seen_steps = 1;
		s->kind = PULUMI_PREVIEW;
		return elements(w, s, "steps", step_el, &t->cap);
	}
	if (strcmp(key, "deployment") == 0 || strcmp(key, "checkpoint") == 0) {
		int dep = key[0] == 'd';

		if (dep)
			t->seen_deployment = 1;
		else
			t->seen_checkpoint = 1;
		if (!peek(w, '{')) {
			if (skip(w) == -1)
				return -1;
			return errorf(w->err, w->errlen, "%s must be an object", key);
		}
		t->path = "deployment";
		return members(w, s, dep ? deployment_member : checkpoint_member, t);
	}
	if (strcmp(key, "version") == 0) {
		json_object_put(t->version);
		t->version = value(w, &ok);
		return ok ? 0 : -1;
	}
	if (strcmp(key, "config") == 0 || strcmp(key, "changeSummary") == 0) {
		v = value(w, &ok);
		if (!ok)
			return -1;
		if (key[1] == 'o' && json_object_is_type(v, json_type_object)) {
			json_object_put(s->config);
			s->config = v;
		} else {
			if (json_object_is_type(v, json_type_object))
				s->sames_counted = json_object_get_int64(jget(v, "same"));
			json_object_put(v);
		}
		return 0;
	}
	return skip(w);
}

struct pstack *
pulumi_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct walk w = { buf, len, 0, err, errlen, 0 };
	struct top t = { 0 };
	struct pstack *s;
	struct json_object *o;
	char why[256];
	int rc;

	if (len > (size_t)INT32_MAX) {
		errorf(err, errlen, "document too large");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->by_urn = json_object_new_object()) == NULL) {
		free(s);
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	ws(&w);
	if (w.pos >= len || buf[w.pos] != '{') {
		/* Not an object: JSON's own error if it is not JSON at all. */
		if ((o = rpc_parse(buf, len, why, sizeof(why))) == NULL)
			rc = errorf(err, errlen, "%s", why);
		else
			rc = errorf(err, errlen, "expected a JSON object: a Pulumi"
			    " preview (steps), stack export (deployment) or checkpoint");
		json_object_put(o);
		goto out;
	}
	rc = members(&w, s, top_member, &t);
	if (rc == 0) {
		ws(&w);
		if (w.pos < len)
			rc = errorf(err, errlen, "unexpected data after the JSON value"
			    " at byte %zu", w.pos);
	}
	if (rc == 0 && !t.seen_steps && (t.seen_deployment || t.seen_checkpoint)) {
		int64_t ver = json_object_get_int64(t.version);

		s->kind = t.seen_deployment ? PULUMI_EXPORT : PULUMI_CHECKPOINT;
		if (!json_object_is_type(t.version, json_type_int) || ver < 1 || ver > 3)
			rc = errorf(err, errlen, "version must be 1, 2 or 3 (got %s)",
			    t.version ? json_object_to_json_string(t.version) : "none");
		if (s->stack == NULL && t.cp_stack != NULL) {
			s->stack = t.cp_stack;
			t.cp_stack = NULL;
		}
	} else if (rc == 0 && !t.seen_steps)
		rc = errorf(err, errlen, "not a Pulumi document: expected steps"
		    " (pulumi preview --json), deployment (pulumi stack export)"
		    " or checkpoint (a DIY backend's stack file)");
out:
	json_object_put(t.version);
	free(t.cp_stack);
	if (rc == -1) {
		pulumi_free(s);
		return NULL;
	}
	return s;
}
