/*
 * The analysis tools over actual spend: detect_cost_anomalies,
 * forecast_costs, track_budget and get_optimization_recommendations.
 * Each reads the billing data the broker holds, joined to the stack the
 * call names (src/cost/join.c), sums it by day (src/cost/daily.c) and
 * applies a documented method (src/cost/analysis.c, doc/analysis.md).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>
#include <unistd.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "../mcp/mcp.h"
#include "../mcp/tools.h"
#include "actual.h"
#include "advice.h"
#include "analysis.h"
#include "catalog.h"
#include "cost_tools.h"
#include "daily.h"
#include "engine.h"
#include "jget.h"
#include "join.h"
#include "money.h"
#include "../plugin/broker.h"

#define DAY		86400
#define MAX_CURRENCIES	8
#define DAYS_PER_MONTH	30.4375

/* --- what every analysis shares ------------------------------------------ */

struct insight {
	struct json_object	*args;
	struct strlist		 tag_keys, tag_values;	/* filters.tags */
	struct join		*j;
	struct daily_query	 q;
	const struct conf_budget *budget;	/* track_budget by name */
	struct json_object	*plugin_recs, *plugin_errors;	/* plugins' own */
	struct json_object	*plugin_budget;	/* track_budget of a plugin's */
};

static const char *
arg_str(const struct insight *in, const char *k)
{
	return jstr(in->args, k);
}

static void
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

static int
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
static struct insight *
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
static int
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

static int64_t
day_floor(int64_t t)
{
	return t - ((t % DAY) + DAY) % DAY;
}

static int64_t
day_ceil(int64_t t)
{
	return day_floor(t) == t ? t : day_floor(t) + DAY;
}

/* A time in UTC: RFC 3339, or its date alone. */
static const char *
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

static struct json_object *
iso_time(int64_t t)
{
	char buf[32];

	return json_object_new_string(fmt_time(t, 0, buf,
	    sizeof(buf)));
}

/* An amount, rounded; null when there is none (JSON has no NaN). */
static struct json_object *
money(double v)
{
	return isfinite(v) ? json_object_new_double(money_round(v)) :
	    json_object_new_null();
}

static struct json_object *
pct(double v)
{
	return isnan(v) || isinf(v) ? json_object_new_null() :
	    json_object_new_double(round(v * 100) / 100);
}

/* A time argument: RFC 3339 or a date.  -1 after answering the call. */
static int
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

static struct json_object *
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
static void
data_days(const struct daily *d, int *first, int *n)
{
	int a = daily_index(d, day_floor(d->first)), b = daily_index(d, day_floor(d->last));

	a = a < 0 ? 0 : a;
	b = b > d->ndays ? d->ndays : b;
	*first = a;
	*n = b > a ? b - a : 0;
}

/* What to say when the scope has no spend at all. */
static void
no_spend(struct tool_call *c, const struct insight *in, const struct focus_store *st)
{
	tool_call_fail(c, "no spend to analyse: %s of the %zu billing rows loaded%s",
	    in->j ? "no charge joins to the stack's resources (see get_actual_costs"
	    " for what is unattributed)" : "no charge matches the filters",
	    focus_count(st), in->j && join_ids(in->j) == 0 ? "; the stack's"
	    " resources carry no ids (a preview of resources not yet created?)" : "");
}

/* --- detect_cost_anomalies ----------------------------------------------- */

#define ANOMALY_HISTORY_DAYS	35	/* baselines need 21, spreads 28 more */
#define ANOMALY_MAX		200

struct run {
	const struct daily_line	*line;
	const char		*scope;		/* stack, service, resource */
	int			 a, b;		/* days a..b */
	int			 dir;		/* +1 spike, -1 drop */
	double			 cur, base, score;
};

/* The baseline of line x at day t, 0 without history. */
static double
base_or_zero(const double *x, int t)
{
	double b;

	return anomaly_baseline(x, t, &b) == 0 ? b : 0;
}

static double
sum(const double *x, int a, int b)
{
	double s = 0;
	int t;

	for (t = a < 0 ? 0 : a; t <= b; t++)
		s += x[t];
	return s;
}

static double
base_sum(const double *x, int a, int b)
{
	double s = 0;
	int t;

	for (t = a; t <= b; t++)
		s += base_or_zero(x, t);
	return s;
}

static void
cause(struct json_object *causes, const char *kind, const char *resource,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
cause(struct json_object *causes, const char *kind, const char *resource,
    const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "kind", json_object_new_string(kind));
	if (resource != NULL)
		json_object_object_add(o, "resource", json_object_new_string(resource));
	json_object_object_add(o, "detail", json_object_new_string(text));
	json_object_array_add(causes, o);
}

/* What in one resource's data explains its part of a run. */
static void
resource_causes(const struct daily_line *r, const struct run *u, double delta,
    struct json_object *causes)
{
	int a = u->a, b = u->b, days = b - a + 1;
	double before = sum(r->cost, a - 28, a - 1), now = sum(r->cost, a, b);
	double off = sum(r->oneoff, a, b) - base_sum(r->oneoff, a, b);
	double qn = sum(r->qty, a, b), qb = base_sum(r->qty, a, b);
	double un = sum(r->usage, a, b), ub = sum(r->usage, a - 28, a - 1);
	double qprev = sum(r->qty, a - 28, a - 1);

	if (u->dir > 0 && before == 0 && now != 0) {
		cause(causes, "new_resource", r->name, "first charged in this period:"
		    " %.2f over %d day(s), nothing in the 28 days before", now, days);
		return;
	}
	if (u->dir < 0 && now == 0 && before != 0) {
		cause(causes, "resource_stopped", r->name, "no charge in this period"
		    " after %.2f in the 28 days before", before);
		return;
	}
	if (fabs(off) >= 0.5 * fabs(delta) && off != 0)
		cause(causes, off > 0 ? "one_off_charge" : "credit", r->name,
		    "%s of %.2f outside usage (purchase, tax, credit, adjustment or"
		    " refund charges)", off > 0 ? "charges" : "credits", fabs(off));
	if (qb > 0 && (qn / qb >= 1.5 || qn / qb <= 1 / 1.5))
		cause(causes, "usage_quantity_change", r->name, "consumed quantity"
		    " %.4g against a usual %.4g (%.2fx)", qn, qb, qn / qb);
	if (qn > 0 && qprev > 0 && ub > 0 && un > 0) {
		double pn = un / qn, pb = ub / qprev;

		if (fabs(pn / pb - 1) >= 0.10)
			cause(causes, "unit_price_change", r->name, "cost per unit"
			    " consumed %.6g against %.6g in the 28 days before (%+.1f%%)",
			    pn, pb, 100 * (pn / pb - 1));
	}
}

struct contrib {
	const struct daily_line	*r;
	double			 delta;
};

static int
by_delta(const void *x, const void *y)
{
	double a = fabs(((const struct contrib *)x)->delta);
	double b = fabs(((const struct contrib *)y)->delta);

	return a < b ? 1 : a > b ? -1 : 0;
}

/* The resources behind a run and what their data shows. */
static void
explain(const struct daily *d, const struct run *u, struct json_object *urns,
    struct json_object *causes)
{
	struct contrib *cs;
	double total = 0, off;
	size_t i, n = 0;

	if ((cs = calloc(d->nres + 1, sizeof(*cs))) == NULL)
		return;
	for (i = 0; i < d->nres; i++) {
		const struct daily_line *r = &d->res[i];
		double delta;

		if (strcmp(u->scope, "resource") == 0 ? r != u->line :
		    strcmp(u->scope, "service") == 0 && r->service != u->line->service)
			continue;
		delta = sum(r->cost, u->a, u->b) - base_sum(r->cost, u->a, u->b);
		if (delta * u->dir > 0) {
			cs[n].r = r;
			cs[n++].delta = delta;
			total += delta;
		}
	}
	qsort(cs, n, sizeof(*cs), by_delta);
	for (i = 0; i < n && i < 5; i++) {
		if (i > 0 && fabs(cs[i].delta) < 0.1 * fabs(total))
			break;
		json_object_array_add(urns, json_object_new_string(cs[i].r->name));
		resource_causes(cs[i].r, u, cs[i].delta, causes);
	}
	/* Charges with no resource (tax, a credit on the account). */
	off = sum(u->line->oneoff, u->a, u->b) - base_sum(u->line->oneoff, u->a, u->b);
	if (json_object_array_length(causes) == 0 && off * u->dir > 0 &&
	    fabs(off) >= 0.5 * fabs(u->cur - u->base))
		cause(causes, off > 0 ? "one_off_charge" : "credit", NULL, "%s of %.2f"
		    " outside usage, not on any one resource", off > 0 ? "charges" :
		    "credits", fabs(off));
	free(cs);
}

static uint32_t
fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct json_object *
anomaly_json(const struct daily *d, const struct run *u)
{
	struct json_object *o = json_object_new_object(), *urns, *causes;
	double dev = u->base != 0 ? (u->cur - u->base) / fabs(u->base) : NAN;
	char id[96];
	time_t tt = (time_t)(d->day0 + (int64_t)u->a * DAY);
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(id, sizeof(id), "anom-%s-%04d%02d%02d-%08x", u->scope,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, fnv(u->line->name));
	urns = json_object_new_array();
	causes = json_object_new_array();
	explain(d, u, urns, causes);
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "timestamp", iso_time(d->day0 + (int64_t)u->a * DAY));
	json_object_object_add(o, "end", iso_time(d->day0 + (int64_t)(u->b + 1) * DAY));
	json_object_object_add(o, "days", json_object_new_int(u->b - u->a + 1));
	json_object_object_add(o, "scope", json_object_new_string(u->scope));
	json_object_object_add(o, "name", json_object_new_string(u->line->name));
	json_object_object_add(o, "resource_urns", urns);
	json_object_object_add(o, "direction", json_object_new_string(u->dir > 0 ?
	    "spike" : "drop"));
	json_object_object_add(o, "severity", json_object_new_string(
	    anomaly_severity(dev)));
	json_object_object_add(o, "current_cost", money(u->cur));
	json_object_object_add(o, "baseline_cost", money(u->base));
	json_object_object_add(o, "deviation_percent", pct(100 * dev));
	json_object_object_add(o, "score", pct(u->score));
	json_object_object_add(o, "currency", json_object_new_string(d->currency));
	json_object_object_add(o, "potential_causes", causes);
	return o;
}

