/*
 * The analysis tools over actual spend: detect_cost_anomalies,
 * forecast_costs, track_budget, get_optimization_recommendations and
 * query_cost_by_tags over a time range.  Each reads the billing data the
 * broker holds, joined to the stack the call names (src/cost/join.c), sums
 * it by day (src/cost/daily.c) and applies a documented method
 * (src/cost/analysis.c, doc/analysis.md).  This file holds what they
 * share; each tool is a file of its own.
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

/* --- what every analysis shares ------------------------------------------ */



const char *
arg_str(const struct insight *in, const char *k)
{
	return jstr(in->args, k);
}

void
insight_free(void *arg)
{
	struct insight *in = arg;
	size_t i;

	for (i = 0; i < in->tag_keys.n; i++) {
		free(in->tag_keys.v[i]);
		free(in->tag_values.v[i]);
	}
	free(in->tag_keys.v);
	free(in->tag_values.v);
	join_free(in->j);
	json_object_put(in->args);
	json_object_put(in->plugin_recs);
	json_object_put(in->plugin_errors);
	json_object_put(in->plugin_budget);
	free(in);
}

int
add_tag_filter(struct insight *in, const char *k, const char *v)
{
	char **nk = reallocarray(in->tag_keys.v, in->tag_keys.n + 1, sizeof(*nk));
	char **nv;

	if (nk == NULL)
		return -1;
	in->tag_keys.v = nk;
	if ((nv = reallocarray(in->tag_values.v, in->tag_values.n + 1,
	    sizeof(*nv))) == NULL)
		return -1;
	in->tag_values.v = nv;
	nk[in->tag_keys.n] = strdup(k);
	nv[in->tag_values.n] = strdup(v);
	in->tag_keys.n++;
	in->tag_values.n++;
	return nk[in->tag_keys.n - 1] && nv[in->tag_values.n - 1] ? 0 : -1;
}

/* The call's state: cost basis and filters.  NULL when answered. */
struct insight *
insight_new(struct tool_call *c, struct json_object *args)
{
	struct json_object *f, *tags;
	struct insight *in;

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		tool_call_fail(c, "out of memory");
		return NULL;
	}
	in->args = json_object_get(args);
	in->q.basis = jstr(args, "cost_basis") ?
	    (enum basis)actual_basis(jstr(args, "cost_basis")) : B_EFFECTIVE;
	in->q.currency = jstr(args, "currency");
	if (json_object_object_get_ex(args, "filters", &f)) {
		in->q.service = jstr(f, "service");
		in->q.region = jstr(f, "region");
		in->q.account = jstr(f, "account");
		if (json_object_object_get_ex(f, "tags", &tags)) {
			json_object_object_foreach(tags, k, v)
				if (add_tag_filter(in, k, json_object_get_string(v)) == -1) {
					insight_free(in);
					tool_call_fail(c, "out of memory");
					return NULL;
				}
		}
	}
	in->q.tag_keys = &in->tag_keys;
	in->q.tag_values = &in->tag_values;
	return in;
}

static int
stack_line(const struct focus_store *st, const struct focus_row *r, void *arg,
    const char **name)
{
	struct join *j = arg;
	int i = join_row(j, st, r);

	if (i >= 0)
		*name = join_name(j, i);
	return i;
}

/* Charges of the stack's resources, or all of them when no stack is named. */
int
insight_scope(struct tool_call *c, struct insight *in, struct pstack *s)
{
	if (s == NULL)
		return 0;
	if ((in->j = join_new(s, &cost_conf()->billing_join_tags)) == NULL) {
		tool_call_fail(c, "out of memory");
		return -1;
	}
	in->q.line = stack_line;
	in->q.arg = in->j;
	return 0;
}

int64_t
day_floor(int64_t t)
{
	return t - ((t % DAY) + DAY) % DAY;
}

int64_t
day_ceil(int64_t t)
{
	return day_floor(t) == t ? t : day_floor(t) + DAY;
}

