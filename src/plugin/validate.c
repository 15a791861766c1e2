#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/util.h"
#include "../mcp/schema.h"
#include "validate.h"

#define CALL_TIMEOUT_MS	10000	/* the published suites' default timeout */
#define ITERATIONS	10	/* latency tests: the average of ten calls */

extern const char pricing_spec_schema_json[];

static const char *const level_names[] = { "BASIC", "STANDARD", "FULL" };

/* A test: what to call, how many times (in parallel or one after another),
 * and how to judge the answers. */
struct vtest;
typedef int (*judge_fn)(const struct vtest *, struct json_object **resp,
	    const char **code, int64_t *lat, int n, char *why, size_t whylen);

struct vtest {
	const char	*name, *category;
	enum vlevel	 min;
	const char	*rpc;
	const char	*request;	/* JSON text */
	int		 calls, parallel;
	judge_fn	 judge;
	int64_t		 limit[3];	/* ms, by level; 0 none */
};

/* --- judges ---------------------------------------------------------------- */

static const char *
str_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int
all_ok(const char **code, int n, char *why, size_t whylen)
{
	int i;

	for (i = 0; i < n; i++)
		if (code[i] != NULL) {
			snprintf(why, whylen, "call %d: %s", i + 1, code[i]);
			return 0;
		}
	return 1;
}

static int
j_name(const struct vtest *t, struct json_object **r, const char **code, int64_t *lat,
    int n, char *why, size_t whylen)
{
	(void)t;
	(void)lat;
	if (!all_ok(code, n, why, whylen))
		return 0;
	if (*str_of(r[0], "name") == '\0') {
		snprintf(why, whylen, "Name answered an empty name");
		return 0;
	}
	return 1;
}

static int
j_ok(const struct vtest *t, struct json_object **r, const char **code, int64_t *lat,
    int n, char *why, size_t whylen)
{
	(void)t;
	(void)r;
	(void)lat;
	return all_ok(code, n, why, whylen);
}

static int
j_currency(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	(void)t;
	(void)lat;
	if (!all_ok(code, n, why, whylen))
		return 0;
	if (strlen(str_of(r[0], "currency")) != 3) {
		snprintf(why, whylen, "the answer's currency is \"%s\", not an ISO 4217"
		    " code", str_of(r[0], "currency"));
		return 0;
	}
	return 1;
}

/* The first call must fail with INVALID_ARGUMENT (or NOT_FOUND when the
 * test names it). */
static int
j_invalid(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	(void)r;
	(void)lat;
	(void)n;
	if (code[0] != NULL && (strcmp(code[0], "INVALID_ARGUMENT") == 0 ||
	    (strstr(t->name, "InvalidResource") != NULL && strcmp(code[0], "NOT_FOUND") == 0)))
		return 1;
	snprintf(why, whylen, "expected INVALID_ARGUMENT%s, got %s",
	    strstr(t->name, "InvalidResource") ? " or NOT_FOUND" : "",
	    code[0] ? code[0] : "OK");
	return 0;
}

/* Optional RPCs: OK, or UNIMPLEMENTED (said so). */
static int
j_optional(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	(void)t;
	(void)r;
	(void)lat;
	(void)n;
	if (code[0] == NULL)
		return 1;
	if (strcmp(code[0], "UNIMPLEMENTED") == 0) {
		snprintf(why, whylen, "not implemented (optional)");
		return 1;
	}
	snprintf(why, whylen, "%s", code[0]);
	return 0;
}

static int
j_spec(const struct vtest *t, struct json_object **r, const char **code, int64_t *lat,
    int n, char *why, size_t whylen)
{
	struct json_object *schema, *spec;
	int ok;

	(void)t;
	(void)lat;
	if (!all_ok(code, n, why, whylen))
		return 0;
	if (!json_object_object_get_ex(r[0], "spec", &spec)) {
		snprintf(why, whylen, "GetPricingSpec answered no spec");
		return 0;
	}
	schema = json_tokener_parse(pricing_spec_schema_json);
	ok = schema_validate_at(schema, spec, "spec", why, whylen) == 0;
	json_object_put(schema);
	return ok;
}