/* Scan one line's days [from, to) and add its runs of anomalous days. */
static void
scan_line(const struct daily *d, const struct daily_line *l, const char *scope,
    int from, int to, const struct sensitivity *s, double floor_abs,
    struct json_object *out, size_t *found)
{
	struct run u;
	double base, spread, eff, z;
	int t, dir;

	memset(&u, 0, sizeof(u));
	for (t = from; t <= to; t++) {
		dir = 0;
		if (t < to && anomaly_baseline(l->cost, t, &base) == 0 &&
		    anomaly_spread(l->cost, t, &spread) == 0) {
			eff = fmax(fmax(spread, 0.05 * fabs(base)), fmax(floor_abs, 0.01));
			z = (l->cost[t] - base) / eff;
			if (fabs(z) >= s->z && fabs(l->cost[t] - base) >= floor_abs &&
			    (base == 0 || fabs(l->cost[t] - base) >= s->deviation * fabs(base)))
				dir = z > 0 ? 1 : -1;
		}
		if (u.line != NULL && (dir != u.dir || t == to)) {
			if ((*found)++ < ANOMALY_MAX)
				json_object_array_add(out, anomaly_json(d, &u));
			u.line = NULL;
		}
		if (dir == 0)
			continue;
		if (u.line == NULL) {
			u.line = l;
			u.scope = scope;
			u.a = t;
			u.dir = dir;
			u.cur = u.base = u.score = 0;
		}
		u.b = t;
		u.cur += l->cost[t];
		u.base += base;
		u.score = fmax(u.score, fabs(z));
	}
}

static int
want(struct json_object *args, const char *dim)
{
	struct json_object *dims;
	size_t i;

	if (!json_object_object_get_ex(args, "dimensions", &dims))
		return 1;
	for (i = 0; i < json_object_array_length(dims); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(dims, i)),
		    dim) == 0)
			return 1;
	return 0;
}

static const char anomaly_method[] =
    "Each day's cost is compared with a baseline, the median of the same"
    " weekday in the four weeks before (two at least), which follows weekly"
    " patterns and ignores single outliers. Its robust score is the difference"
    " divided by the usual spread: 1.4826 x the median absolute deviation of"
    " the 28 days before from their own baselines (at least 5% of the"
    " baseline). A day is anomalous when the score, the relative deviation"
    " and the absolute deviation (a share of the scope's median daily cost)"
    " all reach the sensitivity's thresholds; consecutive anomalous days of"
    " one line in one direction are one anomaly.";

static void
anomalies_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct insight *in = arg;
	const struct sensitivity *sens = anomaly_sensitivity(arg_str(in, "sensitivity") ?
	    arg_str(in, "sensitivity") : "MEDIUM");
	struct json_object *ans, *list, *tr, *th, *sum_o;
	const char *curs[MAX_CURRENCIES];
	int64_t start, end;
	size_t ncur, k, i, found = 0, lines = 0;
	struct daily *d = NULL;
	char why[256];

	json_object_object_get_ex(in->args, "time_range", &tr);
	if (insight_scope(c, in, s) == -1 || time_arg(c, tr, "start", "time_range",
	    &start) == -1 || time_arg(c, tr, "end", "time_range", &end) == -1)
		return;
	start = day_floor(start);
	end = day_ceil(end);
	if (end <= start || (end - start) / DAY > 730) {
		tool_call_fail(c, "invalid arguments: time_range must run forwards,"
		    " at most 730 days");
		return;
	}
	in->q.from = start - ANOMALY_HISTORY_DAYS * DAY;
	in->q.to = end;
	if ((ncur = daily_currencies(st, &in->q, curs, MAX_CURRENCIES)) == 0) {
		no_spend(c, in, st);
		return;
	}
	list = json_object_new_array();
	for (k = 0; k < ncur; k++) {
		double med, *tmp, floor_abs;
		int from = ANOMALY_HISTORY_DAYS, to;

		int dfirst, dn;

		daily_free(d);
		in->q.currency = curs[k];
		if ((d = daily_build(st, &in->q, why, sizeof(why))) == NULL)
			break;
		/* Days after the data ends are not days without spend. */
		data_days(d, &dfirst, &dn);
		to = dfirst + dn;
		if ((tmp = malloc((size_t)d->ndays * sizeof(double))) == NULL)
			break;
		memcpy(tmp, d->total.cost, (size_t)d->ndays * sizeof(double));
		med = fabs(median(tmp, d->ndays));
		free(tmp);
		floor_abs = sens->floor_share * med;
		if (want(in->args, "total"))
			scan_line(d, &d->total, "stack", from, to, sens, floor_abs, list,
			    &found), lines++;
		for (i = 0; want(in->args, "service") && i < d->nsvc; i++, lines++)
			scan_line(d, &d->svc[i], "service", from, to, sens, floor_abs,
			    list, &found);
		for (i = 0; want(in->args, "resource") && i < d->nres; i++, lines++)
			scan_line(d, &d->res[i], "resource", from, to, sens, floor_abs,
			    list, &found);
	}
	if (k < ncur) {
		daily_free(d);
		json_object_put(list);
		tool_call_fail(c, "%s", why[0] ? why : "out of memory");
		return;
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    arg_str(in, "stack_name") ? arg_str(in, "stack_name") : ""));
	json_object_object_add(ans, "anomalies", list);
	sum_o = json_object_new_object();
	json_object_object_add(sum_o, "count", json_object_new_int64((int64_t)found));
	json_object_object_add(sum_o, "reported", json_object_new_int64(
	    (int64_t)json_object_array_length(list)));
	json_object_object_add(sum_o, "lines_scanned", json_object_new_int64((int64_t)lines));
	json_object_object_add(sum_o, "days_scanned", json_object_new_int64(
	    (end - start) / DAY));
	json_object_object_add(ans, "summary", sum_o);
	th = json_object_new_object();
	json_object_object_add(th, "sensitivity", json_object_new_string(sens->name));
	json_object_object_add(th, "min_score", json_object_new_double(sens->z));
	json_object_object_add(th, "min_deviation_percent",
	    json_object_new_double(100 * sens->deviation));
	json_object_object_add(th, "min_share_of_median_daily_cost_percent",
	    json_object_new_double(100 * sens->floor_share));
	json_object_object_add(ans, "method", json_object_new_string(anomaly_method));
	json_object_object_add(ans, "thresholds", th);
	json_object_object_add(ans, "time_range", json_object_new_object());
	json_object_object_add(json_object_object_get(ans, "time_range"), "start",
	    iso_time(start));
	json_object_object_add(json_object_object_get(ans, "time_range"), "end",
	    iso_time(end));
	json_object_object_add(ans, "metadata", scope_meta(in, st, d));
	daily_free(d);
	{
		char text[256];

		snprintf(text, sizeof(text), "%zu cost anomal%s in %s to %s"
		    " (sensitivity %s)%s", found, found == 1 ? "y" : "ies",
		    json_object_get_string(json_object_object_get(json_object_object_get(
		    ans, "time_range"), "start")), json_object_get_string(
		    json_object_object_get(json_object_object_get(ans, "time_range"),
		    "end")), sens->name, found > ANOMALY_MAX ? "; the first 200 listed" : "");
		tool_call_done(c, ans, text);
	}
}

static void
t_anomalies(struct tool_call *c, struct json_object *args)
{
	struct insight *in = insight_new(c, args);

	if (in != NULL)
		cost_with_billing(c, args, anomalies_billing, in, insight_free);
}

#define SCOPE_ARGS \
	"\"stack_name\":{\"type\":\"string\",\"minLength\":1}," \
	"\"source\":{\"enum\":[\"state\",\"preview\"]}," \
	"\"cost_basis\":{\"enum\":[\"effective\",\"billed\",\"list\"]}," \
	"\"currency\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}$\"}," \
	"\"filters\":{\"type\":\"object\",\"properties\":{" \
	"\"service\":{\"type\":\"string\"},\"region\":{\"type\":\"string\"}," \
	"\"account\":{\"type\":\"string\"},\"tags\":{\"type\":\"object\"," \
	"\"additionalProperties\":{\"type\":\"string\"}}},\"additionalProperties\":false}"

#define TIME_RANGE \
	"{\"type\":\"object\",\"required\":[\"start\",\"end\"],\"properties\":{" \
	"\"start\":{\"type\":\"string\"},\"end\":{\"type\":\"string\"}}}"

static const char *const anomaly_aliases[] = { "detect_anomalies", NULL };

static const struct tool t_detect_anomalies = {
	.name = "detect_cost_anomalies",
	.title = "Cost anomalies in actual spend",
	.description = "Days whose actual spend (FOCUS billing data joined to the"
	    " stack) departs from a robust weekly baseline, for the stack total,"
	    " each service and each resource: when, how much against the baseline,"
	    " how severe, which resources, and the causes the data shows (a new or"
	    " stopped resource, a change in consumed quantity or unit price, a"
	    " one-off purchase or credit). sensitivity LOW, MEDIUM (default) or HIGH.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"stack_name\",\"time_range\"],"
	    "\"properties\":{" SCOPE_ARGS ",\"time_range\":" TIME_RANGE ","
	    "\"sensitivity\":{\"enum\":[\"LOW\",\"MEDIUM\",\"HIGH\",\"low\",\"medium\",\"high\"]},"
	    "\"dimensions\":{\"type\":\"array\",\"items\":{\"enum\":[\"total\","
	    "\"service\",\"resource\"]}}},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"anomalies\",\"summary\","
	    "\"method\",\"thresholds\"],\"properties\":{\"anomalies\":{\"type\":\"array\","
	    "\"items\":{\"type\":\"object\",\"required\":[\"id\",\"timestamp\","
	    "\"resource_urns\",\"severity\",\"current_cost\",\"baseline_cost\","
	    "\"deviation_percent\",\"potential_causes\"],\"properties\":{"
	    "\"severity\":{\"enum\":[\"LOW\",\"MEDIUM\",\"HIGH\",\"CRITICAL\"]},"
	    "\"deviation_percent\":{\"type\":[\"number\",\"null\"]}}}},"
	    "\"summary\":{\"type\":\"object\"},\"method\":{\"type\":\"string\"},"
	    "\"thresholds\":{\"type\":\"object\"}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = anomaly_aliases,
	.handler = t_anomalies,
};

