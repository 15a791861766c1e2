#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "catalog_import.h"
#include "jget.h"
#include "spec.h"

#define MAX_PRICE_LIST	(2048LL * 1024 * 1024)

struct out {
	const char		*dir;
	size_t			 written;
	struct json_object	*skipped;	/* reason -> count */
	int			 failed;
};

static void
skip(struct out *w, const char *why)
{
	struct json_object *v;
	int64_t n = 0;

	if (json_object_object_get_ex(w->skipped, why, &v))
		n = json_object_get_int64(v);
	json_object_object_add(w->skipped, why, json_object_new_int64(n + 1));
}

/* Validate the spec as the server will, then write it. */
static void
emit(struct out *w, const char *provider, const char *rtype, const char *sku,
    const char *region, double rate, const char *currency, const char *source,
    const char *effective, const char *description)
{
	struct json_object *o = json_object_new_object();
	struct spec_book *b = spec_book_new();
	char name[512], path[4096], err[512];
	const char *text;
	size_t i;
	int fd;

	json_object_object_add(o, "provider", json_object_new_string(provider));
	json_object_object_add(o, "resource_type", json_object_new_string(rtype));
	json_object_object_add(o, "sku", json_object_new_string(sku));
	json_object_object_add(o, "region", json_object_new_string(region));
	json_object_object_add(o, "billing_mode", json_object_new_string("per_hour"));
	json_object_object_add(o, "rate_per_unit", json_object_new_double(rate));
	json_object_object_add(o, "currency", json_object_new_string(currency));
	json_object_object_add(o, "unit", json_object_new_string(strcmp(rtype, "ebs") == 0 ?
	    "GB-month" : "hour"));
	if (strcmp(rtype, "ebs") == 0)
		json_object_object_add(o, "billing_mode", json_object_new_string("per_gb_month"));
	json_object_object_add(o, "description", json_object_new_string(description));
	json_object_object_add(o, "source", json_object_new_string(source));
	if (effective != NULL && strlen(effective) >= 10)
		json_object_object_add(o, "effective_date", json_object_new_string(effective));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED);
	if (b == NULL || spec_parse(b, text, strlen(text), sku, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: catalog import: %s\n", PCM_NAME, err);
		w->failed = 1;
		goto out;
	}
	snprintf(name, sizeof(name), "%s-%s-%s-%s.json", provider, rtype, sku, region);
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && strchr("-._", name[i]) == NULL)
			name[i] = '_';
	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1 ||
	    write_all(fd, text, strlen(text)) == -1 || write_all(fd, "\n", 1) == -1) {
		fprintf(stderr, "%s: %s: %s\n", PCM_NAME, path, strerror(errno));
		w->failed = 1;
	} else
		w->written++;
	if (fd != -1)
		close(fd);
out:
	spec_book_free(b);
	json_object_put(o);
}

/* --- AWS Price List offer file ------------------------------------------ */

/* The one on-demand price of a product: hourly or per GB-month, in USD. */
static int
aws_ondemand(struct json_object *terms, const char *sku, const char *unit,
    double *rate, const char **eff)
{
	struct json_object *od = jget(jget(terms, "OnDemand"), sku), *ta, *pd;

	if (od == NULL)
		return -1;
	json_object_object_foreach(od, code, term) {
		(void)code;
		ta = jget(term, "termAttributes");
		if (ta != NULL && json_object_object_length(ta) > 0)
			continue;	/* a reserved term filed under OnDemand */
		pd = jget(term, "priceDimensions");
		json_object_object_foreach(pd, rc, dim) {
			const char *usd = jstr(jget(dim, "pricePerUnit"), "USD");

			(void)rc;
			if (usd == NULL || jstr(dim, "unit") == NULL ||
			    strcmp(jstr(dim, "unit"), unit) != 0)
				continue;
			*rate = strtod(usd, NULL);
			*eff = jstr(term, "effectiveDate");
			return 0;
		}
	}
	return -1;
}

