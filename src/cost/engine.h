/*
 * The projected-cost engine: prices every resource of a parsed stack from
 * the price book, 730 hours a month, and sums by currency (amounts in
 * different currencies are never added).  A resource nobody can price is
 * listed with the reason and left out of the total; the answer states its
 * coverage and the usage assumptions it used.  Documented in
 * doc/pricing.md.
 */
#ifndef PCM_ENGINE_H
#define PCM_ENGINE_H

#include <stddef.h>

#include <json-c/json.h>

#include "pulumi.h"

#define HOURS_PER_MONTH	730.0

struct cost_opts {
	const char		*default_region;	/* when nothing else says */
	struct json_object	*usage;		/* assumption overrides, or NULL */
	struct json_object	*filters;	/* ResourceFilter, or NULL */
	struct json_object	*group_by;	/* array of dimensions, or NULL */
	int			 include_unchanged;	/* previews: list sames */
};

/*
 * What a plugin is asked about each priceable resource: [{urn, provider,
 * resource_type, sku, region, tags}] (the plugin protocol's
 * ResourceDescriptor), a new array.
 */
struct json_object *cost_descriptors(const struct pstack *, const struct cost_opts *);

/* Check usage, filters and group_by: 0, or -1 with why naming the field. */
int		 cost_check_opts(const struct cost_opts *, char *why, size_t len);
/*
 * The projected cost of a stack after the update (a preview) or as
 * deployed (a state): a new object, documented in doc/pricing.md.
 */
struct json_object *cost_projected(const struct pstack *,
		    const struct cost_opts *);
/* One resource's costed record (as in "resources"), or NULL if absent. */
struct json_object *cost_resource(const struct pstack *, const char *urn,
		    const struct cost_opts *);

#endif
