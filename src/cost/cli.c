#include "config.h"

#include <sys/resource.h>

#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/util.h"
#include "../core/conf.h"
#include "actual.h"
#include "billing.h"
#include "catalog.h"
#include "focus.h"
#include "cli.h"
#include "engine.h"
#include "jget.h"
#include "pulumi.h"
#include "spec.h"

#define MAX_INPUT	(1024LL * 1024 * 1024)

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s cost projected --pulumi-json FILE [--output table|json|ndjson]\n"
"           [--filter KEY=VALUE]... [--group-by DIM]... [--region REGION]\n"
"           [--usage KEY=NUMBER]... [--spec-dir DIR]...\n"
"\n"
"  FILE is the output of pulumi preview --json, pulumi stack export, or a\n"
"  DIY backend's stack file; - reads standard input.\n"
"  --filter    provider=, type=, region=, name= (glob), tag:KEY=VALUE\n"
"  --group-by  provider, service, region, type, category or tag:KEY\n"
"  --region    the region of resources whose region the file does not say\n"
"  --usage     override a usage assumption (see doc/pricing.md)\n"
"  --spec-dir  pricing spec files that take precedence over the catalogue\n"
"  --stats     print timings and peak memory to standard error\n"
"Exit status: 0, 1 when the input cannot be priced at all, 2 on usage errors.\n",
	    PCM_NAME);
}

/* A string member, "" when absent: for messages and text. */
static const char *
str(struct json_object *o, const char *k)
{
	const char *v = jstr(o, k);

	return v ? v : "";
}


/* A finfocus CostResult of one resource record. */
static struct json_object *
cost_result(struct json_object *rec)
{
	struct json_object *o = json_object_new_object(), *b, *comps;
	const char *status = str(rec, "status");
	double m = jnum(rec, "monthly_cost");
	char notes[512];
	size_t i, n;

	json_object_object_add(o, "resourceType", json_object_new_string(str(rec, "type")));
	json_object_object_add(o, "resourceId", json_object_new_string(str(rec, "urn")));
	json_object_object_add(o, "adapter", json_object_new_string(
	    strcmp(status, "priced") == 0 ? "pulumicost-mcp-catalog" : "none"));
	json_object_object_add(o, "currency", json_object_new_string(
	    str(rec, "currency")[0] ? str(rec, "currency") : "USD"));
	json_object_object_add(o, "monthly", json_object_new_double(isnan(m) ? 0 : m));
	json_object_object_add(o, "hourly", json_object_new_double(isnan(m) ? 0 :
	    jnum(rec, "hourly_cost")));
	if (strcmp(status, "priced") == 0)
		snprintf(notes, sizeof(notes), "priced from %s", str(rec, "region"));
	else
		snprintf(notes, sizeof(notes), "%s: %s", strcmp(status, "unpriced") == 0 ?
		    "unpriced (not a zero cost)" : "no charge", str(rec, "reason"));
	json_object_object_add(o, "notes", json_object_new_string(notes));
	b = json_object_new_object();
	if (json_object_object_get_ex(rec, "components", &comps)) {
		n = json_object_array_length(comps);
		for (i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(comps, i);

			json_object_object_add(b, str(c, "name"),
			    json_object_new_double(jnum(c, "monthly_cost")));
		}
	}
	json_object_object_add(o, "breakdown", b);
	/* Go's zero time, as finfocus writes it. */
	json_object_object_add(o, "startDate", json_object_new_string("0001-01-01T00:00:00Z"));
	json_object_object_add(o, "endDate", json_object_new_string("0001-01-01T00:00:00Z"));
	return o;
}

