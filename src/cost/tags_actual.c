/*
 * query_cost_by_tags over a time range: actual spend by tag value
 * (doc/analysis.md).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "../mcp/mcp.h"
#include "../mcp/tools.h"
#include "../plugin/broker.h"
#include "actual.h"
#include "advice.h"
#include "analysis.h"
#include "catalog.h"
#include "cost_tools.h"
#include "daily.h"
#include "engine.h"
#include "insight.h"
#include "jget.h"
#include "join.h"
#include "money.h"

/* --- query_cost_by_tags over a time range -------------------------------- */

struct tag_query {
	struct insight		*in;
	const struct pstack	*s;
	struct focus_tags	*row_tags;	/* charges' own Tags */
	struct json_object	**res_tags;	/* per stack resource */
	size_t			 nres;
	const char		*key;		/* grouped by now */
	const char		*fkey;		/* filters.key, or NULL */
	struct json_object	*fvals;		/* filters.values */
};

static void
tags_free(struct tag_query *tq)
{
	size_t i;

	focus_tags_free(tq->row_tags);
	for (i = 0; i < tq->nres; i++)
		json_object_put(tq->res_tags[i]);
	free(tq->res_tags);
}

/* A stack resource's tags (or labels), outputs before inputs. */
static struct json_object *
resource_tags(struct tag_query *tq, int i)
{
	static const char *const holders[] = { "tags", "tagsAll", "labels" };
	struct json_object *o, *t, *all;
	const struct presource *r;
	size_t h, k;

	if (tq->res_tags[i] != NULL)
		return tq->res_tags[i];
	all = json_object_new_object();
	r = &tq->s->r[i];
	for (k = 0; k < 2; k++) {
		o = k == 0 ? pulumi_outputs(r) : pulumi_inputs(r);
		for (h = 0; h < nitems(holders); h++)
			if (json_object_object_get_ex(o, holders[h], &t) &&
			    json_object_is_type(t, json_type_object)) {
				json_object_object_foreach(t, tk, tv)
					if (!json_object_object_get_ex(all, tk, NULL) &&
					    json_object_is_type(tv, json_type_string))
						json_object_object_add(all, tk,
						    json_object_get(tv));
			}
	}
	pulumi_release(r);
	return tq->res_tags[i] = all;
}

/* The value of key for a charge: its own Tags, else its resource's tags. */
static const char *
charge_tag(struct tag_query *tq, const struct focus_store *st,
    const struct focus_row *r, const char *key)
{
	struct json_object *v;
	const char *own;
	int i;

	if ((own = focus_tag(tq->row_tags, r, key)) != NULL)
		return own;
	if (tq->in->j != NULL && (i = join_row(tq->in->j, st, r)) >= 0 &&
	    (size_t)i < tq->nres &&
	    json_object_object_get_ex(resource_tags(tq, i), key, &v))
		return json_object_get_string(v);
	return NULL;
}

static int
tag_keep(const struct focus_store *st, const struct focus_row *r, void *arg)
{
	struct tag_query *tq = arg;
	const char *v;
	size_t i;

	if (tq->in->j != NULL && join_row(tq->in->j, st, r) < 0)
		return 0;
	if (tq->fkey == NULL)
		return 1;
	if ((v = charge_tag(tq, st, r, tq->fkey)) == NULL)
		return 0;
	for (i = 0; i < json_object_array_length(tq->fvals); i++)
		if (strcmp(v, json_object_get_string(json_object_array_get_idx(tq->fvals,
		    i))) == 0)
			return 1;
	return 0;
}

static const char *
tag_group(const struct focus_store *st, const struct focus_row *r, void *arg)
{
	struct tag_query *tq = arg;
	const char *v = charge_tag(tq, st, r, tq->key);

	return v != NULL ? v : "(untagged)";
}

/* {value: {currency: amount}} to {currency: {value: amount}}. */
static void
by_currency(struct json_object *groups, const char *key, struct json_object *out)
{
	struct json_object *per, *kt;

	json_object_object_foreach(groups, value, amounts) {
		json_object_object_foreach(amounts, cur, amt) {
			if (!json_object_object_get_ex(out, cur, &per)) {
				per = json_object_new_object();
				json_object_object_add(per, "by_tag", json_object_new_object());
				json_object_object_add(per, "untagged", json_object_new_object());
				json_object_object_add(out, cur, per);
			}
			if (strcmp(value, "(untagged)") == 0) {
				json_object_object_add(json_object_object_get(per, "untagged"),
				    key, json_object_get(amt));
				continue;
			}
			if (!json_object_object_get_ex(json_object_object_get(per,
			    "by_tag"), key, &kt)) {
				kt = json_object_new_object();
				json_object_object_add(json_object_object_get(per, "by_tag"),
				    key, kt);
			}
			json_object_object_add(kt, value, json_object_get(amt));
		}
	}
}

