/*
 * Concrete, priced hints for one resource, each computed from the price
 * book for the resource's own region: a cheaper equivalent instance
 * family, a previous generation's current equivalent, gp2 -> gp3, Multi-AZ or round-the-clock compute outside
 * production.  Nothing is suggested that cannot be priced.
 */
#ifndef PCM_ADVICE_H
#define PCM_ADVICE_H

#include <json-c/json.h>

#include "pulumi.h"

/* Hours a month of a working-hours schedule: 10 h x 5 days x 52/12 weeks. */
#define WORK_HOURS_PER_MONTH	(10.0 * 5 * 52 / 12)

/*
 * Append to hints (an array) what applies to r, whose costed record is
 * rec (as in analyze_projected_costs' resources).
 */
void	 advice_for(const struct presource *r, struct json_object *rec,
	    struct json_object *hints);
/* Is this resource tagged as non-production (env/environment/stage)? */
int	 advice_nonprod(struct json_object *rec);

#endif