static void
import_aws(struct json_object *doc, struct out *w)
{
	struct json_object *products = jget(doc, "products"), *terms = jget(doc, "terms");
	char source[300];
	const char *eff;
	double rate;

	json_object_object_foreach(products, sku, p) {
		struct json_object *a = jget(p, "attributes");
		const char *fam = jstr(p, "productFamily"), *region = jstr(a, "regionCode");

		snprintf(source, sizeof(source), "AWS Price List offer %s, version %s,"
		    " SKU %s", jstr(doc, "offerCode") ? jstr(doc, "offerCode") : "?",
		    jstr(doc, "version") ? jstr(doc, "version") : "?", sku);
		if (region == NULL) {
			skip(w, "no regionCode");
			continue;
		}
		if (fam != NULL && strcmp(fam, "Compute Instance") == 0) {
			const char *os = jstr(a, "operatingSystem"), *ten = jstr(a, "tenancy");
			const char *sw = jstr(a, "preInstalledSw"), *cap = jstr(a, "capacitystatus");

			if (os == NULL || strcmp(os, "Linux") != 0 || ten == NULL ||
			    strcmp(ten, "Shared") != 0 || (sw && strcmp(sw, "NA") != 0) ||
			    (cap && strcmp(cap, "Used") != 0)) {
				skip(w, "not Linux, shared tenancy, no pre-installed software");
				continue;
			}
			if (aws_ondemand(terms, sku, "Hrs", &rate, &eff) == -1) {
				skip(w, "no on-demand hourly price (reserved terms only)");
				continue;
			}
			emit(w, "aws", "ec2", jstr(a, "instanceType"), region, rate, "USD",
			    source, eff, "EC2 on-demand, Linux, shared tenancy");
		} else if (fam != NULL && strcmp(fam, "Storage") == 0 &&
		    jstr(a, "volumeApiName") != NULL) {
			if (aws_ondemand(terms, sku, "GB-Mo", &rate, &eff) == -1) {
				skip(w, "no on-demand GB-month price");
				continue;
			}
			emit(w, "aws", "ebs", jstr(a, "volumeApiName"), region, rate, "USD",
			    source, eff, "EBS volume storage per GB-month");
		} else
			skip(w, "a product family with no Pulumi resource SKU to match");
	}
}

/* --- Azure Retail Prices API -------------------------------------------- */

static void
import_azure(struct json_object *doc, struct out *w)
{
	struct json_object *items = jget(doc, "Items"), *v;
	size_t i, n = json_object_array_length(items);
	char source[300];

	for (i = 0; i < n; i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		const char *svc = jstr(it, "serviceName"), *arm = jstr(it, "armSkuName");
		const char *prod = jstr(it, "productName"), *sku = jstr(it, "skuName");
		const char *type = jstr(it, "type"), *uom = jstr(it, "unitOfMeasure");

		if (svc == NULL || strcmp(svc, "Virtual Machines") != 0 || arm == NULL ||
		    arm[0] == '\0') {
			skip(w, "not a virtual machine meter");
			continue;
		}
		if (type == NULL || strcmp(type, "Consumption") != 0) {
			skip(w, "not pay-as-you-go (DevTest, reservation)");
			continue;
		}
		if ((prod && strstr(prod, "Windows") != NULL) || (sku && (strstr(sku,
		    "Spot") != NULL || strstr(sku, "Low Priority") != NULL))) {
			skip(w, "Windows, Spot or Low Priority");
			continue;
		}
		if (json_object_object_get_ex(it, "isPrimaryMeterRegion", &v) &&
		    !json_object_get_boolean(v)) {
			skip(w, "not the primary meter region");
			continue;
		}
		if (uom == NULL || strcmp(uom, "1 Hour") != 0) {
			skip(w, "not an hourly meter");
			continue;
		}
		snprintf(source, sizeof(source), "Azure Retail Prices API, meter %s",
		    jstr(it, "meterId") ? jstr(it, "meterId") : "?");
		emit(w, "azure", "compute", arm, jstr(it, "armRegionName"),
		    json_object_get_double(jget(it, "retailPrice")),
		    jstr(it, "currencyCode") ? jstr(it, "currencyCode") :
		    jstr(doc, "BillingCurrency") ? jstr(doc, "BillingCurrency") : "USD",
		    source, jstr(it, "effectiveStartDate"), "Linux VM, pay as you go");
	}
}