static void
print_json(struct json_object *ans, int ndjson)
{
	struct json_object *res, *list = json_object_new_array(), *out, *sum, *v;
	size_t i, n;

	json_object_object_get_ex(ans, "resources", &res);
	n = json_object_array_length(res);
	for (i = 0; i < n; i++)
		json_object_array_add(list, cost_result(json_object_array_get_idx(res, i)));
	if (ndjson) {
		for (i = 0; i < n; i++)
			printf("%s\n", json_object_to_json_string_ext(
			    json_object_array_get_idx(list, i), JSON_C_TO_STRING_PLAIN));
		json_object_put(list);
		return;
	}
	sum = json_object_new_object();
	json_object_object_add(sum, "totalMonthly", json_object_new_double(
	    isnan(jnum(ans, "total_monthly")) ? 0 : jnum(ans, "total_monthly")));
	json_object_object_add(sum, "totalHourly", json_object_new_double(
	    isnan(jnum(ans, "total_hourly")) ? 0 : jnum(ans, "total_hourly")));
	json_object_object_add(sum, "currency", json_object_new_string(
	    str(ans, "currency")[0] ? str(ans, "currency") : "USD"));
	json_object_object_get_ex(ans, "by_provider", &v);
	json_object_object_add(sum, "byProvider", json_object_get(v));
	json_object_object_get_ex(ans, "by_service", &v);
	json_object_object_add(sum, "byService", json_object_get(v));
	v = json_object_new_object();
	if (!isnan(jnum(ans, "total_monthly")) && jnum(ans, "total_monthly") > 0)
		json_object_object_add(v, "pulumicost-mcp-catalog",
		    json_object_new_double(jnum(ans, "total_monthly")));
	json_object_object_add(sum, "byAdapter", v);
	json_object_object_add(sum, "resources", json_object_get(list));
	/* Ours, beside finfocus's: what the total covers. */
	json_object_object_get_ex(ans, "coverage", &v);
	json_object_object_add(sum, "coverage", json_object_get(v));
	json_object_object_get_ex(ans, "unpriced", &v);
	json_object_object_add(sum, "unpriced", json_object_get(v));
	if (json_object_object_get_ex(ans, "totals_by_currency", &v))
		json_object_object_add(sum, "totalsByCurrency", json_object_get(v));
	if (json_object_object_get_ex(ans, "groups", &v))
		json_object_object_add(sum, "groups", json_object_get(v));
	out = json_object_new_object();
	v = json_object_new_object();
	json_object_object_add(v, "summary", sum);
	json_object_object_add(v, "resources", list);
	json_object_object_add(out, "finfocus", v);
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED));
	json_object_put(out);
}

static void
print_section(const char *title, struct json_object *by)
{
	printf("\n%s\n", title);
	json_object_object_foreach(by, k, v)
		printf("  %-40s %12.2f\n", k, json_object_get_double(v));
}