static int
j_latency(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	double avg = 0;
	int i;

	(void)t;
	(void)r;
	if (!all_ok(code, n, why, whylen))
		return 0;
	for (i = 0; i < n; i++)
		avg += (double)lat[i] / n;
	snprintf(why, whylen, "average %.1f ms over %d calls", avg, n);
	return 1;	/* the limit is checked by the runner, per level */
}

static int
j_consistent(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	int i;

	(void)t;
	(void)lat;
	if (!all_ok(code, n, why, whylen))
		return 0;
	for (i = 1; i < n; i++)
		if (!json_object_equal(r[0], r[i])) {
			snprintf(why, whylen, "answer %d differs from the first", i + 1);
			return 0;
		}
	return 1;
}

/* Latencies stable: none above three times the median plus 10 ms. */
static int
j_variance(const struct vtest *t, struct json_object **r, const char **code,
    int64_t *lat, int n, char *why, size_t whylen)
{
	int64_t s[64], med;
	int i, j;

	(void)t;
	(void)r;
	if (!all_ok(code, n, why, whylen))
		return 0;
	for (i = 0; i < n; i++) {
		for (j = i; j > 0 && s[j - 1] > lat[i]; j--)
			s[j] = s[j - 1];
		s[j] = lat[i];
	}
	med = s[n / 2];
	if (s[n - 1] > 3 * med + 10) {
		snprintf(why, whylen, "slowest call %lld ms against a median of %lld ms",
		    (long long)s[n - 1], (long long)med);
		return 0;
	}
	return 1;
}

#define EC2 "{\"resource\":{\"provider\":\"aws\",\"resource_type\":" \
	"\"aws:ec2/instance:Instance\",\"sku\":\"t3.micro\",\"region\":\"us-east-1\"}}"
#define DAY_RANGE "{\"resource_id\":\"i-conformance\",\"start\":\"2024-01-01T00:00:00Z\"," \
	"\"end\":\"2024-01-02T00:00:00Z\"}"