/* --- forecast_costs ------------------------------------------------------ */

static struct json_object *
method_json(const struct forecast *f, int64_t hstart)
{
	struct json_object *m = json_object_new_object(), *wd, *bt;
	static const char *const days[] = { "monday", "tuesday", "wednesday",
	    "thursday", "friday", "saturday", "sunday" };
	double mean = 0;
	int i;

	json_object_object_add(m, "name", json_object_new_string(f->method));
	json_object_object_add(m, "history_start", iso_time(hstart));
	json_object_object_add(m, "history_end", iso_time(hstart + (int64_t)f->n * DAY));
	json_object_object_add(m, "history_days", json_object_new_int(f->n));
	json_object_object_add(m, "trend_per_day", json_object_new_double(
	    round(f->beta[f->weekly ? 7 : 1] * 1e6) / 1e6));
	if (f->weekly) {
		for (i = 0; i < 7; i++)
			mean += f->beta[i] / 7;
		wd = json_object_new_object();
		for (i = 0; i < 7; i++)
			json_object_object_add(wd, days[i], money(f->beta[i] - mean));
		json_object_object_add(m, "weekday_effects", wd);
	}
	json_object_object_add(m, "residual_sd", money(f->sigma));
	bt = json_object_new_object();
	json_object_object_add(bt, "held_out_days", json_object_new_int(f->backtest_days));
	json_object_object_add(bt, "mape_percent", pct(f->mape));
	json_object_object_add(m, "backtest", bt);
	return m;
}

/* One currency's forecast over [fs, fe) from the days before fs. */
static struct json_object *
forecast_one(const struct daily *d, int64_t fs, int64_t fe, double level,
    char *why, size_t whylen)
{
	struct json_object *o, *pts, *p;
	struct forecast f;
	double mean, lo, hi, total = 0;
	int first, n;
	int64_t t;

	data_days(d, &first, &n);
	if (forecast_fit(d->total.cost + first, n, d->day0 + (int64_t)first * DAY, &f,
	    why, whylen) == -1)
		return NULL;
	o = json_object_new_object();
	pts = json_object_new_array();
	for (t = fs; t < fe; t += DAY) {
		forecast_at(&f, (int)((t - f.day0) / DAY), level, &mean, &lo, &hi);
		p = json_object_new_object();
		json_object_object_add(p, "timestamp", iso_time(t));
		json_object_object_add(p, "predicted_cost", money(mean));
		json_object_object_add(p, "lower_bound", money(lo));
		json_object_object_add(p, "upper_bound", money(hi));
		json_object_array_add(pts, p);
		total += mean;
	}
	json_object_object_add(o, "currency", json_object_new_string(d->currency));
	json_object_object_add(o, "data_points", pts);
	json_object_object_add(o, "predicted_total", money(total));
	json_object_object_add(o, "method", method_json(&f, f.day0));
	return o;
}

static int
forecast_args(struct tool_call *c, struct insight *in, int64_t *fs, int64_t *fe,
    double *level, int *hist)
{
	struct json_object *fp, *v;

	json_object_object_get_ex(in->args, "forecast_period", &fp);
	if (time_arg(c, fp, "start", "forecast_period", fs) == -1 ||
	    time_arg(c, fp, "end", "forecast_period", fe) == -1)
		return -1;
	*fs = day_floor(*fs);
	*fe = day_ceil(*fe);
	if (*fe <= *fs || (*fe - *fs) / DAY > 366) {
		tool_call_fail(c, "invalid arguments: forecast_period must run forwards,"
		    " at most 366 days");
		return -1;
	}
	*level = json_object_object_get_ex(in->args, "confidence_level", &v) ?
	    json_object_get_double(v) : 0.95;
	*hist = json_object_object_get_ex(in->args, "history_days", &v) ?
	    json_object_get_int(v) : 90;
	return 0;
}

static void
forecast_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct insight *in = arg;
	struct json_object *ans = NULL, *one, *others, *fp;
	const char *curs[MAX_CURRENCIES];
	char why[256] = "", text[400], b1[16], b2[16], b3[16];
	int64_t fs, fe, from, to;
	double level;
	int hist;
	size_t ncur, k;
	struct daily *d = NULL;

	if (insight_scope(c, in, s) == -1 || forecast_args(c, in, &fs, &fe, &level,
	    &hist) == -1)
		return;
	in->q.from = fs - (int64_t)hist * DAY;
	in->q.to = fs;
	if ((ncur = daily_currencies(st, &in->q, curs, MAX_CURRENCIES)) == 0) {
		if (actual_extent(st, &from, &to))
			tool_call_fail(c, "no spend to forecast from in the %d days before"
			    " %s: the billing data covers %s to %s", hist,
			    fmt_time(fs, 1, b1, sizeof(b1)),
			    fmt_time(from, 1, b2, sizeof(b2)),
			    fmt_time(to, 1, b3, sizeof(b3)));
		else
			no_spend(c, in, st);
		return;
	}
	others = json_object_new_array();
	for (k = 0; k < ncur; k++) {
		in->q.currency = curs[k];
		daily_free(d);
		if ((d = daily_build(st, &in->q, why, sizeof(why))) == NULL ||
		    (one = forecast_one(d, fs, fe, level, why, sizeof(why))) == NULL)
			break;
		if (ans == NULL)
			ans = one;
		else
			json_object_array_add(others, one);
	}
	if (k < ncur) {
		json_object_put(ans);
		json_object_put(others);
		daily_free(d);
		tool_call_fail(c, "%s", why);
		return;
	}
	fp = json_object_new_object();
	json_object_object_add(fp, "start", iso_time(fs));
	json_object_object_add(fp, "end", iso_time(fe));
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    arg_str(in, "stack_name") ? arg_str(in, "stack_name") : ""));
	json_object_object_add(ans, "forecast_period", fp);
	json_object_object_add(ans, "confidence_level", json_object_new_double(level));
	snprintf(text, sizeof(text), "%s fitted to %d days of daily spend; %g%%"
	    " prediction intervals from the residuals (Student's t)",
	    jstr(json_object_object_get(ans, "method"), "name"),
	    json_object_get_int(json_object_object_get(json_object_object_get(ans,
	    "method"), "history_days")), level * 100);
	json_object_object_add(ans, "methodology", json_object_new_string(text));
	if (json_object_array_length(others) > 0)
		json_object_object_add(ans, "other_currencies", others);
	else
		json_object_put(others);
	json_object_object_add(ans, "metadata", scope_meta(in, st, d));
	daily_free(d);
	snprintf(text, sizeof(text), "Forecast %s to %s: %.2f %s (%s); backtest"
	    " MAPE %.1f%%", json_object_get_string(json_object_object_get(fp, "start")),
	    json_object_get_string(json_object_object_get(fp, "end")),
	    jnum(ans, "predicted_total"), jstr(ans, "currency"), jstr(json_object_object_get(
	    ans, "method"), "name"), jnum(json_object_object_get(json_object_object_get(
	    ans, "method"), "backtest"), "mape_percent"));
	tool_call_done(c, ans, text);
}

static void
t_forecast(struct tool_call *c, struct json_object *args)
{
	struct insight *in = insight_new(c, args);

	if (in != NULL)
		cost_with_billing(c, args, forecast_billing, in, insight_free);
}

static const char *const forecast_aliases[] = { "forecast", NULL };

static const struct tool t_forecast_costs = {
	.name = "forecast_costs",
	.title = "Forecast of daily spend",
	.description = "Daily spend of the stack (FOCUS billing data) over"
	    " forecast_period, from a linear trend plus day-of-week model fitted"
	    " to the history_days (default 90) before it, with prediction"
	    " intervals at confidence_level (default 0.95) from the residuals; the"
	    " answer states the method, the history used, the trend per day and"
	    " the model's backtest error (MAPE) on the last days of the history.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"stack_name\",\"forecast_period\"],"
	    "\"properties\":{" SCOPE_ARGS ",\"forecast_period\":" TIME_RANGE ","
	    "\"confidence_level\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
	    "\"exclusiveMaximum\":1},\"history_days\":{\"type\":\"integer\","
	    "\"minimum\":7,\"maximum\":730}},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"stack_name\","
	    "\"forecast_period\",\"data_points\",\"confidence_level\",\"methodology\","
	    "\"method\",\"currency\"],\"properties\":{\"data_points\":{\"type\":\"array\","
	    "\"items\":{\"type\":\"object\",\"required\":[\"timestamp\",\"predicted_cost\","
	    "\"lower_bound\",\"upper_bound\"]}},\"method\":{\"type\":\"object\","
	    "\"required\":[\"name\",\"history_days\",\"backtest\"]}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = forecast_aliases,
	.handler = t_forecast,
};

/* --- track_budget -------------------------------------------------------- */

/* The period of kind p (budget_periods) holding t: [start, end). */
static void
period_of(int p, int64_t t, int64_t *start, int64_t *end)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	switch (p) {
	case 0:
		*start = (int64_t)timegm(&tm);
		*end = *start + DAY;
		return;
	case 1:
		*start = (int64_t)timegm(&tm) - (int64_t)((tm.tm_wday + 6) % 7) * DAY;
		*end = *start + 7 * DAY;
		return;
	case 2:
		tm.tm_mday = 1;
		*start = (int64_t)timegm(&tm);
		tm.tm_mon++;
		break;
	case 3:
		tm.tm_mday = 1;
		tm.tm_mon -= tm.tm_mon % 3;
		*start = (int64_t)timegm(&tm);
		tm.tm_mon += 3;
		break;
	default:
		tm.tm_mday = 1;
		tm.tm_mon = 0;
		*start = (int64_t)timegm(&tm);
		tm.tm_year++;
		break;
	}
	*end = (int64_t)timegm(&tm);
}