static void
tags_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct insight *in = arg;
	struct tag_query tq;
	struct actual_query aq;
	struct json_object *keys, *tr, *flt, *percur, *ans, *a, *g, *tot, *others;
	const char *primary = NULL;
	double best = -1;
	size_t i;

	memset(&tq, 0, sizeof(tq));
	memset(&aq, 0, sizeof(aq));
	json_object_object_get_ex(in->args, "time_range", &tr);
	if (insight_scope(c, in, s) == -1 || time_arg(c, tr, "start", "time_range",
	    &aq.from) == -1 || time_arg(c, tr, "end", "time_range", &aq.to) == -1)
		return;
	if (aq.to <= aq.from) {
		tool_call_fail(c, "invalid arguments: time_range must run forwards");
		return;
	}
	tq.in = in;
	tq.s = s;
	tq.nres = s != NULL ? s->n : 0;
	if ((tq.row_tags = focus_tags_new(st)) == NULL ||
	    (tq.res_tags = calloc(tq.nres + 1, sizeof(*tq.res_tags))) == NULL) {
		focus_tags_free(tq.row_tags);
		tool_call_fail(c, "out of memory");
		return;
	}
	if (json_object_object_get_ex(in->args, "filters", &flt) && jstr(flt, "key")) {
		tq.fkey = jstr(flt, "key");
		json_object_object_get_ex(flt, "values", &tq.fvals);
	}
	aq.gran = G_MONTHLY;
	aq.basis = in->q.basis;
	aq.keep = tag_keep;
	aq.group = tag_group;
	aq.arg = &tq;
	percur = json_object_new_object();
	tot = NULL;
	json_object_object_get_ex(in->args, "tag_keys", &keys);
	for (i = 0; i < json_object_array_length(keys); i++) {
		tq.key = json_object_get_string(json_object_array_get_idx(keys, i));
		if ((a = actual_costs(st, &aq)) == NULL)
			break;
		if (json_object_object_get_ex(a, "groups", &g))
			by_currency(json_object_object_get(g, "totals"), tq.key, percur);
		if (tot == NULL)
			tot = json_object_get(json_object_object_get(a, "totals"));
		json_object_put(a);
	}
	if (i < json_object_array_length(keys)) {
		tags_free(&tq);
		json_object_put(percur);
		json_object_put(tot);
		tool_call_fail(c, "out of memory");
		return;
	}
	/* The currency with the most spend on top; others apart, never summed. */
	json_object_object_foreach(tot, cur, amt)
		if (fabs(json_object_get_double(amt)) > best) {
			best = fabs(json_object_get_double(amt));
			primary = cur;
		}
	ans = json_object_new_object();
	json_object_object_add(ans, "basis", json_object_new_string("actual"));
	json_object_object_add(ans, "currency", json_object_new_string(primary ? primary : "USD"));
	g = primary ? json_object_object_get(percur, primary) : NULL;
	json_object_object_add(ans, "by_tag", g ? json_object_get(json_object_object_get(g,
	    "by_tag")) : json_object_new_object());
	json_object_object_add(ans, "untagged", g ? json_object_get(json_object_object_get(g,
	    "untagged")) : json_object_new_object());
	for (i = 0; i < json_object_array_length(keys); i++) {
		const char *k = json_object_get_string(json_object_array_get_idx(keys, i));

		if (!json_object_object_get_ex(json_object_object_get(ans, "by_tag"), k, NULL))
			json_object_object_add(json_object_object_get(ans, "by_tag"), k,
			    json_object_new_object());
		if (!json_object_object_get_ex(json_object_object_get(ans, "untagged"), k, NULL))
			json_object_object_add(json_object_object_get(ans, "untagged"), k,
			    json_object_new_double(0));
	}
	json_object_object_add(ans, "total", money(primary ? json_object_get_double(
	    json_object_object_get(tot, primary)) : 0));
	if (primary != NULL)
		json_object_object_del(percur, primary);
	others = percur;
	if (json_object_object_length(others) > 0)
		json_object_object_add(ans, "other_currencies", json_object_get(others));
	json_object_object_add(ans, "time_range", json_object_new_object());
	json_object_object_add(json_object_object_get(ans, "time_range"), "start",
	    iso_time(aq.from));
	json_object_object_add(json_object_object_get(ans, "time_range"), "end",
	    iso_time(aq.to));
	a = scope_meta(in, st, NULL);
	json_object_object_add(a, "tag_source", json_object_new_string("a charge's own"
	    " Tags, else the tags of the stack resource it joins to"));
	json_object_object_add(ans, "metadata", a);
	tags_free(&tq);
	json_object_put(percur);
	json_object_put(tot);
	tool_call_done(c, ans, NULL);
}

void
insight_tags_actual(struct tool_call *c, struct json_object *args)
{
	struct insight *in = insight_new(c, args);

	if (in != NULL)
		cost_with_billing(c, args, tags_billing, in, insight_free);
}
