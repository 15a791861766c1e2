/*
 * The FOCUS store and its image: what a view of the image reads is what
 * was loaded, and a damaged image is refused, not read out of bounds.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include "../../src/cost/focus.h"
#include "tap.h"

static const char csv[] =
    "\xef\xbb\xbf" "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,"
    "BillingCurrency,ServiceName,ResourceId,Tags,ChargeCategory\r\n"
    "2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,1.5,1.25,USD,EC2,i-1,"
    "\"{\"\"b\"\": \"\"2\"\", \"\"a\"\": \"\"1\"\"}\",Usage\r\n"
    "\"2024-01-01 00:00:00\",\"2024-01-01 01:00:00\",2,NULL,EUR,\"S3, \"\"std\"\"\","
    "NULL,NULL,Credit\r\n"
    "2024-01-01,2024-01-02,x,1,USD,EC2,i-2,NULL,Usage\r\n"
    "\"multi\nline\",2024-01-02,1,1,USD,EC2,i-3,NULL,Usage\r\n";

/*
 * The time index: for random windows, the rows focus_window offers must
 * include every row that overlaps, on a store of hourly, daily, monthly
 * and point charges in random order; and an image keeps the index.
 */
static void
test_window(void)
{
	struct focus_store *s = focus_store_new(), *v;
	char *text = NULL, *img, err[256], line[200];
	size_t len = 0, i, lo, hi, k, n, missed = 0, read_rows = 0;
	static const int64_t spans[] = { 3600, 86400, 30 * 86400, 0 };
	unsigned seed = 7;
	FILE *f = open_memstream(&text, &len);
	int64_t base = 1725148800, from, to;

	fputs("ChargePeriodStart,ChargePeriodEnd,BilledCost,BillingCurrency\n", f);
	for (i = 0; i < 2000; i++) {
		int64_t st = base + (int64_t)(rand_r(&seed) % (90 * 24)) * 3600;
		int64_t sp = spans[rand_r(&seed) % 4];
		time_t a = (time_t)st, b = (time_t)(st + sp);
		struct tm ta, tb;
		char sa[32], sb[32];

		gmtime_r(&a, &ta);
		gmtime_r(&b, &tb);
		strftime(sa, sizeof(sa), "%Y-%m-%dT%H:%M:%SZ", &ta);
		strftime(sb, sizeof(sb), "%Y-%m-%dT%H:%M:%SZ", &tb);
		snprintf(line, sizeof(line), "%s,%s,1,USD\n", sa, sb);
		fputs(line, f);
	}
	fclose(f);
	ok(focus_load_buffer(s, "w.csv", text, len, err, sizeof(err)) == 0, "2000 charges");
	focus_index(s);
	ok(focus_store_image(s, &img, &len) == 0 &&
	    (v = focus_store_view(img, len, err, sizeof(err))) != NULL, "indexed image viewed");
	for (k = 0; k < 200; k++) {
		from = base + (int64_t)(rand_r(&seed) % (100 * 24)) * 3600 - 5 * 86400;
		to = from + (int64_t)(rand_r(&seed) % (20 * 24) + 1) * 3600;
		focus_window(v, from, to, &lo, &hi);
		read_rows += hi - lo;
		for (i = 0, n = focus_count(v); i < n; i++) {
			const struct focus_row *r = focus_row(v, i);
			int over = r->start == r->end ? r->start >= from && r->start < to :
			    r->start < to && r->end > from;

			if (over && (i < lo || i >= hi))
				missed++;
		}
	}
	ok(missed == 0, "every overlapping row is in the window");
	ok(read_rows < 200 * focus_count(v), "and windows skip rows (%zu of %zu read)",
	    read_rows, 200 * focus_count(v));
	/* The view reads rows in place: break the order in the image. */
	((struct focus_row *)(uintptr_t)focus_row(v, 5))->start = 0;
	focus_store_free(v);
	v = focus_store_view(img, len, err, sizeof(err));
	ok(v == NULL && strstr(err, "breaks the time index") != NULL,
	    "an image whose rows are out of order is refused");
	focus_store_free(v);
	free(img);
	free(text);
	focus_store_free(s);
}

int
main(void)
{
	struct focus_store *s = focus_store_new(), *v;
	struct json_object *bad;
	char err[256], *img;
	size_t len, i;
	int same = 1;

	ok(focus_load_buffer(s, "t.csv", csv, sizeof(csv) - 1, err, sizeof(err)) == 0,
	    "a BOM, CRLF, quotes, doubled quotes, a newline in a field");
	ok(focus_count(s) == 2, "two good rows");
	ok(strcmp(focus_str(s, focus_row(s, 0)->tags), "{\"a\":\"1\",\"b\":\"2\"}") == 0,
	    "tags kept as canonical JSON (keys sorted)");
	ok(strcmp(focus_str(s, focus_row(s, 1)->service), "S3, \"std\"") == 0,
	    "a quoted field with a comma and doubled quotes");
	ok(isnan(focus_row(s, 1)->effective) && focus_row(s, 1)->category == FC_CREDIT,
	    "NULL is absent; the charge category");
	bad = focus_bad_rows(s);
	ok(json_object_get_int(json_object_object_get(bad, "count")) == 2,
	    "two bad rows counted");
	ok(json_object_get_int(json_object_object_get(json_object_array_get_idx(
	    json_object_object_get(bad, "first"), 1), "line")) == 5,
	    "the record after a multi-line one: its starting line");
	json_object_put(bad);

	ok(focus_store_image(s, &img, &len) == 0, "the store as an image");
	v = focus_store_view(img, len, err, sizeof(err));
	ok(v != NULL && focus_count(v) == focus_count(s), "a view of it");
	for (i = 0; v != NULL && i < focus_count(s); i++) {
		const struct focus_row *a = focus_row(s, i), *b = focus_row(v, i);

		if (a->start != b->start || a->billed != b->billed ||
		    strcmp(focus_str(s, a->service), focus_str(v, b->service)) != 0 ||
		    strcmp(focus_str(s, a->tags), focus_str(v, b->tags)) != 0)
			same = 0;
	}
	ok(same, "rows and strings read through the view are the loaded ones");
	bad = v ? focus_bad_rows(v) : NULL;
	ok(bad && json_object_get_int(json_object_object_get(bad, "count")) == 2,
	    "bad rows carried by the image");
	json_object_put(bad);
	focus_store_free(v);

	ok(focus_store_view(img, 16, err, sizeof(err)) == NULL &&
	    strcmp(err, "billing image: too short") == 0, "a truncated image refused");
	ok(focus_store_view(img, len - 8, err, sizeof(err)) == NULL &&
	    strcmp(err, "billing image: out of bounds") == 0, "a short image refused");
	img[0] ^= 1;
	ok(focus_store_view(img, len, err, sizeof(err)) == NULL &&
	    strcmp(err, "billing image: not this version's") == 0, "a wrong magic refused");
	img[0] ^= 1;
	free(img);
	focus_store_free(s);
	test_window();
	return done_testing();
}