/* Status by percent of the budget: documented in doc/analysis.md. */
static const char *
budget_status(double pct_used)
{
	return pct_used >= 100 ? "EXCEEDED" : pct_used >= 90 ? "CRITICAL" :
	    pct_used >= 80 ? "WARNING" : "OK";
}

static const char *
alert_severity(double threshold)
{
	return threshold >= 100 ? "CRITICAL" : threshold >= 90 ? "HIGH" :
	    threshold >= 75 ? "MEDIUM" : "INFO";
}

struct budget_args {
	const char	*name;
	double		 amount;
	const char	*currency;
	int		 period;
	double		 thresholds[BUDGET_MAX_THRESHOLDS];
	size_t		 nthresholds;
	int64_t		 as_of;
};

/* A plugin's budget (GetBudgets): its limit, currency, period, thresholds. */
static int
plugin_budget_args(struct tool_call *c, struct insight *in, struct budget_args *b)
{
	static const char *const periods[] = { "BUDGET_PERIOD_DAILY",
	    "BUDGET_PERIOD_WEEKLY", "BUDGET_PERIOD_MONTHLY", "BUDGET_PERIOD_QUARTERLY",
	    "BUDGET_PERIOD_ANNUALLY" };
	struct json_object *pb = in->plugin_budget, *amt, *th, *f, *v;
	const char *per = jstr(pb, "period");
	size_t i;

	json_object_object_get_ex(pb, "amount", &amt);
	b->amount = jnum(amt, "limit");
	b->currency = jstr(amt, "currency") && *jstr(amt, "currency") ?
	    jstr(amt, "currency") : NULL;
	for (b->period = -1, i = 0; per != NULL && i < nitems(periods); i++)
		if (strcmp(per, periods[i]) == 0)
			b->period = (int)i;
	if (isnan(b->amount) || b->period < 0) {
		tool_call_fail(c, "the plugin %s's budget \"%s\" has no limit or period we"
		    " can track (%s)", jstr(pb, "plugin"), b->name, per ? per : "no period");
		return -1;
	}
	if (json_object_object_get_ex(pb, "thresholds", &th) &&
	    json_object_array_length(th) > 0) {
		b->nthresholds = 0;
		for (i = 0; i < json_object_array_length(th) && i < BUDGET_MAX_THRESHOLDS; i++)
			b->thresholds[b->nthresholds++] = jnum(json_object_array_get_idx(th, i),
			    "percentage");
	}
	/* Its filter, as far as the billing data can apply it. */
	if (json_object_object_get_ex(pb, "filter", &f)) {
		if (json_object_object_get_ex(f, "regions", &v) &&
		    json_object_array_length(v) == 1)
			in->q.region = json_object_get_string(json_object_array_get_idx(v, 0));
		if (json_object_object_get_ex(f, "tags", &v)) {
			json_object_object_foreach(v, k, tv)
				if (add_tag_filter(in, k, json_object_get_string(tv)) == -1) {
					tool_call_fail(c, "out of memory");
					return -1;
				}
		}
	}
	return 0;
}

/* The budget a call asks about: by name from the configuration, or given. */
static int
budget_args(struct tool_call *c, struct insight *in, struct budget_args *b)
{
	static const double defaults[] = { 50, 80, 90, 100 };
	const struct conf *cf = cost_conf();
	struct json_object *v;
	const char *p;
	size_t i;

	memset(b, 0, sizeof(*b));
	b->as_of = (int64_t)time(NULL);
	if ((p = arg_str(in, "as_of")) != NULL &&
	    focus_parse_time(p, strlen(p), &b->as_of) == -1) {
		tool_call_fail(c, "invalid arguments: as_of must be a date-time"
		    " (RFC 3339) or a date (YYYY-MM-DD)");
		return -1;
	}
	memcpy(b->thresholds, defaults, sizeof(defaults));
	b->nthresholds = nitems(defaults);
	b->period = -1;
	b->currency = in->q.currency;
	if ((b->name = arg_str(in, "budget_name")) != NULL) {
		for (i = 0; i < cf->nbudgets && strcmp(cf->budgets[i].name, b->name); i++)
			;
		if (i == cf->nbudgets && in->plugin_budget != NULL) {
			if (plugin_budget_args(c, in, b) == -1)
				return -1;
		} else if (i == cf->nbudgets) {
			tool_call_fail(c, "unknown budget \"%s\": the configuration"
			    " declares %zu (budgets section)%s", b->name, cf->nbudgets,
			    cost_plugins_running() > 0 ? " and no plugin reports one by"
			    " that name or id" : "");
			return -1;
		} else {
			in->budget = &cf->budgets[i];
			b->amount = in->budget->amount;
			b->currency = in->budget->currency;
			b->period = in->budget->period;
			memcpy(b->thresholds, in->budget->thresholds, sizeof(b->thresholds));
			b->nthresholds = in->budget->nthresholds;
		}
	}
	if (json_object_object_get_ex(in->args, "budget_amount", &v))
		b->amount = json_object_get_double(v);
	if ((p = arg_str(in, "period")) != NULL)
		for (b->period = 0; budget_periods[b->period] &&
		    strcasecmp(budget_periods[b->period], p) != 0; b->period++)
			;
	if (json_object_object_get_ex(in->args, "alert_thresholds", &v)) {
		b->nthresholds = 0;
		for (i = 0; i < json_object_array_length(v) &&
		    i < BUDGET_MAX_THRESHOLDS; i++)
			b->thresholds[b->nthresholds++] = json_object_get_double(
			    json_object_array_get_idx(v, i));
	}
	if (b->name == NULL && (!json_object_object_get_ex(in->args, "budget_amount",
	    NULL) || b->period < 0)) {
		tool_call_fail(c, "invalid arguments: give budget_name (a budget of the"
		    " configuration) or budget_amount and period");
		return -1;
	}
	/* No currency named: the one the scope spends most in. */
	in->q.currency = b->currency;
	if (in->budget != NULL) {
		in->q.service = in->q.service ? in->q.service : in->budget->service;
		in->q.region = in->q.region ? in->q.region : in->budget->region;
		in->q.account = in->q.account ? in->q.account : in->budget->account;
		for (i = 0; i < in->budget->tag_keys.n; i++)
			if (add_tag_filter(in, in->budget->tag_keys.v[i],
			    in->budget->tag_values.v[i]) == -1) {
				tool_call_fail(c, "out of memory");
				return -1;
			}
	}
	return 0;
}

struct burn {
	double		 spend, forecast_end, burn_rate;
	int64_t		 now;		/* what the spend counts up to */
	int64_t		 runs_out;	/* 0: not within the period */
	int64_t		 crossed[BUDGET_MAX_THRESHOLDS];	/* actual */
	int64_t		 fcrossed[BUDGET_MAX_THRESHOLDS];	/* forecast */
	const char	*method;
	double		 mape;
};

/*
 * Spend from the period's start to now (the earlier of as_of and the end
 * of the data), the day each threshold was crossed, and the days after
 * forecast by the model of forecast_costs over the 90 days before now, or
 * at the period's burn rate when that history is too short.
 */
static void
burn(const struct daily *d, const struct budget_args *b, int64_t pstart,
    int64_t pend, struct burn *r)
{
	struct forecast f;
	double cum = 0, day, mean, lo, hi, need;
	int i, first, n, fitted;
	int64_t t;
	size_t k;
	char why[128];

	memset(r, 0, sizeof(*r));
	r->now = b->as_of < d->last || d->rows == 0 ? b->as_of : d->last;
	r->now = r->now < pstart ? pstart : r->now > pend ? pend : r->now;
	/* Whole days of actual spend, then the part of today. */
	for (t = pstart; t < day_floor(r->now); t += DAY) {
		cum += d->total.cost[daily_index(d, t)];
		for (k = 0; k < b->nthresholds; k++)
			if (r->crossed[k] == 0 && cum >= b->amount * b->thresholds[k] / 100 &&
			    b->amount > 0)
				r->crossed[k] = t;
		if (r->runs_out == 0 && cum > b->amount)
			r->runs_out = t;
	}
	r->spend = cum;
	if (day_floor(r->now) < r->now && day_floor(r->now) < pend) {
		i = daily_index(d, day_floor(r->now));
		r->spend += d->total.cost[i] * (double)(r->now - day_floor(r->now)) / DAY;
	}
	r->burn_rate = r->now > pstart ? r->spend / ((double)(r->now - pstart) / DAY) : 0;
	/* The rest of the period. */
	data_days(d, &first, &n);
	n = n > daily_index(d, day_floor(r->now)) - first ?
	    daily_index(d, day_floor(r->now)) - first : n;
	r->mape = NAN;
	fitted = n >= 7 && forecast_fit(d->total.cost + first, n, d->day0 +
	    (int64_t)first * DAY, &f, why, sizeof(why)) == 0;
	r->method = fitted ? f.method : "the period's burn rate so far, every"
	    " remaining day";
	r->mape = fitted ? f.mape : NAN;
	cum = r->spend;
	for (t = day_floor(r->now); t < pend; t += DAY) {
		if (fitted)
			forecast_at(&f, (int)((t - f.day0) / DAY), 0.5, &mean, &lo, &hi);
		else
			mean = r->burn_rate;
		day = mean * (t < r->now ? (double)(t + DAY - r->now) / DAY : 1);
		cum += day;
		for (k = 0; k < b->nthresholds; k++) {
			need = b->amount * b->thresholds[k] / 100;
			if (r->crossed[k] == 0 && r->fcrossed[k] == 0 && cum >= need &&
			    b->amount > 0)
				r->fcrossed[k] = t;
		}
		if (r->runs_out == 0 && cum > b->amount)
			r->runs_out = t;
	}
	r->forecast_end = cum;
}

