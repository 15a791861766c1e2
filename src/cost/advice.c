#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/util.h"
#include "advice.h"
#include "catalog.h"
#include "engine.h"
#include "jget.h"

static void
hint(struct json_object *hints, const char *kind, const char *text,
    double saving, const char *currency, const char *confidence)
{
	struct json_object *h = json_object_new_object();

	json_object_object_add(h, "kind", json_object_new_string(kind));
	json_object_object_add(h, "description", json_object_new_string(text));
	json_object_object_add(h, "monthly_saving",
	    json_object_new_double(round(saving * 100) / 100));
	json_object_object_add(h, "currency", json_object_new_string(currency));
	json_object_object_add(h, "confidence", json_object_new_string(confidence));
	json_object_array_add(hints, h);
}

int
advice_nonprod(struct json_object *rec)
{
	static const char *const keys[] = { "env", "environment", "Environment",
	    "stage", "Stage", "Env", NULL };
	static const char *const nonprod[] = { "dev", "development", "test",
	    "testing", "qa", "staging", "stage", "sandbox", NULL };
	struct json_object *tags;
	const char *v;
	size_t i, j;

	if (!json_object_object_get_ex(rec, "tags", &tags))
		return 0;
	for (i = 0; keys[i] != NULL; i++)
		if ((v = jstr(tags, keys[i])) != NULL)
			for (j = 0; nonprod[j] != NULL; j++)
				if (strcasecmp(v, nonprod[j]) == 0)
					return 1;
	return 0;
}

/*
 * Families with the same vCPU and memory per size, cheaper: AMD (a) or
 * Graviton (g, arm64 software needed).
 */
static const struct {
	const char	*family;
	const char	*alts[3];
} families[] = {
	{ "t3", { "t3a", "t4g", NULL } },
	{ "m5", { "m5a", "m6g", "m7g" } },
	{ "m6i", { "m6g", "m7g", NULL } },
	{ "m7i", { "m7g", NULL, NULL } },
	{ "c5", { "c6g", "c7g", NULL } },
	{ "c6i", { "c6g", "c7g", NULL } },
	{ "r5", { "r6g", NULL, NULL } },
	{ "r6i", { "r6g", NULL, NULL } },
	{ "db.m5", { "db.m6g", NULL, NULL } },
	{ "db.t3", { "db.t4g", NULL, NULL } },
	{ "cache.t3", { "cache.t4g", NULL, NULL } },
	{ "cache.m5", { "cache.m6g", NULL, NULL } },
	{ "cache.r5", { "cache.r6g", NULL, NULL } },
};

static void
cheaper_family(struct json_object *hints, const char *kind, const char *sku,
    const char *region, double count, const char *what)
{
	const struct price *cur, *alt, *best = NULL;
	const char *dot = strrchr(sku, '.');
	char fam[32], cand[48], text[400];
	int graviton, managed;
	size_t i, j;

	if (dot == NULL || (size_t)(dot - sku) >= sizeof(fam) ||
	    (cur = catalog_find("aws", kind, sku, region)) == NULL)
		return;
	snprintf(fam, sizeof(fam), "%.*s", (int)(dot - sku), sku);
	for (i = 0; i < nitems(families); i++) {
		if (strcmp(families[i].family, fam) != 0)
			continue;
		for (j = 0; j < 3 && families[i].alts[j] != NULL; j++) {
			snprintf(cand, sizeof(cand), "%s%s", families[i].alts[j], dot);
			alt = catalog_find("aws", kind, cand, region);
			if (alt != NULL && strcmp(alt->currency, cur->currency) == 0 &&
			    alt->amount < cur->amount && (best == NULL ||
			    alt->amount < best->amount))
				best = alt;
		}
	}
	if (best == NULL)
		return;
	/* Graviton needs arm64 builds of what runs on an instance; a managed
	 * database or cache runs the same engine. */
	graviton = strstr(best->sku, "g.") != NULL;
	managed = strcmp(kind, "ec2") != 0;
	snprintf(text, sizeof(text), "%s %s -> %s: the same size, %.4f instead"
	    " of %.4f %s an hour%s", what, sku, best->sku, best->amount,
	    cur->amount, cur->currency, !graviton ? " (AMD)" : managed ?
	    " (Graviton: the same engine, nothing to rebuild)" :
	    " (Graviton: needs arm64 builds of your software)");
	hint(hints, "rightsizing", text, (cur->amount - best->amount) *
	    HOURS_PER_MONTH * count, cur->currency,
	    graviton && !managed ? "MEDIUM" : "HIGH");
}

/* Previous generations and the current one of the same shape. */
static const struct {
	const char	*old, *cur;
} generations[] = {
	{ "t2", "t3" }, { "m4", "m5" }, { "c4", "c5" }, { "r4", "r5" },
};

static void
newer_generation(struct json_object *hints, const char *kind, const char *sku,
    const char *region, const char *what)
{
	const struct price *old, *cur;
	const char *dot = strrchr(sku, '.');
	char cand[48], text[400];
	size_t i;

	if (dot == NULL || (old = catalog_find("aws", kind, sku, region)) == NULL)
		return;
	for (i = 0; i < nitems(generations); i++) {
		if (strlen(generations[i].old) != (size_t)(dot - sku) ||
		    strncmp(generations[i].old, sku, (size_t)(dot - sku)) != 0)
			continue;
		snprintf(cand, sizeof(cand), "%s%s", generations[i].cur, dot);
		cur = catalog_find("aws", kind, cand, region);
		if (cur == NULL || strcmp(cur->currency, old->currency) != 0 ||
		    cur->amount >= old->amount)
			return;
		snprintf(text, sizeof(text), "%s %s -> %s: the current generation of"
		    " the same size, %.4f instead of %.4f %s an hour, on the Nitro"
		    " system", what, sku, cur->sku, cur->amount, old->amount,
		    old->currency);
		hint(hints, "generation_upgrade", text, (old->amount - cur->amount) *
		    HOURS_PER_MONTH, old->currency, "HIGH");
	}
}