static const struct vtest tests[] = {
	{ "RPCCorrectness_NameRPC", "protocol", V_BASIC, "Name", NULL, 1, 0, j_name, { 0, 0, 0 } },
	{ "RPCCorrectness_SupportsRPC", "protocol", V_BASIC, "Supports", EC2, 1, 0, j_ok, { 0, 0, 0 } },
	{ "RPCCorrectness_NilResource", "error", V_BASIC, "Supports", "{}", 1, 0, j_invalid, { 0, 0, 0 } },
	{ "RPCCorrectness_InvalidTimeRange", "error", V_BASIC, "GetActualCost",
	    "{\"resource_id\":\"i-conformance\",\"start\":\"2024-01-02T00:00:00Z\","
	    "\"end\":\"2024-01-01T00:00:00Z\"}", 1, 0, j_invalid, { 0, 0, 0 } },
	{ "RPCCorrectness_GetProjectedCostRPC", "protocol", V_BASIC, "GetProjectedCost", EC2,
	    1, 0, j_currency, { 0, 0, 0 } },
	{ "GetProjectedCost_InvalidResource", "error", V_BASIC, "GetProjectedCost",
	    "{\"resource\":{\"provider\":\"aws\",\"resource_type\":\"invalid:resource\"}}",
	    1, 0, j_invalid, { 0, 0, 0 } },
	{ "RPCCorrectness_GetPricingSpecRPC", "protocol", V_BASIC, "GetPricingSpec", EC2,
	    1, 0, j_ok, { 0, 0, 0 } },
	{ "SpecValidation_ValidPricingSpec", "spec", V_BASIC, "GetPricingSpec", EC2,
	    1, 0, j_spec, { 0, 0, 0 } },
	{ "RPCCorrectness_GetBudgetsRPC", "protocol", V_BASIC, "GetBudgets", "{}",
	    1, 0, j_optional, { 0, 0, 0 } },
	{ "RPCCorrectness_GetActualCostRPC", "protocol", V_STANDARD, "GetActualCost",
	    DAY_RANGE, 1, 0, j_ok, { 0, 0, 0 } },
	{ "Performance_NameLatency", "performance", V_STANDARD, "Name", NULL, ITERATIONS, 0,
	    j_latency, { 0, 100, 50 } },
	{ "Performance_SupportsLatency", "performance", V_STANDARD, "Supports", EC2,
	    ITERATIONS, 0, j_latency, { 0, 50, 25 } },
	{ "Performance_GetPluginInfoLatency", "performance", V_STANDARD, "GetPluginInfo",
	    NULL, ITERATIONS, 0, j_latency, { 0, 100, 50 } },
	{ "Performance_GetProjectedCostLatency", "performance", V_STANDARD,
	    "GetProjectedCost", EC2, ITERATIONS, 0, j_latency, { 0, 200, 100 } },
	{ "Performance_GetPricingSpecLatency", "performance", V_STANDARD, "GetPricingSpec",
	    EC2, ITERATIONS, 0, j_latency, { 0, 200, 100 } },
	{ "Performance_GetActualCostLatency_24h", "performance", V_STANDARD, "GetActualCost",
	    DAY_RANGE, ITERATIONS, 0, j_latency, { 0, 2000, 1000 } },
	{ "Concurrency_ParallelRequests_Standard", "concurrency", V_STANDARD,
	    "GetProjectedCost", EC2, 10, 1, j_ok, { 0, 0, 0 } },
	{ "Concurrency_ResponseConsistency", "concurrency", V_STANDARD, "GetProjectedCost",
	    EC2, 5, 0, j_consistent, { 0, 0, 0 } },
	{ "Performance_BaselineVariance", "performance", V_FULL, "Name", NULL, 20, 0,
	    j_variance, { 0, 0, 0 } },
	{ "Concurrency_ParallelRequests_Advanced", "concurrency", V_FULL, "GetProjectedCost",
	    EC2, 50, 1, j_ok, { 0, 0, 0 } },
};

/* --- the runner ------------------------------------------------------------ */

struct vrun {
	char		*plugin;
	int		 level;
	vcall_fn	 call;
	void		*ctx;
	void		(*finished)(struct json_object *, void *);
	void		*arg;
	size_t		 t;		/* current test */
	int		 issued, answered, npassed, nfailed;
	int		 issuing, complete;	/* answers may come at once */
	struct json_object *resp[64];
	const char	*code[64];
	char		 codes[64][32];
	int64_t		 lat[64];
	uint64_t	 t0;
	struct json_object *results;
};

static void	next_test(struct vrun *);
static void	issue(struct vrun *);

