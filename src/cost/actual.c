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
int64_t
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

double
actual_amount(const struct focus_row *r, enum basis b)
{
	double v = b == B_BILLED ? r->billed : b == B_LIST ? r->list : r->effective;

	/* EffectiveCost absent (some exporters): BilledCost stands in. */
	if (isnan(v) && b == B_EFFECTIVE)
		v = r->billed;
	return v;
}

int
actual_overlaps(const struct focus_row *r, int64_t from, int64_t to)
{
	int64_t lo = r->start > from ? r->start : from;
	int64_t hi = r->end < to ? r->end : to;

	return r->start == r->end ? r->start >= from && r->start < to : hi > lo;
}

void
actual_split(const struct focus_row *r, int64_t from, int64_t to,
    enum granularity g, void (*emit)(int64_t, double, void *), void *arg)
{
	int64_t lo = r->start > from ? r->start : from;
	int64_t hi = r->end < to ? r->end : to, t, bs, be;
	double span = r->end > r->start ? (double)(r->end - r->start) : 1;

	if (!actual_overlaps(r, from, to))
		return;
	if (r->start == r->end) {
		/* A point in time (a purchase): all of it in its bucket. */
		emit(bucket_start(r->start, g), 1, arg);
		return;
	}
	for (t = lo; t < hi; t = be) {
		bs = bucket_start(t, g);
		be = bucket_next(bs, g);
		if (be > hi)
			be = hi;
		emit(bs, (double)(be - t) / span, arg);
	}
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

/* One charge's share of one bucket, added to every sum it counts in. */
struct share {
	double			 v;
	const char		*cur, *cat, *svc, *group;
	struct json_object	*buckets, *totals, *by_cat, *by_svc, *groups;
};

static void
add_share(int64_t bucket, double frac, void *arg)
{
	struct share *sh = arg;
	double part = sh->v * frac;
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)bucket);
	money_add(sh->buckets, key, sh->cur, part);
	money_add(sh->totals, "total", sh->cur, part);
	money_add(sh->by_cat, sh->cat, sh->cur, part);
	money_add(sh->by_svc, sh->svc, sh->cur, part);
	if (sh->group != NULL)
		money_add(sh->groups, sh->group, sh->cur, part);
}

struct json_object *
actual_costs(const struct focus_store *s, const struct actual_query *q)
{
	struct json_object *ans = json_object_new_object(), *series, *totals, *groups;
	struct json_object *by_cat, *by_svc, *meta, *tr, *buckets;
	size_t i, lo, hi, n = focus_count(s), used = 0, no_amount = 0;
	char a[32], b[32], gbuf[256], key[32];
	int64_t bs;

	totals = json_object_new_object();
	buckets = json_object_new_object();
	groups = json_object_new_object();
	by_cat = json_object_new_object();
	by_svc = json_object_new_object();
	focus_window(s, q->from, q->to, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct focus_row *r = focus_row(s, i);
		struct share sh;

		if (!actual_overlaps(r, q->from, q->to))
			continue;
		if ((q->keep != NULL && !q->keep(s, r, q->arg)) ||
		    (q->service && strcmp(q->service, focus_str(s, r->service)) != 0) ||
		    (q->region && strcmp(q->region, focus_str(s, r->region)) != 0) ||
		    (q->account && strcmp(q->account, focus_str(s, r->account)) != 0) ||
		    (q->resource && strstr(focus_str(s, r->resource), q->resource) == NULL))
			continue;
		sh.v = actual_amount(r, q->basis);
		if (isnan(sh.v)) {
			no_amount++;
			continue;
		}
		used++;
		gbuf[0] = '\0';
		sh.cur = focus_str(s, r->currency);
		sh.cat = focus_category_name(r->category);
		sh.svc = r->service ? focus_str(s, r->service) : "(none)";
		sh.group = q->group != NULL ? q->group(s, r, q->arg) : q->group_by ?
		    group_of(s, r, q->group_by, gbuf, sizeof(gbuf)) : NULL;
		sh.buckets = buckets;
		sh.totals = totals;
		sh.by_cat = by_cat;
		sh.by_svc = by_svc;
		sh.groups = groups;
		money_add(totals, "total", sh.cur, 0);
		money_add(by_cat, sh.cat, sh.cur, 0);
		actual_split(r, q->from, q->to, q->gran, add_share, &sh);
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