static void
print_table(struct json_object *ans)
{
	struct json_object *res, *cov, *unp, *v;
	size_t i, n;

	json_object_object_get_ex(ans, "coverage", &cov);
	printf("COST SUMMARY\n");
	if (json_object_object_get_ex(ans, "totals_by_currency", &v)) {
		json_object_object_foreach(v, cur, amount)
			printf("  Total monthly (%s): %.2f\n", cur, json_object_get_double(amount));
	} else {
		printf("  Total monthly: %.2f %s\n", jnum(ans, "total_monthly"),
		    str(ans, "currency"));
		printf("  Total hourly:  %.4f %s\n", jnum(ans, "total_hourly"),
		    str(ans, "currency"));
	}
	if (!isnan(jnum(ans, "monthly_change")))
		printf("  Change:        %+.2f (before %.2f)\n", jnum(ans, "monthly_change"),
		    jnum(ans, "monthly_cost_before"));
	printf("  Resources:     %.0f (%.0f priced, %.0f no charge, %.0f unpriced;"
	    " %.1f%% covered)\n", jnum(cov, "resources"), jnum(cov, "priced"),
	    jnum(cov, "no_charge"), jnum(cov, "unpriced"), jnum(cov, "percent_priced"));
	if (json_object_object_get_ex(ans, "totals_by_currency", &v) == 0) {
		json_object_object_get_ex(ans, "by_provider", &v);
		print_section("BY PROVIDER", v);
		json_object_object_get_ex(ans, "by_service", &v);
		print_section("BY SERVICE", v);
		if (json_object_object_get_ex(ans, "groups", &v))
			print_section("BY GROUP", json_object_object_get(v, "totals"));
	}
	printf("\nRESOURCE DETAILS\n");
	printf("  %-40s %-10s %12s %10s  %s\n", "Resource", "Status", "Monthly",
	    "Hourly", "Region");
	json_object_object_get_ex(ans, "resources", &res);
	n = json_object_array_length(res);
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(res, i);
		char name[64];
		const char *full = str(r, "type");

		snprintf(name, sizeof(name), "%s/%s", strrchr(full, ':') ?
		    strrchr(full, ':') + 1 : full, str(r, "name"));
		if (strlen(name) > 40)
			strcpy(name + 37, "...");
		if (isnan(jnum(r, "monthly_cost")))
			printf("  %-40s %-10s %12s %10s  %s\n", name, str(r, "status"),
			    "-", "-", str(r, "region"));
		else
			printf("  %-40s %-10s %12.2f %10.4f  %s\n", name, str(r, "status"),
			    jnum(r, "monthly_cost"), jnum(r, "hourly_cost"), str(r, "region"));
	}
	if (json_object_object_get_ex(ans, "unpriced", &unp) &&
	    (n = json_object_array_length(unp)) > 0) {
		printf("\nUNPRICED (not in the total)\n");
		for (i = 0; i < n; i++)
			printf("  %s: %s\n", str(json_object_array_get_idx(unp, i), "urn"),
			    str(json_object_array_get_idx(unp, i), "reason"));
	}
}

static int
add_filter(struct json_object *f, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128];
	static const struct { const char *opt, *field; } map[] = {
		{ "provider", "provider" }, { "type", "resource_type" },
		{ "region", "region" }, { "name", "name_pattern" },
	};
	size_t i;

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return -1;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	if (strncmp(key, "tag:", 4) == 0 && key[4]) {
		struct json_object *tags;

		if (!json_object_object_get_ex(f, "tags", &tags)) {
			tags = json_object_new_object();
			json_object_object_add(f, "tags", tags);
		}
		json_object_object_add(tags, key + 4, json_object_new_string(eq + 1));
		return 0;
	}
	for (i = 0; i < nitems(map); i++)
		if (strcmp(map[i].opt, key) == 0) {
			json_object_object_add(f, map[i].field, json_object_new_string(eq + 1));
			return 0;
		}
	return -1;
}

