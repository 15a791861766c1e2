#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "daily.h"

#define DAY	86400

struct builder {
	struct daily		*d;
	const struct focus_store *st;
	const struct daily_query *q;
	int			*res_line, *svc_line;	/* key -> line + 1 */
	size_t			 nres_keys, nsvc_keys;
	struct focus_tags	*tags;		/* parsed Tags sets */
	signed char		*tag_ok;	/* per Tags id: 0 unknown, 1, -1 */
	signed char		*unit_kind;	/* per unit id: 0 unknown, enum */
	/* the charge being split */
	double			 v;
	int			 usage;
	double			 qty, span;
	struct daily_line	*lines[3];
};

static int
line_init(struct daily_line *l, int ndays, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->name = name;
	if ((l->cost = calloc((size_t)ndays * 4, sizeof(double))) == NULL)
		return -1;
	l->usage = l->cost + ndays;
	l->qty = l->usage + ndays;
	l->oneoff = l->qty + ndays;
	return 0;
}

static void
line_free(struct daily_line *l)
{
	free(l->cost);
}

void
daily_free(struct daily *d)
{
	size_t i;

	if (d == NULL)
		return;
	line_free(&d->total);
	for (i = 0; i < d->nsvc; i++)
		line_free(&d->svc[i]);
	for (i = 0; i < d->nres; i++)
		line_free(&d->res[i]);
	free(d->svc);
	free(d->res);
	free(d);
}

int
daily_index(const struct daily *d, int64_t t)
{
	int64_t k = (t - d->day0) / DAY;

	return t < d->day0 ? -1 : k > d->ndays ? d->ndays : (int)k;
}

/*
 * Does every tag pair of the query match?  Decided once per Tags text; the
 * sets are parsed as every other reader of Tags has them (focus_tags).
 */
static int
tags_match(struct builder *b, const struct focus_row *r)
{
	const struct daily_query *q = b->q;
	const char *v;
	size_t i;
	int ok = 1;

	if (q->tag_keys == NULL || q->tag_keys->n == 0)
		return 1;
	if (r->tags == 0)
		return 0;
	if (b->tag_ok[r->tags] != 0)
		return b->tag_ok[r->tags] > 0;
	for (i = 0; i < q->tag_keys->n && ok; i++)
		ok = (v = focus_tag(b->tags, r, q->tag_keys->v[i])) != NULL &&
		    strcmp(v, q->tag_values->v[i]) == 0;
	b->tag_ok[r->tags] = ok ? 1 : -1;
	return ok;
}

/* The query's Tags state, for the life of one pass over the rows. */
static int
tags_open(struct builder *b)
{
	b->tags = focus_tags_new(b->st);
	b->tag_ok = calloc(focus_nstrs(b->st) + 1, 1);
	return b->tags != NULL && b->tag_ok != NULL ? 0 : -1;
}

static void
tags_close(struct builder *b)
{
	focus_tags_free(b->tags);
	free(b->tag_ok);
	b->tags = NULL;
	b->tag_ok = NULL;
}

static int
kept(struct builder *b, const struct focus_row *r)
{
	const struct daily_query *q = b->q;
	const struct focus_store *st = b->st;

	return actual_overlaps(r, q->from, q->to) &&
	    (q->service == NULL || strcmp(q->service, focus_str(st, r->service)) == 0) &&
	    (q->region == NULL || strcmp(q->region, focus_str(st, r->region)) == 0) &&
	    (q->account == NULL || strcmp(q->account, focus_str(st, r->account)) == 0) &&
	    tags_match(b, r);
}

/* The line for key in lines/keys, made on first use. */
static struct daily_line *
line_for(struct builder *b, int **map, size_t *nkeys, struct daily_line **lines,
    size_t *nlines, int key, const char *name)
{
	struct daily_line *nl;
	int *nm;

	if (key < 0 || key >= (1 << 24))
		return NULL;
	if ((size_t)key >= *nkeys) {
		size_t n = (size_t)key * 2 + 64;

		if ((nm = realloc(*map, n * sizeof(int))) == NULL)
			return NULL;
		memset(nm + *nkeys, 0, (n - *nkeys) * sizeof(int));
		*map = nm;
		*nkeys = n;
	}
	if ((*map)[key] == 0) {
		if ((nl = reallocarray(*lines, *nlines + 1, sizeof(*nl))) == NULL)
			return NULL;
		*lines = nl;
		if (line_init(&nl[*nlines], b->d->ndays, name) == -1)
			return NULL;
		(*map)[key] = (int)++*nlines;
	}
	return &(*lines)[(*map)[key] - 1];
}

