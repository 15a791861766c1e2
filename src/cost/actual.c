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
group_of(const struct focus_store *s, struct focus_tags *tags,
    const struct focus_row *r, const char *g)
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
	else if (strncmp(g, "tag:", 4) == 0)
		v = focus_tag(tags, r, g + 4);
	return v && v[0] ? v : "(none)";
}

/*
 * The sums of one answer, in arrays: per currency (few), its total, its
 * buckets and its charge categories; per service and per group (by a
 * dense index), a total and a series per currency.  One hash lookup per
 * charge at most (its group's name); every share is array arithmetic.
 */
#define MAX_BUCKETS	100000
#define SERIES_CELLS	200000	/* groups x periods reported as series */

struct line_sums {
	const char	*name;
	double		*v;	/* [ncur][1 + nb]: total, then the series */
	size_t		 cap;	/* currencies v has room for */
};

struct sums {
	const struct actual_query *q;
	int64_t		*bstart;	/* bucket starts, nb + 1 */
	size_t		 nb;
	uint32_t	 cur[16];	/* currency string ids */
	const char	*curname[16];
	size_t		 ncur;
	double		 total[16], aside[16], cat[16][FC_OTHER + 1];
	char		 cat_seen[16][FC_OTHER + 1], aside_seen[16];
	double		*buckets[16];
	struct line_sums *svc, *grp;
	size_t		 nsvc, ngrp;
	int		*svc_of;	/* service string id -> index + 1 */
	struct json_object *grp_of;	/* group name -> index */
	struct focus_tags *tags;	/* grouped by a tag: rows' Tags */
	char		**grp_names;	/* owned copies */
	/* the charge being split */
	size_t		 c;
	double		 v;
	int		 cat_i;
	struct line_sums *ls, *lg;
	int		 oom;
	size_t		 superseded, extra_used;
};

static size_t
bucket_index(const struct sums *m, int64_t bs)
{
	size_t lo = 0, hi = m->nb, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->bstart[mid] < bs)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double *
line_at(struct sums *m, struct line_sums *l, size_t c)
{
	if (c >= l->cap) {
		size_t ncap = m->ncur > c + 1 ? m->ncur : c + 1;
		double *nv = realloc(l->v, ncap * (m->nb + 1) * sizeof(double));

		if (nv == NULL) {
			m->oom = 1;
			return NULL;
		}
		memset(nv + l->cap * (m->nb + 1), 0, (ncap - l->cap) * (m->nb + 1) *
		    sizeof(double));
		l->v = nv;
		l->cap = ncap;
	}
	return l->v + c * (m->nb + 1);
}

static void
add_share(int64_t bucket, double frac, void *arg)
{
	struct sums *m = arg;
	double part = m->v * frac, *v;
	size_t k = bucket_index(m, bucket);

	m->total[m->c] += part;
	m->cat[m->c][m->cat_i] += part;
	if (k < m->nb)
		m->buckets[m->c][k] += part;
	if (m->ls != NULL && (v = line_at(m, m->ls, m->c)) != NULL) {
		v[0] += part;
		if (k < m->nb)
			v[1 + k] += part;
	}
	if (m->lg != NULL && (v = line_at(m, m->lg, m->c)) != NULL) {
		v[0] += part;
		if (k < m->nb)
			v[1 + k] += part;
	}
}

static void
add_aside(int64_t bucket, double frac, void *arg)
{
	struct sums *m = arg;

	(void)bucket;
	m->aside[m->c] += m->v * frac;
}

/* The currency's index, added on first sight; -1 past 16 currencies. */
static int
currency_index(struct sums *m, const struct focus_store *s, uint32_t cur)
{
	size_t i;

	for (i = 0; i < m->ncur; i++)
		if (m->cur[i] == cur)
			return (int)i;
	if (m->ncur == nitems(m->cur) ||
	    (m->buckets[m->ncur] = calloc(m->nb + 1, sizeof(double))) == NULL)
		return -1;
	m->cur[m->ncur] = cur;
	m->curname[m->ncur] = focus_str(s, cur);
	return (int)m->ncur++;
}

