/*
 * FOCUS billing exports (FinOps Open Cost and Usage Specification, 1.0 to
 * 1.2): CSV files, plain or gzip, read in chunks with RFC 4180 quoting and
 * mapped by their header, into a compact store of charge rows: one
 * fixed-size record per row, strings interned once.  A row that cannot be
 * read is counted and reported with its file and line, never dropped
 * silently.  The columns used and how they map are in doc/actual.md.
 */
#ifndef PCM_FOCUS_H
#define PCM_FOCUS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

enum focus_cat { FC_USAGE, FC_PURCHASE, FC_TAX, FC_CREDIT, FC_ADJUSTMENT,
	FC_REFUND, FC_OTHER };

struct focus_row {
	int64_t		 start, end;	/* ChargePeriodStart/End, epoch seconds */
	double		 billed, effective, list;	/* NAN when absent */
	double		 quantity;	/* ConsumedQuantity, NAN when absent */
	double		 unit_price;	/* ListUnitPrice, NAN when absent */
	uint32_t	 resource, resource_name, resource_type, service;
	uint32_t	 region, account, currency, tags, unit, provider;
	uint32_t	 sku, pricing, commitment;	/* SkuId, PricingCategory,
						 * CommitmentDiscountId */
	uint32_t	 file, line;
	uint8_t		 category;	/* enum focus_cat */
};

struct focus_store;

struct focus_store *focus_store_new(void);
void		 focus_store_free(struct focus_store *);
/*
 * Add the rows of one file (.csv or .csv.gz).  -1 with "FILE: why" when
 * the file cannot be used at all (unreadable, no header, required
 * columns missing, truncated gzip); bad rows are counted, not fatal.
 */
int		 focus_load_file(struct focus_store *, const char *path,
		    char *err, size_t errlen);
/* The same from a buffer (tests, the broker's copy). */
int		 focus_load_buffer(struct focus_store *, const char *name,
		    const char *buf, size_t len, char *err, size_t errlen);

size_t		 focus_count(const struct focus_store *);
const struct focus_row *focus_row(const struct focus_store *, size_t i);
/*
 * The time index: rows sorted by ChargePeriodStart, so a time range reads
 * only the rows that can overlap it.  focus_index sorts a store once its
 * files are loaded (an image keeps it); focus_window gives the rows
 * [lo, hi) that can overlap [from, to) (all of them without an index).
 */
void		 focus_index(struct focus_store *);
void		 focus_window(const struct focus_store *, int64_t from, int64_t to,
		    size_t *lo, size_t *hi);
/* Interned strings are numbered densely from 0: arrays can be indexed
 * by a string's id (ids < focus_nstrs). */
size_t		 focus_nstrs(const struct focus_store *);
/* An interned string: "" for id 0 (absent). */
const char	*focus_str(const struct focus_store *, uint32_t id);
const char	*focus_category_name(int);
/*
 * Rows' Tags, parsed on use and each distinct set once (rows share their
 * interned text), for the life of one query.  focus_tags_of: a row's Tags
 * object (borrowed), NULL when it has none; focus_tag: one tag's value.
 */
struct focus_tags;
struct focus_tags *focus_tags_new(const struct focus_store *);
void		 focus_tags_free(struct focus_tags *);
struct json_object *focus_tags_of(struct focus_tags *, const struct focus_row *);
const char	*focus_tag(struct focus_tags *, const struct focus_row *, const char *key);
/* A date ("2024-09-18"), "YYYY-MM-DD HH:MM:SS" or ISO 8601: 0, or -1. */
int		 focus_parse_time(const char *, size_t, int64_t *);
/*
 * Bad rows: {"count": N, "first": [{"file","line","reason"}...]} (the
 * first 20), a new reference.
 */
struct json_object *focus_bad_rows(const struct focus_store *);

/*
 * The store as one contiguous image, offsets only, for a memfd the broker
 * fills and workers map read-only (same binary, so the same row layout):
 * focus_store_image makes it (malloc'd); focus_store_image_fill writes it
 * into len bytes at dst (focus_store_image_len: the memfd's size), with no
 * copy between; focus_store_view reads one in place (the image must
 * outlive the view; checked for bounds first).
 */
int		 focus_store_image(const struct focus_store *, char **buf,
		    size_t *len);
size_t		 focus_store_image_len(const struct focus_store *);
int		 focus_store_image_fill(const struct focus_store *, void *dst,
		    size_t len);
struct focus_store *focus_store_view(const void *image, size_t len, char *err,
		    size_t errlen);

#endif
