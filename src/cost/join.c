#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "join.h"

#define UNSET	(-2)
#define SHARED	(-3)

struct join {
	const struct pstack	*s;
	struct json_object	*ids;		/* id, arn, selfLink, URN -> index */
	struct json_object	**bytag;	/* per key: value -> index or SHARED */
	const struct strlist	*keys;
	char			**groups;	/* "(tag K=V)", owned */
	size_t			 ngroups;
	int			*by_res, *by_tags;	/* per string id */
	size_t			 ncache;
	char			 rule[600];
};

static void
add_id(struct join *j, const char *id, int i)
{
	if (id != NULL && id[0] != '\0')
		json_object_object_add(j->ids, id, json_object_new_int(i));
}

/* A resource's tags or labels, outputs before inputs. */
static void
index_tags(struct join *j, int i, struct json_object *o)
{
	static const char *const holders[] = { "tags", "tagsAll", "labels" };
	struct json_object *t, *v, *prev;
	size_t h, k;

	for (h = 0; h < nitems(holders); h++) {
		if (!json_object_object_get_ex(o, holders[h], &t) ||
		    !json_object_is_type(t, json_type_object))
			continue;
		for (k = 0; k < j->keys->n; k++) {
			const char *val;

			if (!json_object_object_get_ex(t, j->keys->v[k], &v) ||
			    !json_object_is_type(v, json_type_string))
				continue;
			val = json_object_get_string(v);
			if (!json_object_object_get_ex(j->bytag[k], val, &prev))
				json_object_object_add(j->bytag[k], val,
				    json_object_new_int(i));
			else if (json_object_get_int(prev) != i)
				json_object_object_add(j->bytag[k], val,
				    json_object_new_int(SHARED));
		}
	}
}

struct join *
join_new(const struct pstack *s, const struct strlist *tag_keys)
{
	static const char *const keys[] = { "arn", "id", "selfLink" };
	static const struct strlist none = { NULL, 0 };
	struct json_object *out, *in, *v;
	struct join *j;
	size_t i, k, len;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->s = s;
	j->keys = tag_keys != NULL ? tag_keys : &none;
	j->ids = json_object_new_object();
	if (j->keys->n > 0 &&
	    (j->bytag = calloc(j->keys->n, sizeof(*j->bytag))) == NULL) {
		join_free(j);
		return NULL;
	}
	for (k = 0; k < j->keys->n; k++)
		j->bytag[k] = json_object_new_object();
	for (i = 0; i < s->n; i++) {
		const struct presource *r = &s->r[i];

		if (!r->custom || strncmp(r->type, "pulumi:", 7) == 0)
			continue;
		add_id(j, r->urn, (int)i);
		add_id(j, r->id, (int)i);
		out = pulumi_outputs(r);
		for (k = 0; k < nitems(keys); k++)
			if (json_object_object_get_ex(out, keys[k], &v) &&
			    json_object_is_type(v, json_type_string))
				add_id(j, json_object_get_string(v), (int)i);
		if (j->keys->n > 0) {
			index_tags(j, (int)i, out);
			if ((in = pulumi_inputs(r)) != NULL)
				index_tags(j, (int)i, in);
		}
		pulumi_release(r);
	}
	len = (size_t)snprintf(j->rule, sizeof(j->rule), "a charge's ResourceId"
	    " equal to a stack resource's id, arn, selfLink or URN");
	for (k = 0; k < j->keys->n && len < sizeof(j->rule); k++)
		len += (size_t)snprintf(j->rule + len, sizeof(j->rule) - len,
		    "%s its Tags[\"%s\"]", k == 0 ? "; else" : ", else", j->keys->v[k]);
	if (j->keys->n > 0 && len < sizeof(j->rule))
		snprintf(j->rule + len, sizeof(j->rule) - len, " equal to a resource's"
		    " id or URN or to the same tag of one resource (of several:"
		    " the stack's, as \"(tag KEY=VALUE)\")");
	return j;
}