static struct line_sums *
service_line(struct sums *m, const struct focus_store *s, uint32_t id)
{
	struct line_sums *nl;

	if (m->svc_of[id] == 0) {
		if ((nl = reallocarray(m->svc, m->nsvc + 1, sizeof(*nl))) == NULL)
			return NULL;
		m->svc = nl;
		memset(&m->svc[m->nsvc], 0, sizeof(*nl));
		m->svc[m->nsvc].name = id ? focus_str(s, id) : "(none)";
		m->svc_of[id] = (int)++m->nsvc;
	}
	return &m->svc[m->svc_of[id] - 1];
}

/* A service line by name (the caller's charges have no interned id). */
static struct line_sums *
service_named(struct sums *m, const char *name)
{
	struct line_sums *nl;
	size_t i;

	for (i = 0; i < m->nsvc; i++)
		if (strcmp(m->svc[i].name, name) == 0)
			return &m->svc[i];
	if ((nl = reallocarray(m->svc, m->nsvc + 1, sizeof(*nl))) == NULL)
		return NULL;
	m->svc = nl;
	memset(&m->svc[m->nsvc], 0, sizeof(*nl));
	m->svc[m->nsvc].name = name;
	return &m->svc[m->nsvc++];
}

static struct line_sums *
group_line(struct sums *m, const char *name)
{
	struct json_object *v;
	struct line_sums *nl;
	char **nn;

	if (json_object_object_get_ex(m->grp_of, name, &v))
		return &m->grp[json_object_get_int(v)];
	if ((nl = reallocarray(m->grp, m->ngrp + 1, sizeof(*nl))) == NULL ||
	    (m->grp = nl, nn = reallocarray(m->grp_names, m->ngrp + 1,
	    sizeof(*nn))) == NULL)
		return NULL;
	m->grp_names = nn;
	if ((nn[m->ngrp] = strdup(name)) == NULL)
		return NULL;
	memset(&m->grp[m->ngrp], 0, sizeof(*nl));
	m->grp[m->ngrp].name = nn[m->ngrp];
	json_object_object_add(m->grp_of, name, json_object_new_int((int)m->ngrp));
	return &m->grp[m->ngrp++];
}

static int
sums_init(struct sums *m, const struct focus_store *s, const struct actual_query *q)
{
	int64_t bs;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	m->q = q;
	for (bs = bucket_start(q->from, q->gran); bs < q->to && n < MAX_BUCKETS;
	    bs = bucket_next(bs, q->gran))
		n++;
	if ((m->bstart = calloc(n + 1, sizeof(*m->bstart))) == NULL ||
	    (m->svc_of = calloc(focus_nstrs(s) + 1, sizeof(int))) == NULL)
		return -1;
	for (n = 0, bs = bucket_start(q->from, q->gran); bs < q->to && n < MAX_BUCKETS;
	    bs = bucket_next(bs, q->gran))
		m->bstart[n++] = bs;
	m->nb = n;
	m->bstart[n] = bs;
	m->grp_of = json_object_new_object();
	if (q->group_by != NULL && strncmp(q->group_by, "tag:", 4) == 0 &&
	    (m->tags = focus_tags_new(s)) == NULL)
		return -1;
	return 0;
}

static void
sums_free(struct sums *m)
{
	size_t i;

	for (i = 0; i < m->ncur; i++)
		free(m->buckets[i]);
	for (i = 0; i < m->nsvc; i++)
		free(m->svc[i].v);
	for (i = 0; i < m->ngrp; i++) {
		free(m->grp[i].v);
		free(m->grp_names[i]);
	}
	free(m->svc);
	free(m->grp);
	free(m->grp_names);
	free(m->svc_of);
	free(m->bstart);
	json_object_put(m->grp_of);
	focus_tags_free(m->tags);
}

