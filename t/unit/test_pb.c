/*
 * The protocol-buffers codec: known bytes for known messages (from the
 * wire format's definition), every field type round-tripped through the
 * cost-source tables, and garbage decoded without a crash.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/plugin/costsource.h"
#include "../../src/plugin/pb.h"
#include "tap.h"

static char why[256];

static int
same_json(struct json_object *a, struct json_object *b)
{
	return json_object_equal(a, b);
}

static struct json_object *
roundtrip(const struct pb_msg *m, const char *text)
{
	struct json_object *in = json_tokener_parse(text), *out;
	struct pb_buf b = { NULL, 0, 0 };

	why[0] = '\0';
	if (pb_encode(m, in, &b, why, sizeof(why)) == -1) {
		printf("# encode: %s\n", why);
		json_object_put(in);
		return NULL;
	}
	out = pb_decode(m, b.p, b.len, why, sizeof(why));
	if (out == NULL)
		printf("# decode: %s\n", why);
	else if (!same_json(in, out))
		printf("# in  %s\n# out %s\n", json_object_to_json_string(in),
		    json_object_to_json_string(out));
	if (out != NULL && !same_json(in, out)) {
		json_object_put(out);
		out = NULL;
	}
	json_object_put(in);
	pb_buf_free(&b);
	return out;
}

static void
known_bytes(void)
{
	const struct cs_rpc *name = cs_rpc("Name"), *proj = cs_rpc("GetProjectedCost");
	struct json_object *o = json_tokener_parse("{\"name\":\"aws\"}");
	static const uint8_t want[] = { 0x0a, 0x03, 'a', 'w', 's' };
	/* cost_per_month = 8.5: field 3, wire type 1, little-endian double. */
	static const uint8_t money[] = { 0x19, 0, 0, 0, 0, 0, 0, 0x21, 0x40,
	    0x12, 0x03, 'U', 'S', 'D' };
	struct pb_buf b = { NULL, 0, 0 };
	struct json_object *d;

	ok(pb_encode(name->resp, o, &b, why, sizeof(why)) == 0 && b.len == sizeof(want) &&
	    memcmp(b.p, want, b.len) == 0, "NameResponse{name: \"aws\"} is 0a 03 61 77 73");
	json_object_put(o);
	pb_buf_free(&b);
	d = pb_decode(proj->resp, money, sizeof(money), why, sizeof(why));
	ok(d && json_object_get_double(json_object_object_get(d, "cost_per_month")) == 8.5 &&
	    strcmp(json_object_get_string(json_object_object_get(d, "currency")), "USD") == 0,
	    "a double and a string decoded");
	json_object_put(d);
}

static void
round_trips(void)
{
	struct json_object *o;

	o = roundtrip(cs_rpc("GetProjectedCost")->req, "{\"resource\":{\"provider\":\"aws\","
	    "\"resource_type\":\"aws:ec2/instance:Instance\",\"sku\":\"t3.micro\","
	    "\"region\":\"us-east-1\",\"tags\":{\"env\":\"prod\",\"team\":\"a\"},"
	    "\"growth_type\":\"GROWTH_TYPE_LINEAR\",\"growth_rate\":0.25},"
	    "\"utilization_percentage\":0.5,\"dry_run\":true,"
	    "\"usage_profile\":\"USAGE_PROFILE_DEV\"}");
	ok(o != NULL, "GetProjectedCostRequest: nested message, map, enums, doubles, bool");
	json_object_put(o);
	o = roundtrip(cs_rpc("GetActualCost")->req, "{\"resource_id\":\"i-1\","
	    "\"start\":\"2024-09-01T00:00:00Z\",\"end\":\"2024-09-02T12:30:00.250000000Z\","
	    "\"page_size\":100,\"page_token\":\"p2\"}");
	ok(o != NULL, "GetActualCostRequest: timestamps with and without fractions, int32");
	json_object_put(o);
	o = roundtrip(cs_rpc("Supports")->resp, "{\"supported\":true,\"reason\":\"\","
	    "\"capabilities\":{\"supports_projected_costs\":true,\"dry_run\":false},"
	    "\"supported_metrics\":[\"METRIC_KIND_ENERGY\"],"
	    "\"capabilities_enum\":[\"PLUGIN_CAPABILITY_PROJECTED_COSTS\","
	    "\"PLUGIN_CAPABILITY_ACTUAL_COSTS\"]}");
	ok(o != NULL, "SupportsResponse: map<string,bool>, packed repeated enums");
	json_object_put(o);
	o = roundtrip(cs_rpc("EstimateCost")->req, "{\"resource_type\":\"ec2\","
	    "\"attributes\":{\"size\":2.5,\"name\":\"x\",\"on\":true,\"nothing\":null,"
	    "\"list\":[1.5,\"two\",null,{\"deep\":[]}],\"obj\":{\"a\":\"b\"}}}");
	ok(o != NULL, "EstimateCostRequest: google.protobuf.Struct of every JSON kind");
	json_object_put(o);
	o = roundtrip(cs_rpc("GetBudgets")->resp, "{\"budgets\":[{\"id\":\"b1\",\"amount\":"
	    "{\"limit\":1000.0,\"currency\":\"USD\"},\"period\":\"BUDGET_PERIOD_MONTHLY\","
	    "\"thresholds\":[{\"percentage\":80.0,\"type\":\"THRESHOLD_TYPE_ACTUAL\","
	    "\"triggered\":true}],\"status\":{\"current_spend\":850.5,"
	    "\"health\":\"BUDGET_HEALTH_STATUS_WARNING\"}}],\"summary\":{\"total_budgets\":1}}");
	ok(o != NULL, "GetBudgetsResponse: repeated nested messages");
	json_object_put(o);
}