static struct json_object *
budget_alert(double threshold, const char *type, double spend, int64_t when,
    const struct budget_args *b)
{
	struct json_object *a = json_object_new_object();
	char text[300], day[16];

	snprintf(text, sizeof(text), "%s spend %s %g%% of the %s budget of %.2f %s"
	    " on %s", strcmp(type, "actual") == 0 ? "Actual" : "Forecast",
	    strcmp(type, "actual") == 0 ? "reached" : "reaches", threshold,
	    budget_periods[b->period], b->amount, b->currency,
	    fmt_time(when, 1, day, sizeof(day)));
	json_object_object_add(a, "threshold", json_object_new_double(threshold));
	json_object_object_add(a, "type", json_object_new_string(type));
	json_object_object_add(a, strcmp(type, "actual") == 0 ? "current_spend" :
	    "forecast_spend", money(spend));
	json_object_object_add(a, "severity", json_object_new_string(
	    alert_severity(threshold)));
	json_object_object_add(a, "message", json_object_new_string(text));
	json_object_object_add(a, "timestamp", iso_time(when));
	return a;
}

static void
budget_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct insight *in = arg;
	struct json_object *ans, *alerts, *m;
	struct budget_args b;
	struct burn r;
	struct daily *d;
	int64_t pstart, pend;
	char why[256], text[600], day[16];
	double used, fused;
	size_t k;

	if (budget_args(c, in, &b) == -1 || insight_scope(c, in, s) == -1)
		return;
	period_of(b.period, b.as_of, &pstart, &pend);
	/* The period and up to 90 days of history before it, for the forecast. */
	in->q.from = pstart - 90 * DAY;
	in->q.to = pend;
	if ((d = daily_build(st, &in->q, why, sizeof(why))) == NULL) {
		tool_call_fail(c, "%s", why);
		return;
	}
	b.currency = d->currency;
	burn(d, &b, pstart, pend, &r);
	used = b.amount > 0 ? 100 * r.spend / b.amount : NAN;
	fused = b.amount > 0 ? 100 * r.forecast_end / b.amount : NAN;
	alerts = json_object_new_array();
	for (k = 0; k < b.nthresholds; k++) {
		if (r.crossed[k] != 0)
			json_object_array_add(alerts, budget_alert(b.thresholds[k], "actual",
			    r.spend, r.crossed[k], &b));
		else if (r.fcrossed[k] != 0)
			json_object_array_add(alerts, budget_alert(b.thresholds[k],
			    "forecast", r.forecast_end, r.fcrossed[k], &b));
	}
	ans = json_object_new_object();
	if (b.name != NULL)
		json_object_object_add(ans, "budget_name", json_object_new_string(b.name));
	if (in->plugin_budget != NULL) {
		char src[200];

		snprintf(src, sizeof(src), "plugin %s", jstr(in->plugin_budget, "plugin"));
		json_object_object_add(ans, "budget_source", json_object_new_string(src));
		/* What the plugin itself says, next to what the data says. */
		if (json_object_object_get_ex(in->plugin_budget, "status", &m))
			json_object_object_add(ans, "plugin_status", json_object_get(m));
	} else
		json_object_object_add(ans, "budget_source", json_object_new_string(
		    in->budget != NULL ? "configuration" : "arguments"));
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    arg_str(in, "stack_name") ? arg_str(in, "stack_name") : in->budget &&
	    in->budget->stack ? in->budget->stack : ""));
	json_object_object_add(ans, "budget_amount", money(b.amount));
	json_object_object_add(ans, "currency", json_object_new_string(b.currency));
	json_object_object_add(ans, "period", json_object_new_string(budget_periods[b.period]));
	json_object_object_add(ans, "period_start", iso_time(pstart));
	json_object_object_add(ans, "period_end", iso_time(pend));
	json_object_object_add(ans, "as_of", iso_time(b.as_of));
	json_object_object_add(ans, "spend_through", iso_time(r.now));
	json_object_object_add(ans, "current_spending", money(r.spend));
	json_object_object_add(ans, "remaining", money(b.amount - r.spend));
	json_object_object_add(ans, "percent_used", pct(used));
	json_object_object_add(ans, "burn_rate", money(r.burn_rate));
	json_object_object_add(ans, "forecast_end_of_period", money(r.forecast_end));
	json_object_object_add(ans, "forecast_percent", pct(fused));
	json_object_object_add(ans, "projected_end_date", r.runs_out ?
	    json_object_new_string(fmt_time(r.runs_out, 1, day, sizeof(day))) :
	    json_object_new_null());
	json_object_object_add(ans, "status", json_object_new_string(
	    isnan(used) ? (r.spend > 0 ? "EXCEEDED" : "OK") : budget_status(used)));
	json_object_object_add(ans, "forecast_status", json_object_new_string(
	    isnan(fused) ? (r.forecast_end > 0 ? "EXCEEDED" : "OK") : budget_status(fused)));
	json_object_object_add(ans, "alerts", alerts);
	m = scope_meta(in, st, d);
	json_object_object_add(m, "forecast_method", json_object_new_string(r.method));
	json_object_object_add(m, "forecast_backtest_mape_percent", pct(r.mape));
	json_object_object_add(m, "status_thresholds", json_object_new_string(
	    "OK under 80%, WARNING from 80%, CRITICAL from 90%, EXCEEDED from 100%"
	    " of the budget"));
	if (d->rows == 0 || d->last < pstart)
		json_object_object_add(m, "note", json_object_new_string("the billing"
		    " data has no charge in this period: the spend is what the data"
		    " shows, not necessarily what was spent"));
	json_object_object_add(ans, "metadata", m);
	daily_free(d);
	snprintf(text, sizeof(text), "Budget %.2f %s (%s %s): spent %.2f (%.1f%%)"
	    " through %s, %s; forecast %.2f (%.1f%%) by %s, %s", b.amount, b.currency,
	    budget_periods[b.period], fmt_time(pstart, 1, day, sizeof(day)), r.spend,
	    isnan(used) ? 0 : used, jstr(ans, "spend_through"), jstr(ans, "status"),
	    r.forecast_end, isnan(fused) ? 0 : fused, jstr(ans, "period_end"),
	    jstr(ans, "forecast_status"));
	tool_call_done(c, ans, text);
}

struct budget_wait {
	struct tool_call	*call;
	struct insight		*in;
};

static void
on_plugin_budgets(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct budget_wait *w = arg;
	struct json_object *list = NULL;
	const char *bn = jstr(w->in->args, "budget_name");
	size_t i;

	if (fd >= 0)
		close(fd);
	if (err == NULL && json_object_object_get_ex(res, "budgets", &list))
		for (i = 0; i < json_object_array_length(list); i++) {
			struct json_object *b = json_object_array_get_idx(list, i);

			if ((jstr(b, "name") && strcmp(jstr(b, "name"), bn) == 0) ||
			    (jstr(b, "id") && strcmp(jstr(b, "id"), bn) == 0)) {
				w->in->plugin_budget = json_object_get(b);
				break;
			}
		}
	cost_with_billing(w->call, w->in->args, budget_billing, w->in, insight_free);
	free(w);
}

static void
t_budget(struct tool_call *c, struct json_object *args)
{
	struct insight *in = insight_new(c, args);
	const struct conf *cf = cost_conf();
	struct json_object *a2, *params;
	const char *bn = jstr(args, "budget_name");
	struct budget_wait *w;
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; bn && i < cf->nbudgets && strcmp(cf->budgets[i].name, bn) != 0; i++)
		;
	/* Not one of ours: a plugin's, when there are plugins. */
	if (bn && i == cf->nbudgets && cost_plugins_running() != 0 && cost_broker() != NULL &&
	    (w = calloc(1, sizeof(*w))) != NULL) {
		w->call = c;
		w->in = in;
		params = json_object_new_object();
		json_object_object_add(params, "timeout_ms", json_object_new_int64(
		    cf->plugin_timeout));
		if (broker_call(cost_broker(), "plugin_budgets", params, cf->plugin_timeout +
		    5000, on_plugin_budgets, w) == 0)
			return;
		free(w);
	}
	/* A configured budget's stack, when the call names none. */
	for (i = 0; bn && !jstr(args, "stack_name") && i < cf->nbudgets; i++)
		if (strcmp(cf->budgets[i].name, bn) == 0 && cf->budgets[i].stack) {
			a2 = json_object_new_object();
			json_object_object_add(a2, "stack_name", json_object_new_string(
			    cf->budgets[i].stack));
			cost_with_billing(c, a2, budget_billing, in, insight_free);
			json_object_put(a2);
			return;
		}
	cost_with_billing(c, args, budget_billing, in, insight_free);
}

static const struct tool t_track_budget = {
	.name = "track_budget",
	.title = "Budget status from actual spend",
	.description = "Spend in the current period (daily, weekly, monthly,"
	    " quarterly or yearly, holding as_of, default now) from the billing"
	    " data, against a budget given here (budget_amount, period) or declared"
	    " in the configuration (budget_name): percent used, burn rate per day,"
	    " forecast end-of-period spend, the date the budget runs out, status"
	    " OK / WARNING (80%) / CRITICAL (90%) / EXCEEDED (100%), and an alert"
	    " for each threshold crossed, actual or forecast. Without stack_name"
	    " (or a budget's stack) all the billing data counts.",
	.input_schema = "{\"type\":\"object\",\"properties\":{" SCOPE_ARGS ","
	    "\"budget_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"budget_amount\":{\"type\":\"number\",\"minimum\":0},"
	    "\"period\":{\"enum\":[\"DAILY\",\"WEEKLY\",\"MONTHLY\",\"QUARTERLY\","
	    "\"YEARLY\",\"daily\",\"weekly\",\"monthly\",\"quarterly\",\"yearly\"]},"
	    "\"alert_thresholds\":{\"type\":\"array\",\"maxItems\":16,\"items\":{"
	    "\"type\":\"number\",\"minimum\":0,\"maximum\":1000}},"
	    "\"as_of\":{\"type\":\"string\"}},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"budget_amount\","
	    "\"current_spending\",\"remaining\",\"status\",\"alerts\"],\"properties\":{"
	    "\"status\":{\"enum\":[\"OK\",\"WARNING\",\"CRITICAL\",\"EXCEEDED\"]},"
	    "\"forecast_status\":{\"enum\":[\"OK\",\"WARNING\",\"CRITICAL\",\"EXCEEDED\"]},"
	    "\"projected_end_date\":{\"type\":[\"string\",\"null\"]},"
	    "\"alerts\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"
	    "[\"threshold\",\"type\",\"severity\",\"message\",\"timestamp\"]}}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1,
	.handler = t_budget,
};

