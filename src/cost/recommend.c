/*
 * get_optimization_recommendations: documented rules priced from the
 * catalogue and billing data, and the plugins' own (doc/analysis.md).
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
	struct json_object	*line_by_urn;	/* index into d->res */
};

/* The billed line of a resource, looked up in the index built once per call. */
static const struct daily_line *
line_of(const struct recs *rc, const char *urn)
{
	struct json_object *i;

	if (rc->d == NULL || !json_object_object_get_ex(rc->line_by_urn, urn, &i))
		return NULL;
	return &rc->d->res[json_object_get_int64(i)];
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
	snprintf(id, sizeof(id), "rec-%08x-%s", fnv32(urn), rec_types[type].name);
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
	return l->qty_seen && series_sum(l->qty, 0, rc->d->ndays - 1) >= 0.95 * 24 * rc->days;
}

/* The engine's hints for one priced resource, with actual spend where billed. */
static void
catalogue_rules(struct recs *rc, const struct presource *pr, struct json_object *rec)
{
	struct json_object *hints = json_object_new_array(), *h;
	const struct daily_line *l = line_of(rc, pr->urn);
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
		actual = l != NULL ? monthly(rc, series_sum(l->cost, 0, rc->d->ndays - 1)) : NAN;
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
	double low, disc, share, usage = series_sum(l->usage, 0, rc->d->ndays - 1);
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
	recommend(rc, R_COMMITMENT, l->name, monthly(rc, series_sum(l->cost, 0,
	    rc->d->ndays - 1)), low * share * disc * DAYS_PER_MONTH, rc->d->currency,
	    "MEDIUM", text, "billing: the lowest daily usage cost of the lookback",
	    "the discount of committed-use charges of the same SKU in the billing"
	    " data (CommitmentDiscountId set)");
}

static void
idle_rule(struct recs *rc, const struct daily_line *l)
{
	double usage = series_sum(l->usage, 0, rc->d->ndays - 1);
	char text[400];
	int t;

	if (!l->qty_seen || usage <= 0 || series_sum(l->qty, 0, rc->d->ndays - 1) != 0)
		return;
	for (t = 0; t < rc->d->ndays; t++)
		if (l->usage[t] <= 0)
			return;
	snprintf(text, sizeof(text), "billed %.2f %s for usage over %d days with no"
	    " consumed quantity: provisioned but unused", usage, rc->d->currency,
	    rc->days);
	recommend(rc, R_IDLE, l->name, monthly(rc, series_sum(l->cost, 0, rc->d->ndays - 1)),
	    monthly(rc, series_sum(l->cost, 0, rc->d->ndays - 1)), rc->d->currency, "MEDIUM",
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
	recommend(rc, R_STORAGE, l->name, monthly(rc, series_sum(l->cost, 0, rc->d->ndays - 1)),
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
	rc.line_by_urn = json_object_new_object();
	for (i = 0; rc.d != NULL && i < rc.d->nres; i++)
		if (!json_object_object_get_ex(rc.line_by_urn, rc.d->res[i].name, NULL))
			json_object_object_add(rc.line_by_urn, rc.d->res[i].name,
			    json_object_new_int64((int64_t)i));
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
	json_object_put(rc.line_by_urn);
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

const struct tool t_get_recs = {
	.name = "get_optimization_recommendations",
	.cost_query = 1,
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
