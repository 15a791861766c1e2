/*
 * The FOCUS store and its image: what a view of the image reads is what
 * was loaded, and a damaged image is refused, not read out of bounds.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return done_testing();
}
