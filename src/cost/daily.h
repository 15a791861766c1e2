/*
 * Daily sums of one currency's charges, the input of the analyses
 * (anomalies, forecasts, budgets, recommendations): the whole scope, each
 * service and each resource, each as cost per day of every charge, of
 * usage charges alone, their consumed quantity, and one-off charges
 * (purchases, credits, adjustments, refunds, tax).  A charge spanning days
 * is split by time, as get_actual_costs does.
 */
#ifndef PCM_DAILY_H
#define PCM_DAILY_H

#include <stddef.h>
#include <stdint.h>

#include "actual.h"
#include "focus.h"

struct strlist;

struct daily_line {
	const char	*name;
	double		*cost, *usage, *qty, *oneoff;	/* [ndays] each */
	double		 list, effective;	/* committed-use rows: their list
						 * and effective cost, summed */
	int		 qty_seen;	/* a usage charge gave a quantity */
	double		 gbmo, storage_cost;	/* charges in GB-months */
	double		 request_cost;		/* charges per request */
	uint32_t	 service, type, region, pricing;	/* the last seen */
	uint32_t	 sku;		/* the SKU with the most usage cost */
	uint32_t	 skus[4];	/* the first four SKUs of its usage */
	double		 sku_cost[4];
	double		 hours_cost;	/* usage charged by the hour */
};

struct daily {
	int64_t			 day0;		/* UTC midnight */
	int			 ndays;
	const char		*currency;
	struct daily_line	 total;
	struct daily_line	*svc, *res;
	size_t			 nsvc, nres;
	size_t			 rows;		/* charges counted */
	int64_t			 first, last;	/* extent of those charges */
};

struct daily_query {
	int64_t		 from, to;	/* whole UTC days */
	enum basis	 basis;
	const char	*currency;	/* NULL: the one with the most spend */
	const char	*service, *region, *account;	/* filters, or NULL */
	const struct strlist *tag_keys, *tag_values;	/* every pair must match */
	/*
	 * The resource line of a charge (any int below 2^24, e.g. a join
	 * index) and its name; -1 leaves the charge out.  NULL: by the
	 * charge's ResourceId.
	 */
	int		(*line)(const struct focus_store *, const struct focus_row *,
			    void *arg, const char **name);
	void		*arg;
};

/*
 * Sums for the query: NULL with why when the range is not whole days or
 * too long, or memory runs out.
 */
struct daily	*daily_build(const struct focus_store *, const struct daily_query *,
		    char *why, size_t whylen);
void		 daily_free(struct daily *);
/* The currencies of the charges the query keeps, most spend first. */
size_t		 daily_currencies(const struct focus_store *, const struct daily_query *,
		    const char **out, size_t max);
/* The day index of t (may be out of range). */
int		 daily_index(const struct daily *, int64_t t);

#define DAILY_MAX_DAYS	3700

#endif