static void
add_day(int64_t day, double frac, void *arg)
{
	struct builder *b = arg;
	int k = daily_index(b->d, day), i;

	if (k < 0 || k >= b->d->ndays)
		return;
	for (i = 0; i < 3; i++) {
		struct daily_line *l = b->lines[i];

		if (l == NULL)
			continue;
		l->cost[k] += b->v * frac;
		if (b->usage) {
			l->usage[k] += b->v * frac;
			if (!isnan(b->qty))
				l->qty[k] += b->qty * frac;
		} else
			l->oneoff[k] += b->v * frac;
	}
}

static int
range_ok(const struct daily_query *q, char *why, size_t whylen)
{
	if (q->from % DAY != 0 || q->to % DAY != 0 || q->to <= q->from) {
		snprintf(why, whylen, "the range must be whole UTC days, start before end");
		return -1;
	}
	if ((q->to - q->from) / DAY > DAILY_MAX_DAYS) {
		snprintf(why, whylen, "the range is longer than %d days", DAILY_MAX_DAYS);
		return -1;
	}
	return 0;
}

enum { U_OTHER = 1, U_STORAGE, U_REQUESTS, U_HOURS };

/* Storage by the GB-month, requests, or other, by ConsumedUnit/PricingUnit. */
static int
unit_kind(struct builder *b, uint32_t unit)
{
	const char *u;

	if (b->unit_kind[unit] != 0)
		return b->unit_kind[unit];
	u = focus_str(b->st, unit);
	b->unit_kind[unit] = (strcasestr(u, "GB") != NULL || strcasestr(u, "byte")) &&
	    strcasestr(u, "mo") != NULL ? U_STORAGE : strcasestr(u, "request") ?
	    U_REQUESTS : strcasestr(u, "hr") != NULL || strcasestr(u, "hour") ?
	    U_HOURS : U_OTHER;
	return b->unit_kind[unit];
}

/* Usage cost by SKU, for the SKU a resource mostly pays for. */
static void
note_sku(struct daily_line *l, uint32_t sku, double v)
{
	size_t i, best = 0;

	for (i = 0; i < nitems(l->skus) && l->skus[i] != 0 && l->skus[i] != sku; i++)
		;
	if (i == nitems(l->skus))
		return;
	l->skus[i] = sku;
	l->sku_cost[i] += v;
	for (i = 1; i < nitems(l->skus); i++)
		if (l->sku_cost[i] > l->sku_cost[best])
			best = i;
	l->sku = l->skus[best];
}

static void
note_row(struct builder *b, struct daily_line *l, const struct focus_row *r,
    double v)
{
	if (l == NULL)
		return;
	if (r->category == FC_USAGE && !isnan(r->quantity)) {
		l->qty_seen = 1;
		switch (unit_kind(b, r->unit)) {
		case U_STORAGE:
			l->gbmo += r->quantity;
			l->storage_cost += v;
			break;
		case U_REQUESTS:
			l->request_cost += v;
			break;
		case U_HOURS:
			l->hours_cost += v;
			break;
		}
	}
	if (r->category == FC_USAGE && r->sku != 0)
		note_sku(l, r->sku, v);
	l->service = r->service ? r->service : l->service;
	l->type = r->resource_type ? r->resource_type : l->type;
	l->region = r->region ? r->region : l->region;
	l->pricing = r->pricing ? r->pricing : l->pricing;
	if (r->commitment != 0 && !isnan(r->list) && !isnan(v)) {
		l->list += r->list;
		l->effective += v;
	}
}