static void
bad_input(void)
{
	const struct pb_msg *m = cs_rpc("GetProjectedCost")->resp;
	struct json_object *in, *d;
	struct pb_buf b = { NULL, 0, 0 };
	uint8_t buf[64];
	unsigned seed = 1;
	int i, silent = 0, decoded = 0;
	size_t n, k;

	in = json_tokener_parse("{\"resource\":{\"provder\":\"aws\"}}");
	ok(pb_encode(cs_rpc("GetProjectedCost")->req, in, &b, why, sizeof(why)) == -1 &&
	    strstr(why, "resource.provder: no such field") != NULL,
	    "a misspelt field is refused with its path (%s)", why);
	json_object_put(in);
	b.len = 0;
	in = json_tokener_parse("{\"cost_per_month\":\"ten\"}");
	ok(pb_encode(m, in, &b, why, sizeof(why)) == -1 && strstr(why, "expected a number"),
	    "a string for a double is refused");
	json_object_put(in);
	b.len = 0;
	in = json_tokener_parse("{\"resource\":{\"sku\":7}}");
	is_str(pb_encode(cs_rpc("GetProjectedCost")->req, in, &b, why, sizeof(why)) == -1 ?
	    why : "", "resource.sku: expected a string", "a nested field's error names its path");
	json_object_put(in);
	pb_buf_free(&b);
	ok(pb_decode(m, (const uint8_t *)"\x19\x00\x00", 3, why, sizeof(why)) == NULL,
	    "a truncated double is refused (%s)", why);
	ok(pb_decode(m, (const uint8_t *)"\x22\x7f", 2, why, sizeof(why)) == NULL,
	    "a length past the end is refused");
	ok(pb_decode(m, (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11,
	    why, sizeof(why)) == NULL, "an overlong varint is refused");
	d = pb_decode(m, (const uint8_t *)"\xa0\x06\x01\x12\x01X", 6, why, sizeof(why));
	ok(d != NULL && strcmp(json_object_get_string(json_object_object_get(d,
	    "currency")), "X") == 0, "an unknown field (100) is skipped");
	json_object_put(d);
	/* proto3 strings are UTF-8: a plugin's Latin-1 never reaches an answer. */
	ok(pb_decode(m, (const uint8_t *)"\x12\x01\xe9", 3, why, sizeof(why)) == NULL,
	    "a string field that is not UTF-8 is refused");
	is_str(why, "currency: not UTF-8", "saying which field");
	d = pb_decode(m, (const uint8_t *)"\x12\x02\xc3\xa9", 4, why, sizeof(why));
	is_str(d ? json_object_get_string(json_object_object_get(d, "currency")) : NULL,
	    "\xc3\xa9", "UTF-8 is taken as it is");
	json_object_put(d);
	ok(pb_decode(cs_rpc("GetProjectedCost")->req, (const uint8_t *)
	    "\x0a\x08\x2a\x06\x0a\x01\xe9\x12\x01v", 10, why, sizeof(why)) == NULL,
	    "a map key that is not UTF-8 is refused");
	is_str(why, "tags: a key or value is not UTF-8", "saying which map");
	ok(pb_decode(cs_rpc("GetProjectedCost")->req, (const uint8_t *)
	    "\x0a\x08\x2a\x06\x0a\x01k\x12\x01\xe9", 10, why, sizeof(why)) == NULL,
	    "a map value that is not UTF-8 is refused");
	ok(pb_decode(cs_rpc("EstimateCost")->req, (const uint8_t *)
	    "\x12\x0a\x0a\x08\x0a\x01k\x12\x03\x1a\x01\xe9", 12, why, sizeof(why)) == NULL,
	    "a google.protobuf.Struct string that is not UTF-8 is refused");
	ok(pb_decode(cs_rpc("EstimateCost")->req, (const uint8_t *)
	    "\x12\x0a\x0a\x08\x0a\x01\xe9\x12\x03\x1a\x01v", 12, why, sizeof(why)) == NULL,
	    "and a Struct key");
	d = pb_decode(cs_rpc("EstimateCost")->req, (const uint8_t *)
	    "\x12\x0a\x0a\x08\x0a\x01k\x12\x03\x1a\x01v", 12, why, sizeof(why));
	is_str(d ? json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN) : why,
	    "{\"attributes\":{\"k\":\"v\"}}", "the same Struct in ASCII is decoded");
	json_object_put(d);
	/* Nesting past the limit: a DryRunResponse field opened 40 times. */
	for (n = 0; n < 40; n++)
		buf[n] = 0x3a;	/* field 7, length-delimited, then a length */
	ok(pb_decode(m, buf, 40, why, sizeof(why)) == NULL, "malformed nesting refused");
	for (i = 0; i < 20000; i++) {
		n = (size_t)(rand_r(&seed) % sizeof(buf));
		for (k = 0; k < n; k++)
			buf[k] = (uint8_t)rand_r(&seed);
		d = pb_decode(cs_rpc("GetBudgets")->resp, buf, n, why, sizeof(why));
		decoded += d != NULL;
		silent += d == NULL && why[0] == '\0';
		json_object_put(d);
	}
	/* Under ASan in CI: a crash or a leak fails the run before the plan. */
	ok(silent == 0, "20000 random buffers: decoded (%d) or refused, each refusal"
	    " saying why", decoded);
}

int
main(void)
{
	known_bytes();
	round_trips();
	bad_input();
	return done_testing();
}
