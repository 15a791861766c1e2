#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/util.h"
#include "actual.h"
#include "money.h"

static const char *const gran_names[] = { "hourly", "daily", "weekly", "monthly" };
static const char *const basis_names[] = { "effective", "billed", "list" };

static int
index_of(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int
actual_granularity(const char *s)
{
	return index_of(gran_names, nitems(gran_names), s);
}

int
actual_basis(const char *s)
{
	return index_of(basis_names, nitems(basis_names), s);
}

int
actual_extent(const struct focus_store *s, int64_t *from, int64_t *to)
{
	size_t i, n = focus_count(s);

	if (n == 0)
		return 0;
	*from = focus_row(s, 0)->start;
	*to = focus_row(s, 0)->end;
	for (i = 1; i < n; i++) {
		if (focus_row(s, i)->start < *from)
			*from = focus_row(s, i)->start;
		if (focus_row(s, i)->end > *to)
			*to = focus_row(s, i)->end;
	}
	return 1;
}

/* The start of the bucket holding t (UTC; weeks start on Monday). */
static int64_t
bucket_start(int64_t t, enum granularity g)
{
	time_t tt = (time_t)t;
	struct tm tm;

	switch (g) {
	case G_HOURLY:
		return t - ((t % 3600) + 3600) % 3600;
	case G_DAILY:
		return t - ((t % 86400) + 86400) % 86400;
	case G_WEEKLY: {
		int64_t d = t - ((t % 86400) + 86400) % 86400;

		gmtime_r(&tt, &tm);
		return d - (int64_t)((tm.tm_wday + 6) % 7) * 86400;
	}
	default:
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		return (int64_t)timegm(&tm);
	}
}

static int64_t
bucket_next(int64_t b, enum granularity g)
{
	time_t tt = (time_t)b;
	struct tm tm;

	switch (g) {
	case G_HOURLY:
		return b + 3600;
	case G_DAILY:
		return b + 86400;
	case G_WEEKLY:
		return b + 7 * 86400;
	default:
		gmtime_r(&tt, &tm);
		tm.tm_mon++;
		return (int64_t)timegm(&tm);
	}
}

static void
stamp(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double
amount(const struct focus_row *r, enum basis b)
{
	double v = b == B_BILLED ? r->billed : b == B_LIST ? r->list : r->effective;

	/* EffectiveCost absent (some exporters): BilledCost stands in. */
	if (isnan(v) && b == B_EFFECTIVE)
		v = r->billed;
	return v;
}

static const char *
group_of(const struct focus_store *s, const struct focus_row *r, const char *g,
    char *buf, size_t len)
{
	const char *v = NULL;

	if (strcmp(g, "service") == 0)
		v = focus_str(s, r->service);
	else if (strcmp(g, "resource") == 0)
		v = focus_str(s, r->resource);
	else if (strcmp(g, "region") == 0)
		v = focus_str(s, r->region);
	else if (strcmp(g, "account") == 0)
		v = focus_str(s, r->account);
	else if (strcmp(g, "category") == 0)
		v = focus_category_name(r->category);
	else if (strncmp(g, "tag:", 4) == 0 && r->tags != 0) {
		struct json_object *t = json_tokener_parse(focus_str(s, r->tags)), *x;

		if (json_object_object_get_ex(t, g + 4, &x))
			snprintf(buf, len, "%s", json_object_get_string(x));
		json_object_put(t);
		v = buf[0] ? buf : NULL;
	}
	return v && v[0] ? v : "(none)";
}

struct json_object *
actual_costs(const struct focus_store *s, const struct actual_query *q)
{
	struct json_object *ans = json_object_new_object(), *series, *totals, *groups;
	struct json_object *by_cat, *by_svc, *meta, *tr, *buckets;
	size_t i, n = focus_count(s), used = 0, no_amount = 0;
	char a[32], b[32], gbuf[256], key[32];
	int64_t lo, hi, t, bs, be;

	totals = json_object_new_object();
	buckets = json_object_new_object();
	groups = json_object_new_object();
	by_cat = json_object_new_object();
	by_svc = json_object_new_object();
	for (i = 0; i < n; i++) {
		const struct focus_row *r = focus_row(s, i);
		double v = amount(r, q->basis), span;
		const char *cur = focus_str(s, r->currency), *g;

		lo = r->start > q->from ? r->start : q->from;
		hi = r->end < q->to ? r->end : q->to;
		if (r->start == r->end ? (r->start < q->from || r->start >= q->to) :
		    hi <= lo)
			continue;
		if ((q->keep != NULL && !q->keep(s, r, q->arg)) ||
		    (q->service && strcmp(q->service, focus_str(s, r->service)) != 0) ||
		    (q->region && strcmp(q->region, focus_str(s, r->region)) != 0) ||
		    (q->account && strcmp(q->account, focus_str(s, r->account)) != 0) ||
		    (q->resource && strstr(focus_str(s, r->resource), q->resource) == NULL))
			continue;
		if (isnan(v)) {
			no_amount++;
			continue;
		}
		used++;
		gbuf[0] = '\0';
		g = q->group != NULL ? q->group(s, r, q->arg) : q->group_by ?
		    group_of(s, r, q->group_by, gbuf, sizeof(gbuf)) : NULL;
		money_add(totals, "total", cur, 0);
		money_add(by_cat, focus_category_name(r->category), cur, 0);
		/* Split over the buckets it overlaps, by time. */
		span = r->end > r->start ? (double)(r->end - r->start) : 1;
		if (r->start == r->end)
			lo = r->start, hi = r->start + 1;
		for (t = lo; t < hi; t = be) {
			double part;

			bs = bucket_start(t, q->gran);
			be = bucket_next(bs, q->gran);
			if (be > hi)
				be = hi;
			part = v * (r->start == r->end ? 1 : (double)(be - t) / span);
			snprintf(key, sizeof(key), "%lld", (long long)bs);
			money_add(buckets, key, cur, part);
			money_add(totals, "total", cur, part);
			money_add(by_cat, focus_category_name(r->category), cur, part);
			money_add(by_svc, r->service ? focus_str(s, r->service) : "(none)",
			    cur, part);
			if (g != NULL)
				money_add(groups, g, cur, part);
		}
	}
	/* The series, in time order, every bucket of the range present. */
	series = json_object_new_array();
	for (bs = bucket_start(q->from, q->gran); bs < q->to; bs = bucket_next(bs, q->gran)) {
		struct json_object *p = json_object_new_object(), *v;

		stamp(bs, a, sizeof(a));
		snprintf(key, sizeof(key), "%lld", (long long)bs);
		json_object_object_add(p, "period_start", json_object_new_string(a));
		json_object_object_add(p, "cost", json_object_object_get_ex(buckets, key, &v) ?
		    money_rounded(v) : json_object_new_object());
		json_object_array_add(series, p);
		if (json_object_array_length(series) > 100000)
			break;
	}
	stamp(q->from, a, sizeof(a));
	stamp(q->to, b, sizeof(b));
	tr = json_object_new_object();
	json_object_object_add(tr, "start", json_object_new_string(a));
	json_object_object_add(tr, "end", json_object_new_string(b));
	json_object_object_add(ans, "time_range", tr);
	json_object_object_add(ans, "granularity", json_object_new_string(gran_names[q->gran]));
	json_object_object_add(ans, "cost_basis", json_object_new_string(basis_names[q->basis]));
	{
		struct json_object *t0;

		json_object_object_add(ans, "totals", json_object_object_get_ex(totals,
		    "total", &t0) ? money_rounded(t0) : json_object_new_object());
	}
	json_object_object_add(ans, "series", series);
	json_object_object_add(ans, "by_charge_category", money_rounded(by_cat));
	json_object_object_add(ans, "by_service", money_rounded(by_svc));
	if (q->group_by != NULL || q->group != NULL) {
		struct json_object *g = json_object_new_object();

		json_object_object_add(g, "dimension", json_object_new_string(
		    q->group_by ? q->group_by : "custom"));
		json_object_object_add(g, "totals", money_rounded(groups));
		json_object_object_add(ans, "groups", g);
	}
	meta = json_object_new_object();
	json_object_object_add(meta, "source", json_object_new_string("FOCUS billing export"));
	json_object_object_add(meta, "confidence", json_object_new_string("high"));
	json_object_object_add(meta, "rows_used", json_object_new_int64((int64_t)used));
	json_object_object_add(meta, "rows_without_amount", json_object_new_int64((int64_t)no_amount));
	json_object_object_add(meta, "rows_loaded", json_object_new_int64((int64_t)n));
	json_object_object_add(meta, "bad_rows", focus_bad_rows(s));
	json_object_object_add(meta, "method", json_object_new_string("each charge's"
	    " amount on the cost basis, split over the periods its charge period"
	    " overlaps in proportion to the time; currencies summed apart"));
	json_object_object_add(ans, "metadata", meta);
	json_object_put(totals);
	json_object_put(buckets);
	json_object_put(groups);
	json_object_put(by_cat);
	json_object_put(by_svc);
	return ans;
}