static void
gp2_to_gp3(struct json_object *hints, const char *kind, const char *region,
    double gb, const char *what)
{
	const struct price *g2 = catalog_find("aws", kind, "gp2", region);
	const struct price *g3 = catalog_find("aws", kind, "gp3", region);
	char text[300];

	if (g2 == NULL || g3 == NULL || isnan(gb) || g3->amount >= g2->amount ||
	    strcmp(g2->currency, g3->currency) != 0)
		return;
	snprintf(text, sizeof(text), "%s: gp2 -> gp3 for %.0f GB, %.3f instead"
	    " of %.3f %s per GB-month, with 3,000 IOPS and 125 MB/s included",
	    what, gb, g3->amount, g2->amount, g2->currency);
	hint(hints, "storage_optimization", text, (g2->amount - g3->amount) * gb,
	    g2->currency, "HIGH");
}

void
advice_for(const struct presource *r, struct json_object *rec,
    struct json_object *hints)
{
	const char *region = jstr(rec, "region"), *cat = jstr(rec, "category");
	const char *cur = jstr(rec, "currency");
	struct json_object *in = pulumi_inputs(r), *root;
	double monthly = jnum(rec, "monthly_cost");
	char text[400];

	if (in == NULL || region == NULL || jstr(rec, "status") == NULL ||
	    strcmp(jstr(rec, "status"), "priced") != 0 || cur == NULL)
		return;
	if (strcmp(r->type, "aws:ec2/instance:Instance") == 0 && jstr(in, "instanceType")) {
		cheaper_family(hints, "ec2", jstr(in, "instanceType"), region, 1,
		    "instance type");
		newer_generation(hints, "ec2", jstr(in, "instanceType"), region,
		    "instance type");
		root = NULL;
		json_object_object_get_ex(in, "rootBlockDevice", &root);
		if (jstr(root, "volumeType") && strcmp(jstr(root, "volumeType"), "gp2") == 0)
			gp2_to_gp3(hints, "ebs", region, jnum(root, "volumeSize"),
			    "root volume");
	}
	if (strcmp(r->type, "aws:ebs/volume:Volume") == 0 &&
	    (jstr(in, "type") == NULL || strcmp(jstr(in, "type"), "gp2") == 0))
		gp2_to_gp3(hints, "ebs", region, jnum(in, "size"), "volume");
	if (strcmp(r->type, "aws:rds/instance:Instance") == 0) {
		const char *cls = jstr(in, "instanceClass") ? jstr(in, "instanceClass") :
		    jstr(in, "dbInstanceClass");
		struct json_object *maz;
		char kind[40];

		snprintf(kind, sizeof(kind), "rds-%s", jstr(in, "engine") ?
		    jstr(in, "engine") : "");
		if (cls != NULL)
			cheaper_family(hints, kind, cls, region,
			    json_object_object_get_ex(in, "multiAz", &maz) &&
			    json_object_get_boolean(maz) ? 2 : 1, "instance class");
		if ((jstr(in, "storageType") == NULL ||
		    strcmp(jstr(in, "storageType"), "gp2") == 0))
			gp2_to_gp3(hints, "rds-storage", region,
			    jnum(in, "allocatedStorage"), "storage");
		if (json_object_object_get_ex(in, "multiAz", &maz) &&
		    json_object_get_boolean(maz) && advice_nonprod(rec) &&
		    !isnan(monthly)) {
			snprintf(text, sizeof(text), "Multi-AZ doubles the cost of a"
			    " database tagged as non-production; single-AZ halves it");
			hint(hints, "rightsizing", text, monthly / 2, cur, "MEDIUM");
		}
	}
	if ((strcmp(r->type, "aws:elasticache/replicationGroup:ReplicationGroup") == 0 ||
	    strcmp(r->type, "aws:elasticache/cluster:Cluster") == 0) &&
	    jstr(in, "nodeType")) {
		double n = jnum(in, "numCacheClusters");

		if (isnan(n))
			n = jnum(in, "numCacheNodes");
		cheaper_family(hints, "elasticache", jstr(in, "nodeType"), region,
		    isnan(n) ? 1 : n, "node type");
	}
	/* Compute that runs round the clock outside production: only its
	 * hourly components stop with it (volumes are billed regardless). */
	if (cat != NULL && strcmp(cat, "compute") == 0 && advice_nonprod(rec)) {
		struct json_object *comps, *c;
		double hourly = 0;
		size_t i, n;

		json_object_object_get_ex(rec, "components", &comps);
		n = json_object_is_type(comps, json_type_array) ?
		    json_object_array_length(comps) : 0;
		for (i = 0; i < n; i++) {
			c = json_object_array_get_idx(comps, i);
			if (jstr(c, "unit") && strcmp(jstr(c, "unit"), "hour") == 0)
				hourly += jnum(c, "monthly_cost");
		}
		if (hourly > 0) {
			snprintf(text, sizeof(text), "tagged as non-production but"
			    " running 730 hours a month: 10 hours on weekdays (%.0f"
			    " hours) would cost %.2f %s instead of %.2f for its"
			    " running hours", WORK_HOURS_PER_MONTH, hourly *
			    WORK_HOURS_PER_MONTH / HOURS_PER_MONTH, cur, hourly);
			hint(hints, "schedule", text, hourly * (1 -
			    WORK_HOURS_PER_MONTH / HOURS_PER_MONTH), cur, "MEDIUM");
		}
	}
}