/* --- get_optimization_recommendations ------------------------------------ */

enum rec_type { R_RIGHTSIZING, R_GENERATION, R_STORAGE, R_IDLE, R_SCHEDULING,
	R_COMMITMENT, R_SPOT, R_OTHER, NREC };

static const struct {
	const char	*name, *alias;
	const char	*rule;
	const char	*steps[3];
} rec_types[NREC] = {
	{ "RIGHTSIZING", NULL, "a cheaper instance family of the same size (AMD,"
	    " Graviton), or single-AZ for a non-production Multi-AZ database,"
	    " priced from the catalogue",
	    { "Change the instance type or class in the Pulumi program",
	      "Run pulumi preview: the change may replace the resource",
	      "Apply with pulumi up in a maintenance window" } },
	{ "GENERATION_UPGRADE", NULL, "a previous-generation instance (t2, m4, c4,"
	    " r4) moved to its current-generation equivalent, priced from the"
	    " catalogue",
	    { "Change the instance type to the current generation",
	      "Check the AMI supports the Nitro system (ENA and NVMe drivers)",
	      "Apply with pulumi up in a maintenance window" } },
	{ "STORAGE_OPTIMIZATION", NULL, "gp2 volumes to gp3 at the catalogue's"
	    " prices; S3 Standard storage with request charges under 1% of its"
	    " storage charges to Standard-IA",
	    { "Change the volume type or the bucket's lifecycle rules in the Pulumi program",
	      "Run pulumi preview to confirm an in-place update",
	      "Apply with pulumi up" } },
	{ "IDLE_RESOURCES", NULL, "a resource billed for usage every day of the"
	    " lookback whose usage charges report no consumed quantity",
	    { "Confirm nothing uses the resource", "Remove it from the Pulumi program",
	      "Apply with pulumi up" } },
	{ "SCHEDULING", NULL, "compute tagged as non-production running all day"
	    " every day (its billed hours at least 95% of the lookback's hours),"
	    " run 10 hours on weekdays instead",
	    { "Add a start/stop schedule (e.g. AWS Instance Scheduler) for working hours",
	      "Or scale the resource to zero outside working hours in the Pulumi program",
	      "Check nothing needs it at night or at weekends" } },
	{ "RESERVED_INSTANCES", "COMMITMENT", "steady on-demand usage (billed every"
	    " day, daily cost varying under 20%) whose SKU the billing data shows"
	    " discounted by a commitment elsewhere: that discount, on the lowest"
	    " daily usage of the lookback",
	    { "Buy a savings plan or reservation covering the lowest daily usage",
	      "Match the term and payment option of the commitment the discount was seen on",
	      "Review the coverage monthly" } },
	{ "SPOT_INSTANCES", NULL, "not computed: the catalogue has no spot prices"
	    " and billing data cannot tell whether a workload tolerates interruption",
	    { NULL, NULL, NULL } },
	{ "OTHER", NULL, "a cost-source plugin's recommendation of another kind"
	    " (its own rule and figures, labelled with its source)",
	    { "Read the plugin's description and reasoning", NULL, NULL } },
};

static int
rec_type_of(const char *kind)
{
	return strcmp(kind, "rightsizing") == 0 ? R_RIGHTSIZING :
	    strcmp(kind, "generation_upgrade") == 0 ? R_GENERATION :
	    strcmp(kind, "storage_optimization") == 0 ? R_STORAGE :
	    strcmp(kind, "schedule") == 0 ? R_SCHEDULING : -1;
}

struct recs {
	struct insight		*in;
	struct json_object	*list, *totals, *skipped;
	int			 want[NREC];
	double			 min_saving;
	int			 days;		/* lookback */
	const struct daily	*d;		/* NULL without billing data */
	double			*disc_list, *disc_eff;	/* per SKU id */
	const struct focus_store *st;
	struct json_object	*by_urn;	/* the projected records */
};

static const struct daily_line *
line_of(const struct daily *d, const char *urn)
{
	size_t i;

	for (i = 0; d != NULL && i < d->nres; i++)
		if (strcmp(d->res[i].name, urn) == 0)
			return &d->res[i];
	return NULL;
}

static double
monthly(const struct recs *rc, double window_sum)
{
	return window_sum * DAYS_PER_MONTH / rc->days;
}

static void
skip(struct recs *rc, int type, const char *urn, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string(rec_types[type].name));
	if (urn != NULL)
		json_object_object_add(o, "resource_urn", json_object_new_string(urn));
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_array_add(rc->skipped, o);
}

static void
recommend(struct recs *rc, int type, const char *urn, double current, double saving,
    const char *currency, const char *confidence, const char *text,
    const char *basis, const char *source)
{
	struct json_object *o, *steps;
	char id[64];
	size_t i;

	if (!rc->want[type] || isnan(saving) || saving <= 0 || saving < rc->min_saving)
		return;
	snprintf(id, sizeof(id), "rec-%08x-%s", fnv(urn), rec_types[type].name);
	for (i = 0; id[i]; i++)
		id[i] = (char)(id[i] == '_' ? '-' : tolower((unsigned char)id[i]));
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string(rec_types[type].name));
	json_object_object_add(o, "resource_urn", json_object_new_string(urn));
	json_object_object_add(o, "current_cost", money(current));
	json_object_object_add(o, "projected_savings", money(saving));
	json_object_object_add(o, "currency", json_object_new_string(currency));
	json_object_object_add(o, "confidence", json_object_new_string(confidence));
	json_object_object_add(o, "description", json_object_new_string(text));
	steps = json_object_new_array();
	for (i = 0; i < 3 && rec_types[type].steps[i]; i++)
		json_object_array_add(steps, json_object_new_string(rec_types[type].steps[i]));
	json_object_object_add(o, "action_steps", steps);
	json_object_object_add(o, "basis", json_object_new_string(basis));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_array_add(rc->list, o);
	money_add(rc->totals, "total", currency, saving);
}

/* Hours of usage billed over the lookback, for a resource billed by the hour. */
static int
runs_all_day(const struct recs *rc, const struct daily_line *l)
{
	return l->qty_seen && sum(l->qty, 0, rc->d->ndays - 1) >= 0.95 * 24 * rc->days;
}

/* The engine's hints for one priced resource, with actual spend where billed. */
static void
catalogue_rules(struct recs *rc, const struct presource *pr, struct json_object *rec)
{
	struct json_object *hints = json_object_new_array(), *h;
	const struct daily_line *l = line_of(rc->d, pr->urn);
	double proj = jnum(rec, "monthly_cost"), actual, saving, current;
	const char *basis;
	char text[700];
	size_t i;
	int type;

	advice_for(pr, rec, hints);
	for (i = 0; i < json_object_array_length(hints); i++) {
		h = json_object_array_get_idx(hints, i);
		if ((type = rec_type_of(jstr(h, "kind"))) < 0)
			continue;
		saving = jnum(h, "monthly_saving");
		current = proj;
		basis = "catalogue: the projected monthly cost of its configuration";
		actual = l != NULL ? monthly(rc, sum(l->cost, 0, rc->d->ndays - 1)) : NAN;
		if (l != NULL && actual > 0 && proj > 0 &&
		    strcmp(rc->d->currency, jstr(h, "currency")) == 0) {
			/* The same share of what it actually costs. */
			saving *= actual / proj;
			current = actual;
			basis = "billing: its actual spend over the lookback, scaled by"
			    " the catalogue's price ratio";
		}
		if (type == R_SCHEDULING && l != NULL && !runs_all_day(rc, l)) {
			skip(rc, R_SCHEDULING, pr->urn, "tagged non-production, but"
			    " billed for under 95% of the lookback's hours: already"
			    " stopped part of the time");
			continue;
		}
		snprintf(text, sizeof(text), "%s", jstr(h, "description"));
		recommend(rc, type, pr->urn, current, saving, jstr(h, "currency"),
		    jstr(h, "confidence"), text, basis, "pulumicost-mcp pricing"
		    " catalogue (doc/pricing.md)");
	}
	json_object_put(hints);
}

/* Lowest and mean daily usage cost, and their spread: steady usage? */
static int
steady(const struct recs *rc, const struct daily_line *l, double *low)
{
	double mean = 0, var = 0;
	int t, n = rc->d->ndays;

	*low = INFINITY;
	for (t = 0; t < n; t++) {
		if (l->usage[t] <= 0)
			return 0;
		mean += l->usage[t] / n;
		*low = fmin(*low, l->usage[t]);
	}
	for (t = 0; t < n; t++)
		var += (l->usage[t] - mean) * (l->usage[t] - mean) / n;
	return n >= 14 && sqrt(var) <= 0.2 * mean;
}

static int
on_demand(const struct focus_store *st, const struct daily_line *l)
{
	const char *p = focus_str(st, l->pricing);

	return strcasecmp(p, "Standard") == 0 || strcasecmp(p, "On-Demand") == 0 ||
	    strcasecmp(p, "OnDemand") == 0;
}

