/*
 * Pricing spec files: PulumiCost/FinFocus specs (billing_mode,
 * rate_per_unit, pricing_tiers; JSON or YAML, validated against the
 * published schema, conf/pricing_spec.schema.json) and core-style files
 * (provider, service, sku, currency, pricing.monthlyEstimate |
 * onDemandHourly | hourlyRate | pricePerGBMonth).  They take precedence
 * over the built-in catalogue.  The math of every billing mode is in
 * doc/pricing.md.
 */
#ifndef PCM_SPEC_H
#define PCM_SPEC_H

#include <stddef.h>

#include <json-c/json.h>

struct spec;
struct spec_book;

/*
 * Load every *.json, *.yaml and *.yml file of the directories (NULL or ""
 * skipped).  NULL with "FILE: FIELD: why" on the first bad file.
 */
struct spec_book *spec_load(const char *const *dirs, size_t ndirs, char *err,
		    size_t errlen);
void		 spec_book_free(struct spec_book *);
/* Parse one document (JSON or YAML) into a spec: -1 with why. */
int		 spec_parse(struct spec_book *, const char *text, size_t len,
		    const char *name, char *err, size_t errlen);
struct spec_book *spec_book_new(void);

/* The spec for a resource, most specific first (SKU and region set). */
const struct spec *spec_find(const struct spec_book *, const char *provider,
		    const char *service, const char *type, const char *sku,
		    const char *region);

/* What a spec says about the cost of one unit of the resource. */
struct spec_price {
	const char	*mode;		/* billing_mode, or core's key */
	const char	*currency, *unit, *source, *effective, *file;
	const char	*sku;
	double		 rate;
	const char	*not_implemented;	/* non-NULL: why it has no cost */
	struct json_object *tiers;	/* pricing_tiers, or NULL */
	struct json_object *meta;	/* plugin_metadata (vcpu_count, ...) */
	int		 core;		/* a core-style file */
};
void		 spec_describe(const struct spec *, struct spec_price *);

/* The process-wide book the engine consults (NULL: none). */
extern struct spec_book *spec_active;

#endif