void
join_free(struct join *j)
{
	size_t k;

	if (j == NULL)
		return;
	json_object_put(j->ids);
	for (k = 0; j->bytag != NULL && k < j->keys->n; k++)
		json_object_put(j->bytag[k]);
	free(j->bytag);
	for (k = 0; k < j->ngroups; k++)
		free(j->groups[k]);
	free(j->groups);
	free(j->by_res);
	free(j->by_tags);
	free(j);
}

static int
by_id(const struct join *j, const char *id)
{
	struct json_object *v;

	return id[0] != '\0' && json_object_object_get_ex(j->ids, id, &v) ?
	    json_object_get_int(v) : -1;
}

/* A stack-wide tag value: a group of its own, made once. */
static int
tag_group(struct join *j, size_t k, const char *val)
{
	char **ng, name[512];

	if ((ng = reallocarray(j->groups, j->ngroups + 1, sizeof(*ng))) == NULL)
		return -1;
	j->groups = ng;
	snprintf(name, sizeof(name), "(tag %s=%s)", j->keys->v[k], val);
	if ((j->groups[j->ngroups] = strdup(name)) == NULL)
		return -1;
	j->ngroups++;
	json_object_object_add(j->bytag[k], val,
	    json_object_new_int((int)(j->s->n + j->ngroups - 1)));
	return (int)(j->s->n + j->ngroups - 1);
}

static int
by_tags(struct join *j, const char *text)
{
	struct json_object *t = json_tokener_parse(text), *v, *hit;
	int idx = -1;
	size_t k;

	for (k = 0; k < j->keys->n && idx < 0; k++) {
		const char *val;

		if (!json_object_object_get_ex(t, j->keys->v[k], &v))
			continue;
		val = json_object_get_string(v);
		if ((idx = by_id(j, val)) >= 0)
			break;
		if (json_object_object_get_ex(j->bytag[k], val, &hit))
			idx = json_object_get_int(hit) == SHARED ? tag_group(j, k, val) :
			    json_object_get_int(hit);
	}
	json_object_put(t);
	return idx;
}

static int
cache_init(struct join *j, const struct focus_store *st)
{
	size_t i, n = focus_nstrs(st);

	if (j->by_res != NULL)
		return 0;
	if ((j->by_res = malloc(n * sizeof(int))) == NULL ||
	    (j->by_tags = malloc(n * sizeof(int))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		j->by_res[i] = j->by_tags[i] = UNSET;
	j->ncache = n;
	return 0;
}

int
join_row(struct join *j, const struct focus_store *st, const struct focus_row *r)
{
	if (cache_init(j, st) == -1 || r->resource >= j->ncache || r->tags >= j->ncache)
		return -1;
	if (j->by_res[r->resource] == UNSET)
		j->by_res[r->resource] = r->resource ? by_id(j, focus_str(st,
		    r->resource)) : -1;
	if (j->by_res[r->resource] >= 0 || j->keys->n == 0 || r->tags == 0)
		return j->by_res[r->resource];
	if (j->by_tags[r->tags] == UNSET)
		j->by_tags[r->tags] = by_tags(j, focus_str(st, r->tags));
	return j->by_tags[r->tags];
}

int
join_id(const struct join *j, const char *id)
{
	return id != NULL ? by_id(j, id) : -1;
}

const char *
join_name(const struct join *j, int i)
{
	if (i < 0)
		return "(unattributed)";
	if ((size_t)i < j->s->n)
		return j->s->r[i].urn;
	return (size_t)i - j->s->n < j->ngroups ? j->groups[i - j->s->n] : "(unattributed)";
}

size_t
join_count(const struct join *j)
{
	return j->s->n + j->ngroups;
}

size_t
join_ids(const struct join *j)
{
	return (size_t)json_object_object_length(j->ids);
}

const char *
join_rule(const struct join *j)
{
	return j->rule;
}