static void
commitment_rule(struct recs *rc, const struct daily_line *l)
{
	double low, disc, share, usage = sum(l->usage, 0, rc->d->ndays - 1);
	char text[700];
	size_t i;

	/* Hourly usage (instances, databases, caches), on demand, steady. */
	if (!on_demand(rc->st, l) || l->list > 0 || l->hours_cost < 0.5 * usage ||
	    l->sku == 0 || !steady(rc, l, &low))
		return;
	if (rc->disc_list[l->sku] <= 0) {
		skip(rc, R_COMMITMENT, l->name, "steady on-demand hourly usage, but"
		    " the billing data shows no commitment discount on its SKU to"
		    " price a commitment with");
		return;
	}
	for (i = 0; i < nitems(l->skus) && l->skus[i] != l->sku; i++)
		;
	/* The commitment covers the main SKU's share of the lowest day. */
	share = l->sku_cost[i] / usage;
	disc = 1 - rc->disc_eff[l->sku] / rc->disc_list[l->sku];
	snprintf(text, sizeof(text), "steady on-demand usage of SKU %s (at least %.2f"
	    " %s a day over %d days, %.0f%% of it this SKU): a commitment covering"
	    " that much, at the %.1f%% discount the billing data shows on this SKU,"
	    " saves %.2f a month", focus_str(rc->st, l->sku), low, rc->d->currency,
	    rc->days, 100 * share, 100 * disc, low * share * disc * DAYS_PER_MONTH);
	recommend(rc, R_COMMITMENT, l->name, monthly(rc, sum(l->cost, 0,
	    rc->d->ndays - 1)), low * share * disc * DAYS_PER_MONTH, rc->d->currency,
	    "MEDIUM", text, "billing: the lowest daily usage cost of the lookback",
	    "the discount of committed-use charges of the same SKU in the billing"
	    " data (CommitmentDiscountId set)");
}

static void
idle_rule(struct recs *rc, const struct daily_line *l)
{
	double usage = sum(l->usage, 0, rc->d->ndays - 1);
	char text[400];
	int t;

	if (!l->qty_seen || usage <= 0 || sum(l->qty, 0, rc->d->ndays - 1) != 0)
		return;
	for (t = 0; t < rc->d->ndays; t++)
		if (l->usage[t] <= 0)
			return;
	snprintf(text, sizeof(text), "billed %.2f %s for usage over %d days with no"
	    " consumed quantity: provisioned but unused", usage, rc->d->currency,
	    rc->days);
	recommend(rc, R_IDLE, l->name, monthly(rc, sum(l->cost, 0, rc->d->ndays - 1)),
	    monthly(rc, sum(l->cost, 0, rc->d->ndays - 1)), rc->d->currency, "MEDIUM",
	    text, "billing: its spend over the lookback", "the billing data");
}

static void
storage_class_rule(struct recs *rc, const struct daily_line *l)
{
	const char *svc = focus_str(rc->st, l->service), *region;
	const struct price *std, *ia;
	double gb, unit, saving;
	char text[600];

	if (l->gbmo <= 0 || (strstr(svc, "S3") == NULL && strstr(svc,
	    "Simple Storage") == NULL))
		return;
	/* The billing's region, else the one the stack's resource is in. */
	region = focus_str(rc->st, l->region);
	if (*region == '\0' && (region = jstr(json_object_object_get(rc->by_urn,
	    l->name), "region")) == NULL)
		region = "";
	if ((std = catalog_find("aws", "s3", "STANDARD", region)) == NULL ||
	    (ia = catalog_find("aws", "s3", "STANDARD_IA", region)) == NULL ||
	    strcmp(std->currency, rc->d->currency) != 0) {
		skip(rc, R_STORAGE, l->name, "S3 storage in a region or currency the"
		    " catalogue has no Standard and Standard-IA prices for");
		return;
	}
	unit = l->storage_cost / l->gbmo;
	if (fabs(unit / std->amount - 1) > 0.2 || l->request_cost > 0.01 * l->storage_cost)
		return;
	gb = l->gbmo * DAYS_PER_MONTH / rc->days;
	saving = gb * (std->amount - ia->amount);
	snprintf(text, sizeof(text), "%.0f GB stored at the Standard price (%.4f %s"
	    " per GB-month billed) with request charges of %.2f, under 1%% of its"
	    " storage charges: Standard-IA at %.4f saves %.2f a month (retrievals"
	    " cost 0.01 per GB)", gb, unit, std->currency, l->request_cost,
	    ia->amount, saving);
	recommend(rc, R_STORAGE, l->name, monthly(rc, sum(l->cost, 0, rc->d->ndays - 1)),
	    saving, std->currency, "MEDIUM", text, "billing: its GB-months and"
	    " request charges over the lookback", std->source);
}

/* The discount committed-use charges show, by SKU, over all the data. */
static int
observed_discounts(struct recs *rc)
{
	size_t i, n = focus_count(rc->st), ns = focus_nstrs(rc->st);

	if ((rc->disc_list = calloc(ns + 1, sizeof(double))) == NULL ||
	    (rc->disc_eff = calloc(ns + 1, sizeof(double))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct focus_row *r = focus_row(rc->st, i);
		double e = actual_amount(r, B_EFFECTIVE);

		if (r->commitment == 0 || r->sku == 0 || isnan(r->list) || isnan(e) ||
		    r->category != FC_USAGE)
			continue;
		rc->disc_list[r->sku] += r->list;
		rc->disc_eff[r->sku] += e;
	}
	return 0;
}

/* A plugin's action type, as one of ours. */
static int
rec_type_of_plugin(const char *action)
{
	static const struct {
		const char	*suffix;
		int		 type;
	} map[] = {
		{ "RIGHTSIZE", R_RIGHTSIZING }, { "PURCHASE_COMMITMENT", R_COMMITMENT },
		{ "TERMINATE", R_IDLE }, { "DELETE_UNUSED", R_IDLE },
		{ "SCHEDULE", R_SCHEDULING },
	};
	size_t i, n = strlen(action);

	for (i = 0; i < nitems(map); i++)
		if (n >= strlen(map[i].suffix) &&
		    strcmp(action + n - strlen(map[i].suffix), map[i].suffix) == 0)
			return map[i].type;
	return R_OTHER;
}

/* The plugins' recommendations for this stack's resources, labelled. */
static void
plugin_rules(struct recs *rc)
{
	struct json_object *list = rc->in->plugin_recs;
	size_t i, skipped = 0;
	char text[600], source[200];

	for (i = 0; list != NULL && i < json_object_array_length(list); i++) {
		struct json_object *r = json_object_array_get_idx(list, i), *res, *imp, *v;
		const char *period, *cur;
		double saving, current, conf;
		int idx;

		json_object_object_get_ex(r, "resource", &res);
		json_object_object_get_ex(r, "impact", &imp);
		idx = rc->in->j != NULL ? join_id(rc->in->j, jstr(res, "id")) : -1;
		if (idx < 0) {
			skipped++;
			continue;
		}
		saving = json_object_object_get_ex(imp, "estimated_savings", &v) ?
		    json_object_get_double(v) : 0;
		/* Its current cost: the plugin's, else what we project. */
		current = json_object_object_get_ex(imp, "current_cost", &v) ?
		    json_object_get_double(v) : jnum(json_object_object_get(rc->by_urn,
		    join_name(rc->in->j, idx)), "monthly_cost");
		/* Savings per month: a plugin may state another period. */
		period = jstr(imp, "projection_period") ? jstr(imp, "projection_period") : "";
		if (strcasestr(period, "year") || strcasestr(period, "annual"))
			saving /= 12, current /= 12;
		else if (strcasestr(period, "day"))
			saving *= DAYS_PER_MONTH, current *= DAYS_PER_MONTH;
		cur = jstr(imp, "currency") && *jstr(imp, "currency") ? jstr(imp, "currency") :
		    "USD";
		conf = json_object_object_get_ex(r, "confidence_score", &v) ?
		    json_object_get_double(v) : 0.5;
		snprintf(text, sizeof(text), "%s", jstr(r, "description") ?
		    jstr(r, "description") : "(no description)");
		snprintf(source, sizeof(source), "plugin %s%s%s", jstr(r, "plugin"),
		    jstr(r, "id") ? ", recommendation " : "", jstr(r, "id") ? jstr(r, "id") : "");
		recommend(rc, rec_type_of_plugin(jstr(r, "action_type") ? jstr(r, "action_type") :
		    ""), join_name(rc->in->j, idx), current, saving, cur, conf >= 0.8 ? "HIGH" :
		    conf >= 0.5 ? "MEDIUM" : "LOW", text, "plugin: its own figures", source);
	}
	if (skipped > 0) {
		snprintf(text, sizeof(text), "%zu recommendation%s of the plugins for"
		    " resources that are not in this stack", skipped, skipped == 1 ? "" : "s");
		skip(rc, R_OTHER, NULL, text);
	}
}

static int
rec_args(struct tool_call *c, struct recs *rc)
{
	struct json_object *types, *v;
	size_t i, k;

	rc->min_saving = json_object_object_get_ex(rc->in->args, "minimum_savings", &v) ?
	    json_object_get_double(v) : 0;
	rc->days = json_object_object_get_ex(rc->in->args, "lookback_days", &v) ?
	    json_object_get_int(v) : 30;
	if (!json_object_object_get_ex(rc->in->args, "recommendation_types", &types)) {
		for (k = 0; k < NREC; k++)
			rc->want[k] = 1;
		return 0;
	}
	for (i = 0; i < json_object_array_length(types); i++) {
		const char *tn = json_object_get_string(json_object_array_get_idx(types, i));

		for (k = 0; k < NREC; k++)
			if (strcasecmp(tn, rec_types[k].name) == 0 ||
			    (rec_types[k].alias && strcasecmp(tn, rec_types[k].alias) == 0))
				break;
		if (k == NREC) {
			tool_call_fail(c, "invalid arguments: recommendation_types[%zu]:"
			    " \"%s\" is not a known type", i, tn);
			return -1;
		}
		rc->want[k] = 1;
	}
	return 0;
}

static int
by_saving(const void *a, const void *b)
{
	double x = jnum(*(struct json_object *const *)a, "projected_savings");
	double y = jnum(*(struct json_object *const *)b, "projected_savings");

	return x < y ? 1 : x > y ? -1 : 0;
}

static struct json_object *
rules_json(const struct recs *rc)
{
	struct json_object *o = json_object_new_object();
	size_t k;

	for (k = 0; k < NREC; k++)
		if (rc->want[k])
			json_object_object_add(o, rec_types[k].name,
			    json_object_new_string(rec_types[k].rule));
	return o;
}

static void
recs_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct insight *in = arg;
	struct json_object *proj, *res, *ans, *m, *lb;
	struct cost_opts o;
	struct recs rc;
	struct daily *d = NULL;
	int64_t from = 0, to = 0, end;
	const char *p;
	char why[256], text[300];
	size_t i;

	memset(&rc, 0, sizeof(rc));
	rc.in = in;
	rc.st = st;
	if (rec_args(c, &rc) == -1 || insight_scope(c, in, s) == -1)
		return;
	/* The lookback: the days before as_of, or before the data ends. */
	if ((p = arg_str(in, "as_of")) != NULL) {
		if (focus_parse_time(p, strlen(p), &end) == -1) {
			tool_call_fail(c, "invalid arguments: as_of must be a date-time"
			    " (RFC 3339) or a date (YYYY-MM-DD)");
			return;
		}
	} else
		end = actual_extent(st, &from, &to) ? to : (int64_t)time(NULL);
	in->q.to = day_floor(end);
	in->q.from = in->q.to - (int64_t)rc.days * DAY;
	if (daily_currencies(st, &in->q, &in->q.currency, 1) == 1 &&
	    (d = daily_build(st, &in->q, why, sizeof(why))) == NULL) {
		tool_call_fail(c, "%s", why);
		return;
	}
	rc.d = d != NULL && d->rows > 0 ? d : NULL;
	if (observed_discounts(&rc) == -1) {
		daily_free(d);
		free(rc.disc_list);
		tool_call_fail(c, "out of memory");
		return;
	}
	rc.list = json_object_new_array();
	rc.totals = json_object_new_object();
	rc.skipped = json_object_new_array();
	memset(&o, 0, sizeof(o));
	o.default_region = arg_str(in, "default_region");
	json_object_object_get_ex(in->args, "usage", &o.usage);
	o.include_unchanged = 1;
	proj = cost_projected(s, &o);
	json_object_object_get_ex(proj, "resources", &res);
	rc.by_urn = json_object_new_object();
	for (i = 0; i < json_object_array_length(res); i++) {
		struct json_object *r = json_object_array_get_idx(res, i);
		const struct presource *pr = pulumi_find_urn(s, jstr(r, "urn"));

		if (jstr(r, "urn") != NULL)
			json_object_object_add(rc.by_urn, jstr(r, "urn"), json_object_get(r));
		if (pr != NULL)
			catalogue_rules(&rc, pr, r);
	}
	for (i = 0; rc.d != NULL && i < rc.d->nres; i++) {
		if (strncmp(rc.d->res[i].name, "urn:", 4) != 0)
			continue;	/* a tag group, not a resource */
		idle_rule(&rc, &rc.d->res[i]);
		commitment_rule(&rc, &rc.d->res[i]);
		storage_class_rule(&rc, &rc.d->res[i]);
	}
	if (rc.want[R_SPOT])
		skip(&rc, R_SPOT, NULL, rec_types[R_SPOT].rule);
	plugin_rules(&rc);
	json_object_array_sort(rc.list, by_saving);
	ans = json_object_new_object();
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    arg_str(in, "stack_name") ? arg_str(in, "stack_name") : ""));
	json_object_object_add(ans, "recommendations", rc.list);
	json_object_object_add(ans, "total_monthly_savings", json_object_object_get_ex(
	    rc.totals, "total", &m) ? money_rounded(m) : json_object_new_object());
	json_object_object_add(ans, "rules", rules_json(&rc));
	json_object_object_add(ans, "not_recommended", rc.skipped);
	m = scope_meta(in, st, rc.d);
	lb = json_object_new_object();
	json_object_object_add(lb, "start", iso_time(in->q.from));
	json_object_object_add(lb, "end", iso_time(in->q.to));
	json_object_object_add(lb, "days", json_object_new_int(rc.days));
	json_object_object_add(m, "lookback", lb);
	json_object_object_add(m, "billing_data_used", json_object_new_boolean(rc.d != NULL));
	json_object_object_add(m, "minimum_savings", json_object_new_double(rc.min_saving));
	if (in->plugin_errors != NULL && json_object_array_length(in->plugin_errors) > 0)
		json_object_object_add(m, "plugin_errors", json_object_get(in->plugin_errors));
	json_object_object_add(ans, "metadata", m);
	snprintf(text, sizeof(text), "%zu recommendation%s for stack %s%s",
	    json_object_array_length(rc.list), json_object_array_length(rc.list) == 1 ?
	    "" : "s", jstr(ans, "stack_name"), rc.d ? ", priced from billing data"
	    " where the resource is billed" : ", priced from the catalogue (no"
	    " billing data for the stack in the lookback)");
	json_object_put(proj);
	json_object_put(rc.by_urn);
	json_object_put(rc.totals);
	free(rc.disc_list);
	free(rc.disc_eff);
	daily_free(d);
	tool_call_done(c, ans, text);
}