/* --- GCP Cloud Billing Catalog ------------------------------------------ */

/* Predefined machine types of a family: vCPUs and GB of memory. */
static const struct {
	const char	*family, *kind;
	int		 vcpus[8];
	double		 gb_per_vcpu;
} shapes[] = {
	{ "e2", "standard", { 2, 4, 8, 16, 32 }, 4 },
	{ "e2", "highmem", { 2, 4, 8, 16 }, 8 },
	{ "e2", "highcpu", { 2, 4, 8, 16, 32 }, 1 },
	{ "n2", "standard", { 2, 4, 8, 16, 32 }, 4 },
	{ "n2", "highmem", { 2, 4, 8, 16, 32 }, 8 },
	{ "n2", "highcpu", { 2, 4, 8, 16, 32 }, 1 },
	{ "n2d", "standard", { 2, 4, 8, 16, 32 }, 4 },
	{ "t2d", "standard", { 1, 2, 4, 8, 16, 32, 48, 60 }, 4 },
	{ "c2", "standard", { 4, 8, 16, 30, 60 }, 4 },
	{ "n1", "standard", { 1, 2, 4, 8, 16, 32 }, 3.75 },
};

static double
gcp_price(struct json_object *sku, const char **cur, const char **eff)
{
	struct json_object *pi = json_object_array_get_idx(jget(sku, "pricingInfo"), 0);
	struct json_object *rates = jget(jget(pi, "pricingExpression"), "tieredRates");
	struct json_object *last, *up;

	if (!json_object_is_type(rates, json_type_array) ||
	    json_object_array_length(rates) == 0)
		return NAN;
	last = json_object_array_get_idx(rates, json_object_array_length(rates) - 1);
	up = jget(last, "unitPrice");
	*cur = jstr(up, "currencyCode");
	*eff = jstr(pi, "effectiveTime");
	return strtod(jstr(up, "units") ? jstr(up, "units") : "0", NULL) +
	    (double)json_object_get_int64(jget(up, "nanos")) / 1e9;
}

static void
import_gcp(struct json_object *doc, struct out *w)
{
	struct json_object *skus = jget(doc, "skus");
	size_t i, j, n = json_object_array_length(skus), k, r;
	char fam[32], mt[64], source[300], desc[200];

	for (i = 0; i < n; i++) {
		struct json_object *core = json_object_array_get_idx(skus, i);
		struct json_object *cat = jget(core, "category"), *regions;
		const char *d = jstr(core, "description"), *cur, *eff, *cur2, *eff2;
		double cp, rp;
		size_t fl;

		if (d == NULL || jstr(cat, "resourceGroup") == NULL ||
		    strcmp(jstr(cat, "resourceGroup"), "CPU") != 0 ||
		    jstr(cat, "usageType") == NULL || strcmp(jstr(cat, "usageType"), "OnDemand") != 0) {
			if (jstr(cat, "resourceGroup") == NULL ||
			    strcmp(jstr(cat, "resourceGroup"), "RAM") != 0)
				skip(w, "not an on-demand core or RAM SKU");
			continue;
		}
		fl = strcspn(d, " ");
		snprintf(fam, sizeof(fam), "%.*s", (int)fl, d);
		for (k = 0; fam[k]; k++)
			fam[k] = (char)tolower((unsigned char)fam[k]);
		/* The RAM SKU of the same family and regions. */
		for (j = 0; j < n; j++) {
			struct json_object *ram = json_object_array_get_idx(skus, j);
			const char *rd = jstr(ram, "description");

			if (rd == NULL || strncasecmp(rd, d, fl) != 0 || rd[fl] != ' ' ||
			    jstr(jget(ram, "category"), "resourceGroup") == NULL ||
			    strcmp(jstr(jget(ram, "category"), "resourceGroup"), "RAM") != 0 ||
			    !json_object_equal(jget(ram, "serviceRegions"), jget(core, "serviceRegions")))
				continue;
			cp = gcp_price(core, &cur, &eff);
			rp = gcp_price(ram, &cur2, &eff2);
			if (isnan(cp) || isnan(rp) || cur == NULL || cur2 == NULL ||
			    strcmp(cur, cur2) != 0)
				break;
			regions = jget(core, "serviceRegions");
			for (k = 0; k < nitems(shapes); k++) {
				int c;
				size_t s;

				if (strcmp(shapes[k].family, fam) != 0)
					continue;
				for (s = 0; s < 8 && (c = shapes[k].vcpus[s]) != 0; s++) {
					snprintf(mt, sizeof(mt), "%s-%s-%d", fam, shapes[k].kind, c);
					snprintf(source, sizeof(source), "GCP Cloud Billing Catalog"
					    " SKUs %s (core) and %s (RAM)", jstr(core, "skuId") ?
					    jstr(core, "skuId") : "?", jstr(ram, "skuId") ?
					    jstr(ram, "skuId") : "?");
					snprintf(desc, sizeof(desc), "%d vCPU x core price +"
					    " %g GB x RAM price", c, c * shapes[k].gb_per_vcpu);
					for (r = 0; r < json_object_array_length(regions); r++)
						emit(w, "gcp", "compute", mt, json_object_get_string(
						    json_object_array_get_idx(regions, r)),
						    c * cp + c * shapes[k].gb_per_vcpu * rp, cur,
						    source, eff, desc);
				}
			}
			break;
		}
		if (j == n)
			skip(w, "a core SKU without its RAM SKU");
		else {
			for (k = 0; k < nitems(shapes); k++)
				if (strcmp(shapes[k].family, fam) == 0)
					break;
			if (k == nitems(shapes))
				skip(w, "a machine family without known predefined shapes");
		}
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s catalog import [--format aws|azure|gcp] --out DIR FILE\n"
	    "  Converts a public price list into PulumiCost spec files in DIR:\n"
	    "  an AWS Price List offer file (offerCode), an Azure Retail Prices API\n"
	    "  page (Items), or GCP Cloud Billing Catalog SKUs (skus).\n", PCM_NAME);
}