static int
filtered_out(const struct focus_store *s, const struct focus_row *r,
    const struct actual_query *q)
{
	return (q->service && strcmp(q->service, focus_str(s, r->service)) != 0) ||
	    (q->region && strcmp(q->region, focus_str(s, r->region)) != 0) ||
	    (q->account && strcmp(q->account, focus_str(s, r->account)) != 0) ||
	    (q->resource && strstr(focus_str(s, r->resource), q->resource) == NULL);
}

/* {currency: total} of a line, the currencies it has. */
static struct json_object *
line_totals(const struct sums *m, const struct line_sums *l)
{
	struct json_object *o = json_object_new_object();
	size_t c;

	for (c = 0; c < l->cap && c < m->ncur; c++)
		json_object_object_add(o, m->curname[c], json_object_new_double(
		    money_round(l->v[c * (m->nb + 1)])));
	return o;
}

/* {name: {currency: [amount per period]}} of lines, when not too many. */
static struct json_object *
line_series(const struct sums *m, const struct line_sums *l, size_t n)
{
	struct json_object *o = json_object_new_object(), *per, *arr;
	size_t i, c, k;

	for (i = 0; i < n; i++) {
		per = json_object_new_object();
		for (c = 0; c < l[i].cap && c < m->ncur; c++) {
			arr = json_object_new_array_ext((int)m->nb);
			for (k = 0; k < m->nb; k++)
				json_object_array_add(arr, json_object_new_double(
				    money_round(l[i].v[c * (m->nb + 1) + 1 + k])));
			json_object_object_add(per, m->curname[c], arr);
		}
		json_object_object_add(o, l[i].name, per);
	}
	return o;
}

/* Add every charge of the query to the sums. */
static void
sum_rows(struct sums *m, const struct focus_store *s, size_t *used, size_t *no_amount)
{
	const struct actual_query *q = m->q;
	size_t i, lo, hi;
	const char *g;
	int c, kept;

	focus_window(s, q->from, q->to, &lo, &hi);
	for (i = lo; i < hi && !m->oom; i++) {
		const struct focus_row *r = focus_row(s, i);

		if (!actual_overlaps(r, q->from, q->to) || filtered_out(s, r, q))
			continue;
		kept = q->keep == NULL ? 1 : q->keep(s, r, q->arg);
		if (kept < 0) {
			m->superseded++;
			continue;
		}
		if (!kept && !q->aside)
			continue;
		m->v = actual_amount(r, q->basis);
		if (isnan(m->v)) {
			*no_amount += kept;
			continue;
		}
		if ((c = currency_index(m, s, r->currency)) < 0) {
			m->oom = 1;
			break;
		}
		m->c = (size_t)c;
		if (!kept) {
			/* Set aside (what a stack does not account for). */
			m->aside_seen[c] = 1;
			actual_split(r, q->from, q->to, q->gran, add_aside, m);
			continue;
		}
		(*used)++;
		m->cat_i = r->category <= FC_OTHER ? r->category : FC_OTHER;
		m->cat_seen[c][m->cat_i] = 1;
		m->ls = service_line(m, s, r->service);
		g = q->group != NULL ? q->group(s, r, q->arg) : q->group_by ?
		    group_of(s, m->tags, r, q->group_by) : NULL;
		m->lg = g != NULL ? group_line(m, g) : NULL;
		if (m->ls == NULL || (g != NULL && m->lg == NULL) ||
		    line_at(m, m->ls, m->c) == NULL ||
		    (m->lg != NULL && line_at(m, m->lg, m->c) == NULL)) {
			m->oom = 1;
			break;
		}
		actual_split(r, q->from, q->to, q->gran, add_share, m);
	}
}