struct recs_wait {
	struct tool_call	*call;
	struct insight		*in;
};

static void
on_plugin_recs(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct recs_wait *w = arg;
	struct json_object *v;

	if (fd >= 0)
		close(fd);
	if (err == NULL && json_object_object_get_ex(res, "recommendations", &v))
		w->in->plugin_recs = json_object_get(v);
	if (err == NULL && json_object_object_get_ex(res, "errors", &v))
		w->in->plugin_errors = json_object_get(v);
	cost_with_billing_opt(w->call, w->in->args, recs_billing, w->in, insight_free,
	    WB_OPTIONAL | WB_PRICES);
	free(w);
}

static void
t_recs(struct tool_call *c, struct json_object *args)
{
	struct insight *in = insight_new(c, args);
	struct recs_wait *w;
	struct json_object *params;

	if (in == NULL)
		return;
	/* The plugins' own recommendations first, when there are plugins. */
	if (cost_plugins_running() != 0 && cost_broker() != NULL &&
	    (w = calloc(1, sizeof(*w))) != NULL) {
		w->call = c;
		w->in = in;
		params = json_object_new_object();
		json_object_object_add(params, "timeout_ms", json_object_new_int64(
		    cost_conf()->plugin_timeout));
		if (broker_call(cost_broker(), "plugin_recommendations", params,
		    cost_conf()->plugin_timeout + 5000, on_plugin_recs, w) == 0)
			return;
		free(w);
	}
	cost_with_billing_opt(c, args, recs_billing, in, insight_free,
	    WB_OPTIONAL | WB_PRICES);
}

static const char *const recs_aliases[] = { "get_recommendations", NULL };

static const struct tool t_get_recs = {
	.name = "get_optimization_recommendations",
	.title = "Priced optimisation recommendations",
	.description = "Recommendations for a stack, each by a documented rule and"
	    " each saving computed from the pricing catalogue and, where the"
	    " resource is billed, its actual spend over lookback_days (default"
	    " 30): rightsizing to a cheaper family, previous to current"
	    " generation, gp2 to gp3, S3 Standard to Standard-IA, idle resources,"
	    " schedules for non-production compute running around the clock, and"
	    " commitments for steady on-demand usage (at a discount the billing"
	    " data shows). recommendation_types and minimum_savings (monthly)"
	    " filter; not_recommended says what was checked and why not.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"stack_name\"],"
	    "\"properties\":{" SCOPE_ARGS ",\"recommendation_types\":{\"type\":"
	    "\"array\",\"items\":{\"type\":\"string\"}},\"minimum_savings\":{"
	    "\"type\":\"number\",\"minimum\":0},\"lookback_days\":{\"type\":"
	    "\"integer\",\"minimum\":7,\"maximum\":365},\"as_of\":{\"type\":\"string\"},"
	    "\"default_region\":{\"type\":\"string\"},\"usage\":{\"type\":\"object\","
	    "\"additionalProperties\":{\"type\":\"number\",\"minimum\":0}}},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"recommendations\","
	    "\"total_monthly_savings\",\"rules\"],\"properties\":{\"recommendations\":"
	    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\","
	    "\"type\",\"resource_urn\",\"current_cost\",\"projected_savings\","
	    "\"confidence\",\"description\"],\"properties\":{\"confidence\":{\"enum\":"
	    "[\"LOW\",\"MEDIUM\",\"HIGH\"]}}}}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = recs_aliases,
	.handler = t_recs,
};

/* --- query_cost_by_tags over a time range -------------------------------- */

struct tag_query {
	struct insight		*in;
	const struct pstack	*s;
	struct json_object	**row_tags;	/* per Tags id, parsed on use */
	struct json_object	**res_tags;	/* per stack resource */
	size_t			 nrow, nres;
	const char		*key;		/* grouped by now */
	const char		*fkey;		/* filters.key, or NULL */
	struct json_object	*fvals;		/* filters.values */
};

static void
tags_free(struct tag_query *tq)
{
	size_t i;

	for (i = 0; i < tq->nrow; i++)
		json_object_put(tq->row_tags[i]);
	for (i = 0; i < tq->nres; i++)
		json_object_put(tq->res_tags[i]);
	free(tq->row_tags);
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
	int i;

	if (r->tags != 0 && r->tags < tq->nrow) {
		if (tq->row_tags[r->tags] == NULL)
			tq->row_tags[r->tags] = json_tokener_parse(focus_str(st, r->tags));
		if (json_object_object_get_ex(tq->row_tags[r->tags], key, &v))
			return json_object_get_string(v);
	}
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
	tq.nrow = focus_nstrs(st);
	tq.nres = s != NULL ? s->n : 0;
	if ((tq.row_tags = calloc(tq.nrow + 1, sizeof(*tq.row_tags))) == NULL ||
	    (tq.res_tags = calloc(tq.nres + 1, sizeof(*tq.res_tags))) == NULL) {
		free(tq.row_tags);
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

void
insight_tools_init(void)
{
	tools_register(&t_detect_anomalies);
	tools_register(&t_forecast_costs);
	tools_register(&t_track_budget);
	tools_register(&t_get_recs);
}