int
validate_level(const char *s)
{
	size_t i;

	if (s != NULL && strcasecmp(s, "ADVANCED") == 0)
		return V_FULL;
	for (i = 0; s != NULL && i < nitems(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
record(struct vrun *v)
{
	const struct vtest *t = &tests[v->t];
	struct json_object *o = json_object_new_object();
	char why[512] = "";
	int ok, i;
	double avg = 0;

	ok = t->judge(t, v->resp, v->code, v->lat, v->answered, why, sizeof(why));
	if (ok && t->limit[v->level] > 0) {
		for (i = 0; i < v->answered; i++)
			avg += (double)v->lat[i] / v->answered;
		if (avg > (double)t->limit[v->level]) {
			ok = 0;
			snprintf(why, sizeof(why), "average %.1f ms over %d calls, over the"
			    " %s limit of %lld ms", avg, v->answered, level_names[v->level],
			    (long long)t->limit[v->level]);
		}
	}
	json_object_object_add(o, "name", json_object_new_string(t->name));
	json_object_object_add(o, "category", json_object_new_string(t->category));
	json_object_object_add(o, "passed", json_object_new_boolean(ok));
	json_object_object_add(o, "duration_ms", json_object_new_double(
	    round((double)(mono_usec() - v->t0) / 100) / 10));
	if (why[0])
		json_object_object_add(o, ok ? "note" : "error_message",
		    json_object_new_string(why));
	if (t->limit[v->level] > 0)
		json_object_object_add(o, "limit_ms", json_object_new_int64(t->limit[v->level]));
	json_object_array_add(v->results, o);
	if (ok)
		v->npassed++;
	else
		v->nfailed++;
	for (i = 0; i < v->answered; i++) {
		json_object_put(v->resp[i]);
		v->resp[i] = NULL;
	}
}

static void
on_answer(struct json_object *response, const char *code, const char *message,
    int64_t latency, void *arg)
{
	struct vrun *v = arg;
	int i = v->answered++;

	(void)message;
	v->resp[i] = json_object_get(response);
	v->code[i] = NULL;
	if (code != NULL) {
		snprintf(v->codes[i], sizeof(v->codes[i]), "%s", code);
		v->code[i] = v->codes[i];
	}
	v->lat[i] = latency;
	if (v->answered == tests[v->t].calls) {
		if (v->issuing) {
			v->complete = 1;	/* next_test goes on */
			return;
		}
		record(v);
		v->t++;
		next_test(v);
	} else if (!tests[v->t].parallel)
		issue(v);
}

static void
issue(struct vrun *v)
{
	const struct vtest *t = &tests[v->t];
	struct json_object *req = t->request ? json_tokener_parse(t->request) : NULL;

	v->issued++;
	v->call(v->ctx, v->plugin, t->rpc, req, CALL_TIMEOUT_MS, on_answer, v);
	json_object_put(req);
}

static void
finish(struct vrun *v)
{
	struct json_object *r = json_object_new_object(), *s, *lim;
	size_t i;

	json_object_object_add(r, "plugin_name", json_object_new_string(v->plugin));
	json_object_object_add(r, "conformance_level",
	    json_object_new_string(level_names[v->level]));
	json_object_object_add(r, "passed", json_object_new_boolean(v->nfailed == 0));
	json_object_object_add(r, "test_results", v->results);
	s = json_object_new_object();
	json_object_object_add(s, "passed", json_object_new_int(v->npassed));
	json_object_object_add(s, "failed", json_object_new_int(v->nfailed));
	json_object_object_add(s, "total", json_object_new_int(v->npassed + v->nfailed));
	json_object_object_add(r, "summary", s);
	lim = json_object_new_object();
	for (i = 0; i < nitems(tests); i++)
		if (tests[i].limit[v->level] > 0 && (int)tests[i].min <= v->level)
			json_object_object_add(lim, tests[i].rpc, json_object_new_int64(
			    tests[i].limit[v->level]));
	json_object_object_add(r, "latency_limits_ms", lim);
	json_object_object_add(r, "timestamp", json_object_new_int64(wall_ms()));
	v->finished(r, v->arg);
	free(v->plugin);
	free(v);
}

static void
next_test(struct vrun *v)
{
	int i;

	while (v->t < nitems(tests) && (int)tests[v->t].min > v->level)
		v->t++;
	if (v->t == nitems(tests)) {
		finish(v);
		return;
	}
	v->issued = v->answered = 0;
	v->t0 = mono_usec();
	if (!tests[v->t].parallel) {
		issue(v);
		return;
	}
	v->issuing = 1;
	v->complete = 0;
	for (i = 0; i < tests[v->t].calls; i++)
		issue(v);
	v->issuing = 0;
	if (v->complete) {
		record(v);
		v->t++;
		next_test(v);
	}
}

void
validate_plugin(const char *plugin, int level, vcall_fn call, void *ctx,
    void (*finished)(struct json_object *, void *), void *arg)
{
	struct vrun *v = calloc(1, sizeof(*v));

	if (v == NULL || (v->plugin = strdup(plugin)) == NULL) {
		free(v);
		finished(NULL, arg);
		return;
	}
	v->level = level;
	v->call = call;
	v->ctx = ctx;
	v->finished = finished;
	v->arg = arg;
	v->results = json_object_new_array();
	next_test(v);
}
