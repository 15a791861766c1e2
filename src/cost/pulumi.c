#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
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

static struct json_object *
get(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *
get_str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static struct json_object *
get_obj(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return json_object_is_type(v, json_type_object) ? v : NULL;
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
	return get(v, SECRET_SIG) != NULL;
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

void
pulumi_free(struct pstack *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->r[i].provider);
	free(s->r);
	free(s->stack);
	free(s->project);
	json_object_put(s->by_urn);
	json_object_put(s->root);
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

static const char *
type_from_urn(const char *urn)
{
	const char *p, *d;
	size_t len;

	if (urn_part(urn, 2, &p, &len) == -1)
		return NULL;
	/* A child's type is the parent chain joined by '$': the last one. */
	for (d = p; (d = memchr(d, '$', len - (size_t)(d - p))) != NULL; p = ++d)
		len -= (size_t)(d + 1 - p);
	return p;
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

static int
parse_step(struct pstack *s, struct json_object *st, size_t idx, size_t *cap,
    char *err, size_t errlen)
{
	struct json_object *ns = get_obj(st, "newState"), *os = get_obj(st, "oldState");
	const char *op = get_str(st, "op"), *urn = get_str(st, "urn");
	const char *type, *flags = NULL;
	struct presource *r = NULL;
	struct json_object *in;
	char where[48];
	size_t i;

	snprintf(where, sizeof(where), "steps[%zu]", idx);
	if (!json_object_is_type(st, json_type_object))
		return errorf(err, errlen, "%s: a step must be an object", where);
	if (op == NULL)
		return errorf(err, errlen, "%s: op must be a string", where);
	for (i = 0; counted_ops[i] != NULL; i += 2)
		if (strcmp(counted_ops[i], op) == 0)
			flags = counted_ops[i + 1];
	if (flags == NULL)
		return errorf(err, errlen, "%s: unknown op \"%.40s\"", where, op);
	if (strcmp(op, "same") == 0)
		s->sames_listed++;
	if (urn == NULL)
		urn = get_str(ns, "urn") ? get_str(ns, "urn") : get_str(os, "urn");
	if (urn == NULL)
		return errorf(err, errlen, "%s: urn is missing", where);
	if (index_of(s, urn) >= 0)
		r = &s->r[index_of(s, urn)];
	if (r == NULL) {
		if ((r = add(s, cap)) == NULL)
			return errorf(err, errlen, "out of memory");
		json_object_object_add(s->by_urn, urn,
		    json_object_new_int64((int64_t)(s->n - 1)));
		r->urn = urn;
		r->op = op;
		r->custom = 1;
		if (fill_from_urn(r, err, errlen, where) == -1)
			return -1;
		set_names(s, urn);
	} else if (rank(op) < rank(r->op))
		r->op = op;
	if ((type = get_str(st, "type")) == NULL && (type = get_str(ns, "type")) == NULL &&
	    (type = get_str(os, "type")) == NULL)
		type = type_from_urn(urn);
	if (type == NULL)
		return errorf(err, errlen, "%s: the resource type is missing", where);
	r->type = type;
	if (get(ns, "custom") != NULL)
		r->custom = json_object_get_boolean(get(ns, "custom"));
	else if (get(os, "custom") != NULL)
		r->custom = json_object_get_boolean(get(os, "custom"));
	r->before |= flags[0] == '1';
	r->after |= flags[1] == '1';
	/* Inputs after: the step's own (simplified shape), else newState. */
	in = get(st, "inputs");
	if (in == NULL)
		in = get(ns, "inputs");
	if (in != NULL && !json_object_is_type(in, json_type_object))
		return errorf(err, errlen, "%s: inputs must be an object", where);
	if (in != NULL && flags[1] == '1')
		r->inputs = in;
	if (get_obj(os, "inputs") != NULL && flags[0] == '1')
		r->old_inputs = get_obj(os, "inputs");
	if (r->inputs == NULL && strcmp(op, "same") == 0)
		r->inputs = r->old_inputs;
	if (r->outputs == NULL)
		r->outputs = get_obj(ns, "outputs") ? get_obj(ns, "outputs") :
		    get_obj(os, "outputs");
	if (r->id == NULL)
		r->id = get_str(ns, "id") ? get_str(ns, "id") : get_str(os, "id");
	if (r->parent == NULL)
		r->parent = get_str(ns, "parent") ? get_str(ns, "parent") :
		    get_str(os, "parent");
	if (r->deps == NULL)
		r->deps = get(ns, "dependencies") ? get(ns, "dependencies") :
		    get(os, "dependencies");
	if (r->provider == NULL) {
		const char *p = get_str(st, "provider");

		if (p == NULL)
			p = get_str(ns, "provider") ? get_str(ns, "provider") :
			    get_str(os, "provider");
		r->provider = provider_urn(p);
	}
	return 0;
}

static int
parse_preview(struct pstack *s, char *err, size_t errlen)
{
	struct json_object *steps = get(s->root, "steps");
	size_t i, n, cap = 0;

	if (!json_object_is_type(steps, json_type_array))
		return errorf(err, errlen, "steps must be an array");
	s->kind = PULUMI_PREVIEW;
	s->config = get_obj(s->root, "config");
	s->sames_counted = json_object_get_int64(get(get_obj(s->root,
	    "changeSummary"), "same"));
	n = json_object_array_length(steps);
	for (i = 0; i < n; i++)
		if (parse_step(s, json_object_array_get_idx(steps, i), i, &cap,
		    err, errlen) == -1)
			return -1;
	return 0;
}

static int
parse_resources(struct pstack *s, struct json_object *dep, const char *path,
    char *err, size_t errlen)
{
	struct json_object *res = get(dep, "resources"), *e;
	struct presource *r;
	size_t i, n, cap = 0;
	char where[96];

	/* A stack that was never deployed has no resources key. */
	if (res == NULL)
		return 0;
	if (!json_object_is_type(res, json_type_array))
		return errorf(err, errlen, "%s.resources must be an array", path);
	n = json_object_array_length(res);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(res, i);
		snprintf(where, sizeof(where), "%s.resources[%zu]", path, i);
		if (!json_object_is_type(e, json_type_object))
			return errorf(err, errlen, "%s: must be an object", where);
		if ((r = add(s, &cap)) == NULL)
			return errorf(err, errlen, "out of memory");
		if ((r->urn = get_str(e, "urn")) == NULL)
			return errorf(err, errlen, "%s: urn is missing", where);
		json_object_object_add(s->by_urn, r->urn,
		    json_object_new_int64((int64_t)(s->n - 1)));
		if (fill_from_urn(r, err, errlen, where) == -1)
			return -1;
		set_names(s, r->urn);
		if ((r->type = get_str(e, "type")) == NULL &&
		    (r->type = type_from_urn(r->urn)) == NULL)
			return errorf(err, errlen, "%s: type is missing", where);
		r->op = "state";
		r->custom = get(e, "custom") ? json_object_get_boolean(get(e,
		    "custom")) : 0;
		r->inputs = r->old_inputs = get_obj(e, "inputs");
		r->outputs = get_obj(e, "outputs");
		r->id = get_str(e, "id");
		r->parent = get_str(e, "parent");
		r->deps = get(e, "dependencies");
		r->provider = provider_urn(get_str(e, "provider"));
		r->before = r->after = 1;
	}
	return 0;
}

struct pstack *
pulumi_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct pstack *s;
	struct json_object *v, *cp = NULL, *latest;
	char why[256];
	int64_t ver;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->by_urn = json_object_new_object()) == NULL) {
		free(s);
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	if ((s->root = rpc_parse(buf, len, why, sizeof(why))) == NULL) {
		errorf(err, errlen, "%s", why);
		pulumi_free(s);
		return NULL;
	}
	if (!json_object_is_type(s->root, json_type_object)) {
		errorf(err, errlen, "expected a JSON object: a Pulumi preview"
		    " (steps), stack export (deployment) or checkpoint");
		pulumi_free(s);
		return NULL;
	}
	if (get(s->root, "steps") != NULL)
		rc = parse_preview(s, err, errlen);
	else if ((v = get(s->root, "deployment")) != NULL ||
	    (cp = get(s->root, "checkpoint")) != NULL) {
		ver = json_object_get_int64(get(s->root, "version"));
		if (!json_object_is_type(get(s->root, "version"), json_type_int) ||
		    ver < 1 || ver > 3)
			rc = errorf(err, errlen, "version must be 1, 2 or 3 (got %s)",
			    get(s->root, "version") ? json_object_to_json_string(
			    get(s->root, "version")) : "none");
		else if (v != NULL) {
			s->kind = PULUMI_EXPORT;
			rc = json_object_is_type(v, json_type_object) ?
			    parse_resources(s, v, "deployment", err, errlen) :
			    errorf(err, errlen, "deployment must be an object");
		} else {
			s->kind = PULUMI_CHECKPOINT;
			latest = get(cp, "latest");
			rc = latest == NULL ? 0 :
			    json_object_is_type(latest, json_type_object) ?
			    parse_resources(s, latest, "checkpoint.latest", err,
			    errlen) : errorf(err, errlen, "checkpoint.latest must"
			    " be an object");
			if (rc == 0 && s->stack == NULL && get_str(cp, "stack") &&
			    strrchr(get_str(cp, "stack"), '/'))
				s->stack = strdup(strrchr(get_str(cp, "stack"),
				    '/') + 1);
		}
	} else
		rc = errorf(err, errlen, "not a Pulumi document: expected steps"
		    " (pulumi preview --json), deployment (pulumi stack export)"
		    " or checkpoint (a DIY backend's stack file)");
	if (rc == -1) {
		pulumi_free(s);
		return NULL;
	}
	return s;
}