/* A time in UTC: RFC 3339, or its date alone. */
const char *
fmt_time(int64_t t, int date_only, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (date_only)
		strftime(buf, len, "%Y-%m-%d", &tm);
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

struct json_object *
iso_time(int64_t t)
{
	char buf[32];

	return json_object_new_string(fmt_time(t, 0, buf,
	    sizeof(buf)));
}

/* An amount, rounded; null when there is none (JSON has no NaN). */
struct json_object *
money(double v)
{
	return isfinite(v) ? json_object_new_double(money_round(v)) :
	    json_object_new_null();
}

struct json_object *
pct(double v)
{
	return isnan(v) || isinf(v) ? json_object_new_null() :
	    json_object_new_double(round(v * 100) / 100);
}

/* A time argument: RFC 3339 or a date.  -1 after answering the call. */
int
time_arg(struct tool_call *c, struct json_object *o, const char *key,
    const char *what, int64_t *out)
{
	const char *v = jstr(o, key);

	if (v == NULL || focus_parse_time(v, strlen(v), out) == -1) {
		tool_call_fail(c, "invalid arguments: %s.%s must be a date-time"
		    " (RFC 3339) or a date (YYYY-MM-DD)", what, key);
		return -1;
	}
	return 0;
}

struct json_object *
scope_meta(const struct insight *in, const struct focus_store *st,
    const struct daily *d)
{
	struct json_object *m = json_object_new_object();

	json_object_object_add(m, "source", json_object_new_string("FOCUS billing export"));
	json_object_object_add(m, "scope", json_object_new_string(in->j ?
	    "the charges that join to the stack's resources" :
	    "every charge of the billing data"));
	if (in->j != NULL)
		json_object_object_add(m, "join", json_object_new_string(join_rule(in->j)));
	json_object_object_add(m, "cost_basis", json_object_new_string(
	    in->q.basis == B_BILLED ? "billed" : in->q.basis == B_LIST ? "list" :
	    "effective"));
	json_object_object_add(m, "rows_loaded", json_object_new_int64(
	    (int64_t)focus_count(st)));
	if (d != NULL) {
		json_object_object_add(m, "rows_used", json_object_new_int64(
		    (int64_t)d->rows));
		if (d->rows > 0) {
			json_object_object_add(m, "data_from", iso_time(d->first));
			json_object_object_add(m, "data_through", iso_time(d->last));
		}
	}
	json_object_object_add(m, "bad_rows", focus_bad_rows(st));
	return m;
}

/*
 * The days of d that have data: from the first charge's day to the last
 * complete day (a day the data ends inside is left out: it is partial).
 */
void
data_days(const struct daily *d, int *first, int *n)
{
	int a = daily_index(d, day_floor(d->first)), b = daily_index(d, day_floor(d->last));

	a = a < 0 ? 0 : a;
	b = b > d->ndays ? d->ndays : b;
	*first = a;
	*n = b > a ? b - a : 0;
}

/* What to say when the scope has no spend at all. */
void
no_spend(struct tool_call *c, const struct insight *in, const struct focus_store *st)
{
	tool_call_fail(c, "no spend to analyse: %s of the %zu billing rows loaded%s",
	    in->j ? "no charge joins to the stack's resources (see get_actual_costs"
	    " for what is unattributed)" : "no charge matches the filters",
	    focus_count(st), in->j && join_ids(in->j) == 0 ? "; the stack's"
	    " resources carry no ids (a preview of resources not yet created?)" : "");
}

double
series_sum(const double *x, int a, int b)
{
	double s = 0;
	int t;

	for (t = a < 0 ? 0 : a; t <= b; t++)
		s += x[t];
	return s;
}

uint32_t
fnv32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void
insight_tools_init(void)
{
	tools_register(&t_detect_anomalies);
	tools_register(&t_forecast_costs);
	tools_register(&t_track_budget);
	tools_register(&t_get_recs);
}