static int
build_rows(struct builder *b)
{
	const struct daily_query *q = b->q;
	const struct focus_store *st = b->st;
	size_t i, lo, hi;
	const char *name;
	int key;

	focus_window(st, q->from, q->to, &lo, &hi);
	for (i = lo; i < hi; i++) {
		const struct focus_row *r = focus_row(st, i);

		if (strcmp(focus_str(st, r->currency), b->d->currency) != 0 ||
		    !kept(b, r) || isnan(b->v = actual_amount(r, q->basis)))
			continue;
		name = focus_str(st, r->resource);
		key = q->line != NULL ? q->line(st, r, q->arg, &name) :
		    r->resource ? (int)r->resource : -1;
		if (q->line != NULL && key < 0)
			continue;
		b->usage = r->category == FC_USAGE;
		b->qty = r->quantity;
		b->lines[0] = &b->d->total;
		b->lines[1] = r->service == 0 ? NULL : line_for(b, &b->svc_line,
		    &b->nsvc_keys, &b->d->svc, &b->d->nsvc, (int)r->service,
		    focus_str(st, r->service));
		b->lines[2] = key < 0 ? NULL : line_for(b, &b->res_line,
		    &b->nres_keys, &b->d->res, &b->d->nres, key, name);
		if ((r->service != 0 && b->lines[1] == NULL) ||
		    (key >= 0 && b->lines[2] == NULL))
			return -1;
		note_row(b, b->lines[1], r, b->v);
		note_row(b, b->lines[2], r, b->v);
		if (b->d->rows++ == 0 || r->start < b->d->first)
			b->d->first = r->start;
		if (r->end > b->d->last)
			b->d->last = r->end;
		actual_split(r, q->from, q->to, G_DAILY, add_day, b);
	}
	return 0;
}

size_t
daily_currencies(const struct focus_store *st, const struct daily_query *q,
    const char **out, size_t max)
{
	struct json_object *sums = json_object_new_object(), *v;
	struct builder b;
	size_t i, k = 0, j, lo, hi;
	double amt;

	memset(&b, 0, sizeof(b));
	b.st = st;
	b.q = q;
	focus_window(st, q->from, q->to, &lo, &hi);
	if (tags_open(&b) == -1)
		hi = lo;	/* out of memory: no currency found */
	for (i = lo; i < hi; i++) {
		const struct focus_row *r = focus_row(st, i);
		const char *cur = focus_str(st, r->currency);
		const char *nm;

		if (!kept(&b, r) || isnan(amt = actual_amount(r, q->basis)) ||
		    (q->line != NULL && q->line(st, r, q->arg, &nm) < 0))
			continue;
		if (!json_object_object_get_ex(sums, cur, &v))
			json_object_object_add(sums, cur, v = json_object_new_double(0));
		json_object_set_double(v, json_object_get_double(v) + fabs(amt));
	}
	tags_close(&b);
	/* Interned strings outlive this: point at the store's copies. */
	for (i = lo; i < hi && k < max; i++) {
		const char *cur = focus_str(st, focus_row(st, i)->currency);

		if (!json_object_object_get_ex(sums, cur, &v))
			continue;
		for (j = k; j > 0 && json_object_get_double(json_object_object_get(
		    sums, out[j - 1])) < json_object_get_double(v); j--)
			out[j] = out[j - 1];
		out[j] = cur;
		k++;
		json_object_object_del(sums, cur);
	}
	json_object_put(sums);
	return k;
}

struct daily *
daily_build(const struct focus_store *st, const struct daily_query *q, char *why,
    size_t whylen)
{
	struct builder b;
	const char *cur = q->currency;

	if (range_ok(q, why, whylen) == -1)
		return NULL;
	memset(&b, 0, sizeof(b));
	b.st = st;
	b.q = q;
	if (cur == NULL && daily_currencies(st, q, &cur, 1) == 0)
		cur = "USD";
	if ((b.d = calloc(1, sizeof(*b.d))) == NULL ||
	    tags_open(&b) == -1 ||
	    (b.unit_kind = calloc(focus_nstrs(st) + 1, 1)) == NULL)
		goto oom;
	b.d->day0 = q->from;
	b.d->ndays = (int)((q->to - q->from) / DAY);
	b.d->currency = cur;
	if (line_init(&b.d->total, b.d->ndays, "total") == -1 || build_rows(&b) == -1)
		goto oom;
	tags_close(&b);
	free(b.unit_kind);
	free(b.res_line);
	free(b.svc_line);
	return b.d;
oom:
	snprintf(why, whylen, "out of memory");
	tags_close(&b);
	free(b.unit_kind);
	free(b.res_line);
	free(b.svc_line);
	daily_free(b.d);
	return NULL;
}