static int
projected(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "pulumi-json", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "filter", required_argument, NULL, 'f' },
		{ "group-by", required_argument, NULL, 'g' },
		{ "region", required_argument, NULL, 'r' },
		{ "usage", required_argument, NULL, 'u' },
		{ "spec-dir", required_argument, NULL, 's' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct json_object *filters = json_object_new_object();
	struct json_object *groups = json_object_new_array();
	struct json_object *usage_o = json_object_new_object(), *ans;
	const char *file = NULL, *output = "table", *dirs[8];
	size_t ndirs = 0;
	int stats = 0;
	uint64_t t0 = mono_usec(), t1, t2, t3;
	struct cost_opts o;
	struct pstack *s;
	char err[1024], *data, *end;
	size_t len;
	int ch, fd, rc = 2;

	memset(&o, 0, sizeof(o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			file = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			if (add_filter(filters, optarg) == -1) {
				fprintf(stderr, "%s: --filter %s: expected provider=,"
				    " type=, region=, name= or tag:KEY=VALUE\n",
				    PCM_NAME, optarg);
				goto out;
			}
			break;
		case 'g':
			json_object_array_add(groups, json_object_new_string(optarg));
			break;
		case 'r':
			o.default_region = optarg;
			break;
		case 's':
			if (ndirs == nitems(dirs)) {
				fprintf(stderr, "%s: at most %zu --spec-dir\n", PCM_NAME,
				    nitems(dirs));
				goto out;
			}
			dirs[ndirs++] = optarg;
			break;
		case 'u': {
			const char *eq = strchr(optarg, '=');
			double v;

			if (eq == NULL || (v = strtod(eq + 1, &end), *end != '\0') ||
			    end == eq + 1) {
				fprintf(stderr, "%s: --usage %s: expected KEY=NUMBER\n",
				    PCM_NAME, optarg);
				goto out;
			}
			snprintf(err, sizeof(err), "%.*s", (int)(eq - optarg), optarg);
			json_object_object_add(usage_o, err, json_object_new_double(v));
			break;
		}
		case 'S':
			stats = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (file == NULL || optind != argc) {
		usage(stderr);
		goto out;
	}
	if (strcmp(output, "table") != 0 && strcmp(output, "json") != 0 &&
	    strcmp(output, "ndjson") != 0) {
		fprintf(stderr, "%s: --output %s: expected table, json or ndjson\n",
		    PCM_NAME, output);
		goto out;
	}
	o.filters = json_object_object_length(filters) ? filters : NULL;
	o.group_by = json_object_array_length(groups) ? groups : NULL;
	o.usage = json_object_object_length(usage_o) ? usage_o : NULL;
	if (cost_check_opts(&o, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		goto out;
	}
	rc = 1;
	if (catalog_init(err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: pricing catalogue: %s\n", PCM_NAME, err);
		goto out;
	}
	if (ndirs > 0 && (spec_active = spec_load(dirs, ndirs, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		goto out;
	}
	fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || read_all_fd(fd, &data, (size_t)MAX_INPUT, &len) < 0) {
		fprintf(stderr, "%s: %s: cannot read: %m\n", PCM_NAME, file);
		if (fd > STDIN_FILENO)
			close(fd);
		goto out;
	}
	if (fd > STDIN_FILENO)
		close(fd);
	t0 = mono_usec();
	s = pulumi_parse(data, len, err, sizeof(err));
	free(data);
	if (s == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PCM_NAME, file, err);
		goto out;
	}
	t1 = mono_usec();
	ans = cost_projected(s, &o);
	t2 = mono_usec();
	if (strcmp(output, "table") == 0)
		print_table(ans);
	else
		print_json(ans, strcmp(output, "ndjson") == 0);
	t3 = mono_usec();
	if (stats) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr, "stats: resources=%zu input_bytes=%zu parse_ms=%.1f"
		    " price_ms=%.1f output_ms=%.1f max_rss_kb=%ld\n", s->n, len,
		    (double)(t1 - t0) / 1000, (double)(t2 - t1) / 1000,
		    (double)(t3 - t2) / 1000, ru.ru_maxrss);
	}
	json_object_put(ans);
	pulumi_free(s);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	spec_book_free(spec_active);
	spec_active = NULL;
	json_object_put(filters);
	json_object_put(groups);
	json_object_put(usage_o);
	return rc;
}

static void
print_actual_table(struct json_object *ans)
{
	struct json_object *v, *series;
	size_t i, n;

	printf("ACTUAL COST (%s, %s basis)\n", str(json_object_object_get(ans,
	    "time_range"), "start"), str(ans, "cost_basis"));
	json_object_object_get_ex(ans, "totals", &v);
	json_object_object_foreach(v, cur, amount)
		printf("  Total: %.2f %s\n", json_object_get_double(amount), cur);
	if (json_object_object_get_ex(ans, "groups", &v)) {
		printf("\nBY %s\n", str(v, "dimension"));
		json_object_object_foreach(json_object_object_get(v, "totals"), g, per) {
			json_object_object_foreach(per, gc, ga)
				printf("  %-48s %12.2f %s\n", g, json_object_get_double(ga), gc);
		}
	}
	printf("\n%s\n", str(ans, "granularity"));
	json_object_object_get_ex(ans, "series", &series);
	n = json_object_array_length(series);
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(series, i);

		printf("  %s", str(p, "period_start"));
		json_object_object_foreach(json_object_object_get(p, "cost"), pc, pa)
			printf("  %.2f %s", json_object_get_double(pa), pc);
		printf("\n");
	}
	v = json_object_object_get(json_object_object_get(ans, "metadata"), "bad_rows");
	if (jnum(v, "count") > 0)
		printf("\n%.0f rows could not be read (see --output json)\n", jnum(v, "count"));
}

static int
actual(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "focus", required_argument, NULL, 'F' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "granularity", required_argument, NULL, 'g' },
		{ "basis", required_argument, NULL, 'b' },
		{ "group-by", required_argument, NULL, 'G' },
		{ "service", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "stats", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct actual_query q;
	uint64_t t0, t1, t2;
	int stats = 0;
	const char *files[16], *from = NULL, *to = NULL, *output = "table";
	struct focus_store *st;
	struct strlist paths;
	struct json_object *ans, *list;
	size_t nf = 0;
	char err[1024];
	int ch, rc = 2;

	memset(&q, 0, sizeof(q));
	q.gran = G_DAILY;
	q.basis = B_EFFECTIVE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			if (nf == nitems(files))
				goto usage;
			files[nf++] = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'g':
			if ((ch = actual_granularity(optarg)) < 0) {
				fprintf(stderr, "%s: --granularity %s: expected hourly, daily,"
				    " weekly or monthly\n", PCM_NAME, optarg);
				return 2;
			}
			q.gran = (enum granularity)ch;
			break;
		case 'b':
			if ((ch = actual_basis(optarg)) < 0) {
				fprintf(stderr, "%s: --basis %s: expected effective, billed"
				    " or list\n", PCM_NAME, optarg);
				return 2;
			}
			q.basis = (enum basis)ch;
			break;
		case 'G':
			q.group_by = optarg;
			break;
		case 's':
			q.service = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'S':
			stats = 1;
			break;
		default:
			goto usage;
		}
	}
	if (nf == 0 || optind != argc)
		goto usage;
	t0 = mono_usec();
	if ((st = focus_store_new()) == NULL)
		return 1;
	paths.v = (char **)files;
	paths.n = nf;
	list = json_object_new_array();
	if (billing_files(&paths, list, NULL, err, sizeof(err)) == -1 ||
	    billing_load(st, list, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		json_object_put(list);
		focus_store_free(st);
		return 1;
	}
	json_object_put(list);
	if (!actual_extent(st, &q.from, &q.to))
		q.from = q.to = 0;
	if ((from && focus_parse_time(from, strlen(from), &q.from) == -1) ||
	    (to && focus_parse_time(to, strlen(to), &q.to) == -1) || q.to < q.from) {
		fprintf(stderr, "%s: --from/--to: expected dates (YYYY-MM-DD or RFC"
		    " 3339), from before to\n", PCM_NAME);
		focus_store_free(st);
		return 2;
	}
	t1 = mono_usec();
	if ((ans = actual_costs(st, &q)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", PCM_NAME);
		focus_store_free(st);
		return 1;
	}
	t2 = mono_usec();
	if (stats) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr, "stats: rows=%zu load_ms=%.1f query_ms=%.1f"
		    " max_rss_kb=%ld\n", focus_count(st), (double)(t1 - t0) / 1000,
		    (double)(t2 - t1) / 1000, ru.ru_maxrss);
	}
	if (strcmp(output, "json") == 0)
		printf("%s\n", json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_SPACED));
	else
		print_actual_table(ans);
	json_object_put(ans);
	focus_store_free(st);
	return 0;
usage:
	fprintf(stderr, "usage: %s cost actual --focus PATH... [--from DATE] [--to DATE]\n"
	    "           [--granularity hourly|daily|weekly|monthly] [--basis effective|billed|list]\n"
	    "           [--group-by service|resource|region|account|category|tag:KEY]\n"
	    "           [--service NAME] [--output table|json] [--stats]\n", PCM_NAME);
	return rc;
}

int
cost_cli_main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "projected") == 0)
		return projected(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "actual") == 0)
		return actual(argc - 1, argv + 1);
	usage(argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) ? stdout : stderr);
	return argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) ? 0 : 2;
}
