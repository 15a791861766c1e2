/*
 * The price book: the built-in catalogue (conf/catalog.txt, compiled into
 * the binary) and, ahead of it, prices from spec files.  A price is for
 * one provider, kind (what is billed: "ec2", "ebs", "rds-postgres", ...),
 * SKU and set of regions, in one currency and unit, with the source it was
 * taken from and the date it took effect.
 */
#ifndef PCM_CATALOG_H
#define PCM_CATALOG_H

#include <stddef.h>

struct price {
	char	*provider, *kind, *sku, *regions;	/* regions: "a,b" or "*" */
	char	*unit, *currency, *source, *effective;
	char	*origin;	/* "catalog:LINE" or a spec file's name */
	double	 amount;
};

/* Parse catalogue text into the book.  -1 with "NAME:LINE: why". */
int		 catalog_load(const char *text, const char *name, char *err,
		    size_t errlen);
/* The built-in catalogue, once per process. */
int		 catalog_init(char *err, size_t errlen);
/* A price for region (exact, else "*"); SKUs compare without case. */
const struct price *catalog_find(const char *provider, const char *kind,
		    const char *sku, const char *region);
/* The embedded text (generated from conf/catalog.txt). */
extern const char catalog_data[];

#endif
