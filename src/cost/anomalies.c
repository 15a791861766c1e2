/*
 * detect_cost_anomalies: a same-weekday median baseline and median/MAD
 * scores over the stack, each service and each resource (doc/analysis.md).
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
	double before = series_sum(r->cost, a - 28, a - 1), now = series_sum(r->cost, a, b);
	double off = series_sum(r->oneoff, a, b) - base_sum(r->oneoff, a, b);
	double qn = series_sum(r->qty, a, b), qb = base_sum(r->qty, a, b);
	double un = series_sum(r->usage, a, b), ub = series_sum(r->usage, a - 28, a - 1);
	double qprev = series_sum(r->qty, a - 28, a - 1);

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
		delta = series_sum(r->cost, u->a, u->b) - base_sum(r->cost, u->a, u->b);
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
	off = series_sum(u->line->oneoff, u->a, u->b) - base_sum(u->line->oneoff, u->a, u->b);
	if (json_object_array_length(causes) == 0 && off * u->dir > 0 &&
	    fabs(off) >= 0.5 * fabs(u->cur - u->base))
		cause(causes, off > 0 ? "one_off_charge" : "credit", NULL, "%s of %.2f"
		    " outside usage, not on any one resource", off > 0 ? "charges" :
		    "credits", fabs(off));
	free(cs);
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
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, fnv32(u->line->name));
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

static const char *const anomaly_aliases[] = { "detect_anomalies", NULL };

const struct tool t_detect_anomalies = {
	.name = "detect_cost_anomalies",
	.cost_query = 1,
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