/* The caller's own charges, counted as usage of their group and service. */
static void
sum_extra(struct sums *m, const struct focus_store *s)
{
	const struct actual_query *q = m->q;
	struct json_object *e;
	struct focus_row r;
	const char *cur;
	size_t i, c;
	int ci;

	(void)s;
	for (i = 0; q->extra != NULL && i < json_object_array_length(q->extra) &&
	    !m->oom; i++) {
		e = json_object_array_get_idx(q->extra, i);
		memset(&r, 0, sizeof(r));
		r.start = json_object_get_int64(json_object_object_get(e, "start"));
		r.end = json_object_get_int64(json_object_object_get(e, "end"));
		if (!actual_overlaps(&r, q->from, q->to))
			continue;
		cur = json_object_get_string(json_object_object_get(e, "currency"));
		for (c = 0; c < m->ncur && strcmp(m->curname[c], cur) != 0; c++)
			;
		if (c == m->ncur) {
			/* A currency no row has: interned by the caller's string. */
			if (m->ncur == nitems(m->cur) ||
			    (m->buckets[m->ncur] = calloc(m->nb + 1, sizeof(double))) == NULL) {
				m->oom = 1;
				return;
			}
			m->cur[m->ncur] = UINT32_MAX;
			m->curname[m->ncur] = cur;
			m->ncur++;
		}
		ci = (int)c;
		m->c = (size_t)ci;
		m->v = json_object_get_double(json_object_object_get(e, "amount"));
		m->cat_i = FC_USAGE;
		m->cat_seen[ci][FC_USAGE] = 1;
		m->ls = service_named(m, json_object_get_string(json_object_object_get(e,
		    "service")));
		m->lg = group_line(m, json_object_get_string(json_object_object_get(e,
		    "group")));
		if (m->ls == NULL || m->lg == NULL || line_at(m, m->ls, m->c) == NULL ||
		    line_at(m, m->lg, m->c) == NULL) {
			m->oom = 1;
			return;
		}
		m->extra_used++;
		actual_split(&r, q->from, q->to, q->gran, add_share, m);
	}
}

static struct json_object *
currency_totals(const struct sums *m, const double *v, const char *seen)
{
	struct json_object *o = json_object_new_object();
	size_t c;

	for (c = 0; c < m->ncur; c++)
		if (seen == NULL || seen[c])
			json_object_object_add(o, m->curname[c],
			    json_object_new_double(money_round(v[c])));
	return o;
}

static struct json_object *
series_json(const struct sums *m)
{
	struct json_object *series = json_object_new_array(), *p, *cost;
	size_t k, c;
	char a[32];

	for (k = 0; k < m->nb; k++) {
		p = json_object_new_object();
		cost = json_object_new_object();
		stamp(m->bstart[k], a, sizeof(a));
		json_object_object_add(p, "period_start", json_object_new_string(a));
		for (c = 0; c < m->ncur; c++)
			if (m->buckets[c][k] != 0)
				json_object_object_add(cost, m->curname[c],
				    json_object_new_double(money_round(m->buckets[c][k])));
		json_object_object_add(p, "cost", cost);
		json_object_array_add(series, p);
	}
	return series;
}

