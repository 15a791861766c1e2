/*
 * Actual spend from the FOCUS store: totals and a time series by
 * granularity, per service, resource, region, account, charge category or
 * tag, on a chosen cost basis, currencies kept apart.  A charge whose
 * period straddles buckets (a monthly fee in a daily series) is split by
 * the time it overlaps each (doc/actual.md).
 */
#ifndef PCM_ACTUAL_H
#define PCM_ACTUAL_H

#include <stdint.h>

#include <json-c/json.h>

#include "focus.h"

enum granularity { G_HOURLY, G_DAILY, G_WEEKLY, G_MONTHLY };
enum basis { B_EFFECTIVE, B_BILLED, B_LIST };

struct actual_query {
	int64_t			 from, to;	/* [from, to), epoch seconds */
	enum granularity	 gran;
	enum basis		 basis;
	const char		*group_by;	/* service, resource, region,
						 * account, category, tag:KEY; NULL */
	const char		*service, *region, *account, *resource;	/* filters */
	/* Optional: which rows count (1), are set aside (0, with aside) or
	 * are superseded by another source (-1), and a group of the caller's
	 * own (group_by "custom"), e.g. the Pulumi resource a charge joins to. */
	int			(*keep)(const struct focus_store *,
				    const struct focus_row *, void *);
	const char		*(*group)(const struct focus_store *,
				    const struct focus_row *, void *);
	void			*arg;
	int			 aside;		/* "set_aside": the totals of
						 * what keep left out */
	int			 series_by_line;	/* series per service
							 * and per group */
	/* Charges from elsewhere (a plugin), added as usage:
	 * [{start, end (epoch s), amount, currency, group, service}]. */
	struct json_object	*extra;
};

/* Parse "hourly".. and "effective".., -1 when unknown. */
int		 actual_granularity(const char *);
int		 actual_basis(const char *);
/* The data's extent: earliest start and latest end; 0 when empty. */
int		 actual_extent(const struct focus_store *, int64_t *from, int64_t *to);
/* A charge's amount on a cost basis: NAN when the export has none. */
double		 actual_amount(const struct focus_row *, enum basis);
/* Does the charge fall in [from, to)?  A point charge by its start. */
int		 actual_overlaps(const struct focus_row *, int64_t from, int64_t to);
/*
 * The charge's share of each bucket of granularity g in [from, to) it
 * overlaps, in proportion to time: emit(bucket start, fraction, arg).
 */
void		 actual_split(const struct focus_row *, int64_t from, int64_t to,
		    enum granularity, void (*emit)(int64_t, double, void *), void *arg);
/* The start of the bucket holding t (UTC; weeks start on Monday). */
int64_t		 bucket_start(int64_t t, enum granularity);
/* The answer, a new object (doc/actual.md); NULL when out of memory. */
struct json_object *actual_costs(const struct focus_store *, const struct actual_query *);

#endif
