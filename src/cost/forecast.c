/*
 * forecast_costs: a linear trend plus day-of-week model with t prediction
 * intervals and a backtest (doc/analysis.md).
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

const struct tool t_forecast_costs = {
	.name = "forecast_costs",
	.cost_query = 1,
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