struct json_object *
actual_costs(const struct focus_store *s, const struct actual_query *q)
{
	struct json_object *ans, *tr, *meta, *o, *g;
	size_t i, c, used = 0, no_amount = 0;
	char a[32], b[32];
	struct sums m;

	if (sums_init(&m, s, q) == -1) {
		sums_free(&m);
		return NULL;
	}
	sum_rows(&m, s, &used, &no_amount);
	sum_extra(&m, s);
	if (m.oom) {
		sums_free(&m);
		return NULL;
	}
	ans = json_object_new_object();
	stamp(q->from, a, sizeof(a));
	stamp(q->to, b, sizeof(b));
	tr = json_object_new_object();
	json_object_object_add(tr, "start", json_object_new_string(a));
	json_object_object_add(tr, "end", json_object_new_string(b));
	json_object_object_add(ans, "time_range", tr);
	json_object_object_add(ans, "granularity", json_object_new_string(gran_names[q->gran]));
	json_object_object_add(ans, "cost_basis", json_object_new_string(basis_names[q->basis]));
	{
		char seen[16] = { 0 };

		for (c = 0; c < m.ncur; c++)
			for (i = 0; i <= FC_OTHER; i++)
				seen[c] |= m.cat_seen[c][i];
		json_object_object_add(ans, "totals", currency_totals(&m, m.total, seen));
	}
	json_object_object_add(ans, "series", series_json(&m));
	o = json_object_new_object();
	for (i = 0; i <= FC_OTHER; i++) {
		struct json_object *per = json_object_new_object();

		for (c = 0; c < m.ncur; c++)
			if (m.cat_seen[c][i])
				json_object_object_add(per, m.curname[c],
				    json_object_new_double(money_round(m.cat[c][i])));
		if (json_object_object_length(per) > 0)
			json_object_object_add(o, focus_category_name((int)i), per);
		else
			json_object_put(per);
	}
	json_object_object_add(ans, "by_charge_category", o);
	o = json_object_new_object();
	for (i = 0; i < m.nsvc; i++)
		json_object_object_add(o, m.svc[i].name, line_totals(&m, &m.svc[i]));
	json_object_object_add(ans, "by_service", o);
	if (q->series_by_line && m.nsvc * m.nb <= SERIES_CELLS)
		json_object_object_add(ans, "series_by_service", line_series(&m, m.svc, m.nsvc));
	if (q->group_by != NULL || q->group != NULL) {
		g = json_object_new_object();
		json_object_object_add(g, "dimension", json_object_new_string(
		    q->group_by ? q->group_by : "custom"));
		o = json_object_new_object();
		for (i = 0; i < m.ngrp; i++)
			json_object_object_add(o, m.grp[i].name, line_totals(&m, &m.grp[i]));
		json_object_object_add(g, "totals", o);
		if (q->series_by_line && m.ngrp * m.nb <= SERIES_CELLS)
			json_object_object_add(g, "series", line_series(&m, m.grp, m.ngrp));
		else if (q->series_by_line)
			json_object_object_add(g, "series_omitted", json_object_new_string(
			    "more than 200000 values (groups x periods): narrow the"
			    " range, the granularity or the filters"));
		json_object_object_add(ans, "groups", g);
	}
	if (q->aside)
		json_object_object_add(ans, "set_aside", currency_totals(&m, m.aside,
		    m.aside_seen));
	meta = json_object_new_object();
	json_object_object_add(meta, "source", json_object_new_string("FOCUS billing export"));
	json_object_object_add(meta, "confidence", json_object_new_string("high"));
	json_object_object_add(meta, "rows_used", json_object_new_int64((int64_t)used));
	json_object_object_add(meta, "rows_without_amount", json_object_new_int64((int64_t)no_amount));
	json_object_object_add(meta, "rows_loaded", json_object_new_int64((int64_t)focus_count(s)));
	json_object_object_add(meta, "bad_rows", focus_bad_rows(s));
	json_object_object_add(meta, "method", json_object_new_string("each charge's"
	    " amount on the cost basis, split over the periods its charge period"
	    " overlaps in proportion to the time; currencies summed apart"));
	if (m.superseded > 0)
		json_object_object_add(meta, "rows_superseded", json_object_new_int64(
		    (int64_t)m.superseded));
	if (q->extra != NULL)
		json_object_object_add(meta, "charges_from_plugins", json_object_new_int64(
		    (int64_t)m.extra_used));
	if (m.nb == MAX_BUCKETS && m.bstart[m.nb] < q->to)
		json_object_object_add(meta, "series_truncated", json_object_new_string(
		    "the series stops after 100000 periods"));
	json_object_object_add(ans, "metadata", meta);
	sums_free(&m);
	return ans;
}
