/*
 * track_budget: a budget (given, configured or a plugin's) against the
 * spend in its period, with the forecast to its end (doc/analysis.md).
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
			    in->plugins_asked > 0 ? " and no plugin reports one by"
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
	if (err == NULL)
		w->in->plugins_asked = json_object_get_int64(json_object_object_get(res,
		    "plugins"));
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

const struct tool t_track_budget = {
	.name = "track_budget",
	.cost_query = 1,
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