int
catalog_import_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *format = NULL, *outdir = NULL, *file;
	struct out w = { 0 };
	struct json_object *doc;
	struct stat st;
	char *data, why[512];
	size_t len;
	int ch, fd;

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		usage(stderr);
		return 2;
	}
	argc--, argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (outdir == NULL || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	file = argv[optind];
	if (format != NULL && strcmp(format, "aws") != 0 && strcmp(format, "azure") != 0 &&
	    strcmp(format, "gcp") != 0) {
		fprintf(stderr, "%s: --format %s: expected aws, azure or gcp\n", PCM_NAME, format);
		return 2;
	}
	if (stat(outdir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a directory\n", PCM_NAME, outdir);
		return 1;
	}
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    read_all_fd(fd, &data, (size_t)MAX_PRICE_LIST, &len) < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", PCM_NAME, file, strerror(errno));
		if (fd != -1)
			close(fd);
		return 1;
	}
	close(fd);
	/* Oracle's lists start with a comma: not JSON, and not ours to fix. */
	doc = rpc_parse(data, len, why, sizeof(why));
	free(data);
	if (doc == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PCM_NAME, file, why);
		return 1;
	}
	if (format == NULL)
		format = jget(doc, "offerCode") ? "aws" : jget(doc, "Items") ? "azure" :
		    jget(doc, "skus") ? "gcp" : NULL;
	if (format == NULL) {
		fprintf(stderr, "%s: %s: not a price list this command reads (expected"
		    " offerCode, Items or skus)\n", PCM_NAME, file);
		json_object_put(doc);
		return 1;
	}
	w.dir = outdir;
	w.skipped = json_object_new_object();
	if (strcmp(format, "aws") == 0)
		import_aws(doc, &w);
	else if (strcmp(format, "azure") == 0)
		import_azure(doc, &w);
	else
		import_gcp(doc, &w);
	printf("%s: wrote %zu spec files to %s\n", file, w.written, outdir);
	json_object_object_foreach(w.skipped, why_, count)
		printf("  skipped %lld: %s\n", (long long)json_object_get_int64(count), why_);
	json_object_put(w.skipped);
	json_object_put(doc);
	return w.failed ? 1 : 0;
}
