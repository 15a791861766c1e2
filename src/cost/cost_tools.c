#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "../mcp/mcp.h"
#include "../mcp/tools.h"
#include "../plugin/broker.h"
#include "catalog.h"
#include "cost_tools.h"
#include "engine.h"
#include "pulumi.h"

#define READ_TIMEOUT_MS		10000
#define MAX_STACK_FILE		(256LL * 1024 * 1024)

/* The example stack and a preview of a change to it (conf/), compiled in. */
extern const char example_stack_json[], example_preview_json[];

static const struct conf *cf;
static struct broker_client *broker;

/* --- loading the stack a call names --------------------------------------- */

typedef void (*stack_cb)(struct tool_call *, struct pstack *, void *arg);

struct load {
	struct tool_call	*call;
	stack_cb		 cb;
	void			*arg;
	char			 what[300];	/* for messages */
};

/* The file behind a stack name: configured stacks, then a file:// backend. */
static const char *
stack_path(const char *name, const char *source, char *buf, size_t len,
    char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < cf->nstacks; i++) {
		const struct conf_stack *s = &cf->stacks[i];

		if (strcmp(s->name, name) != 0)
			continue;
		if (source != NULL && strcmp(source, "preview") == 0) {
			if (s->preview == NULL)
				snprintf(why, whylen, "stack %s has no preview file"
				    " configured", name);
			return s->preview;
		}
		if (source != NULL && strcmp(source, "state") == 0) {
			if (s->state == NULL)
				snprintf(why, whylen, "stack %s has no state file"
				    " configured", name);
			return s->state;
		}
		return s->state ? s->state : s->preview;
	}
	/* file://DIR keeps <project>/<stack> in DIR/.pulumi/stacks/. */
	if (cf->pulumi_backend_url != NULL &&
	    strncmp(cf->pulumi_backend_url, "file://", 7) == 0 &&
	    strchr(name, '/') != NULL && strstr(name, "..") == NULL) {
		const char *ps = strchr(name, '/');

		/* "org/project/stack" and "project/stack" both name it. */
		if (strchr(ps + 1, '/') != NULL)
			name = ps + 1;
		snprintf(buf, len, "%s/.pulumi/stacks/%s.json",
		    cf->pulumi_backend_url + 7, name);
		return buf;
	}
	{
		size_t off = (size_t)snprintf(why, whylen, "unknown stack \"%s\";"
		    " known stacks: ", name);

		for (i = 0; i < cf->nstacks && off < whylen; i++)
			off += (size_t)snprintf(why + off, whylen - off, "%s%s",
			    i ? ", " : "", cf->stacks[i].name);
		if (cf->nstacks == 0 && off < whylen)
			off += (size_t)snprintf(why + off, whylen - off, "(none"
			    " configured)");
		if (cf->pulumi_backend_url != NULL &&
		    strncmp(cf->pulumi_backend_url, "file://", 7) == 0 && off < whylen)
			snprintf(why + off, whylen - off, "; or PROJECT/STACK of the"
			    " backend %s", cf->pulumi_backend_url);
	}
	return NULL;
}

static void
on_stack_file(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct load *l = arg;
	struct json_object *m;
	struct pstack *s;
	char *data, why[512];
	size_t len;

	(void)res;
	if (err != NULL || fd < 0) {
		json_object_object_get_ex(err, "message", &m);
		tool_call_fail(l->call, "cannot read %s: %s", l->what,
		    m ? json_object_get_string(m) : "no file");
		free(l);
		return;
	}
	if (read_all_fd(fd, &data, (size_t)MAX_STACK_FILE, &len) < 0) {
		close(fd);
		tool_call_fail(l->call, "cannot read %s: larger than %lld bytes"
		    " or unreadable", l->what, (long long)MAX_STACK_FILE);
		free(l);
		return;
	}
	close(fd);
	s = pulumi_parse(data, len, why, sizeof(why));
	free(data);
	if (s == NULL)
		tool_call_fail(l->call, "%s: %s", l->what, why);
	else
		l->cb(l->call, s, l->arg);
	free(l);
}

/*
 * A stack from {pulumi_json | stack_name [, source]}: inline JSON (text or
 * an object) or a named stack read by the broker.  cb owns the stack; on
 * failure the call ends with a tool error saying why.
 */
static void
load_stack(struct tool_call *c, struct json_object *side, const char *label,
    stack_cb cb, void *arg)
{
	struct json_object *pj = NULL, *sn = NULL, *src = NULL, *p;
	char why[1024], buf[1024];
	struct pstack *s;
	const char *path;
	struct load *l;

	json_object_object_get_ex(side, "pulumi_json", &pj);
	json_object_object_get_ex(side, "stack_name", &sn);
	json_object_object_get_ex(side, "source", &src);
	if (pj != NULL) {
		const char *text = json_object_is_type(pj, json_type_string) ?
		    json_object_get_string(pj) : json_object_to_json_string_ext(pj,
		    JSON_C_TO_STRING_PLAIN);
		size_t len = json_object_is_type(pj, json_type_string) ?
		    (size_t)json_object_get_string_len(pj) : strlen(text);

		if ((s = pulumi_parse(text, len, why, sizeof(why))) == NULL) {
			tool_call_fail(c, "%spulumi_json: %s", label, why);
			return;
		}
		cb(c, s, arg);
		return;
	}
	if (sn == NULL) {
		tool_call_fail(c, "%sgive pulumi_json (the output of pulumi preview"
		    " --json or pulumi stack export) or stack_name", label);
		return;
	}
	why[0] = '\0';
	path = stack_path(json_object_get_string(sn), src ?
	    json_object_get_string(src) : NULL, buf, sizeof(buf), why, sizeof(why));
	if (path == NULL) {
		tool_call_fail(c, "%s%s", label, why);
		return;
	}
	if (strncmp(path, "builtin:", 8) == 0) {
		/* The example stack compiled into the server. */
		const char *text = strcmp(path, "builtin:example") == 0 ?
		    example_stack_json : strcmp(path, "builtin:example-preview") == 0 ?
		    example_preview_json : NULL;

		if (text == NULL) {
			tool_call_fail(c, "%sstack %s: there is no %s (built in:"
			    " builtin:example, builtin:example-preview)", label,
			    json_object_get_string(sn), path);
			return;
		}
		if ((s = pulumi_parse(text, strlen(text), why, sizeof(why))) == NULL) {
			tool_call_fail(c, "%s%s: %s", label, path, why);
			return;
		}
		cb(c, s, arg);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	l->call = c;
	l->cb = cb;
	l->arg = arg;
	snprintf(l->what, sizeof(l->what), "%sstack %s (%s)", label,
	    json_object_get_string(sn), path);
	p = json_object_new_object();
	json_object_object_add(p, "path", json_object_new_string(path));
	json_object_object_add(p, "max_bytes", json_object_new_int64(MAX_STACK_FILE));
	if (broker_call(broker, "read_file", p, READ_TIMEOUT_MS, on_stack_file, l) == -1) {
		free(l);
		tool_call_fail(c, "cannot reach the broker to read %s", path);
	}
}

/* --- options shared by the tools ----------------------------------------- */

static int
opts_from(struct tool_call *c, struct json_object *args, struct cost_opts *o)
{
	struct json_object *v;
	char why[512];

	memset(o, 0, sizeof(*o));
	if (json_object_object_get_ex(args, "default_region", &v))
		o->default_region = json_object_get_string(v);
	if (json_object_object_get_ex(args, "usage", &v))
		o->usage = v;
	if (json_object_object_get_ex(args, "filters", &v))
		o->filters = v;
	if (json_object_object_get_ex(args, "group_by", &v))
		o->group_by = v;
	if (json_object_object_get_ex(args, "include_unchanged", &v))
		o->include_unchanged = json_object_get_boolean(v);
	if (cost_check_opts(o, why, sizeof(why)) == -1) {
		tool_call_fail(c, "invalid arguments: %s", why);
		return -1;
	}
	return 0;
}

/* --- text for clients that read only text --------------------------------- */

static double
num(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_double(v) : NAN;
}

static const char *
str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* A summary a person (or a model) can read; the JSON has every figure. */
static char *
summary_text(struct json_object *a)
{
	struct json_object *cov, *res, *unp, *r, *tc;
	char *buf = NULL;
	size_t len = 0, i, n;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	json_object_object_get_ex(a, "coverage", &cov);
	if (json_object_object_get_ex(a, "totals_by_currency", &tc)) {
		fprintf(f, "Projected monthly cost, by currency (not summed):");
		json_object_object_foreach(tc, cur, v)
			fprintf(f, " %.2f %s", json_object_get_double(v), cur);
		fprintf(f, "\n");
	} else
		fprintf(f, "Projected monthly cost: %.2f %s (%.4f per hour)\n",
		    num(a, "total_monthly"), str(a, "currency"), num(a, "total_hourly"));
	if (!isnan(num(a, "monthly_change")))
		fprintf(f, "Change from this update: %+.2f %s a month (before: %.2f)\n",
		    num(a, "monthly_change"), str(a, "currency"),
		    num(a, "monthly_cost_before"));
	fprintf(f, "Resources: %.0f (%.0f priced, %.0f with no charge, %.0f"
	    " unpriced); %.1f%% covered\n", num(cov, "resources"),
	    num(cov, "priced"), num(cov, "no_charge"), num(cov, "unpriced"),
	    num(cov, "percent_priced"));
	json_object_object_get_ex(a, "resources", &res);
	n = json_object_array_length(res);
	for (i = 0; i < n && i < 50; i++) {
		r = json_object_array_get_idx(res, i);
		if (strcmp(str(r, "status"), "priced") != 0)
			continue;
		fprintf(f, "  %10.2f %s  %s %s (%s)\n", num(r, "monthly_cost"),
		    str(r, "currency"), str(r, "type"), str(r, "name"),
		    str(r, "region"));
	}
	if (json_object_object_get_ex(a, "unpriced", &unp) &&
	    (n = json_object_array_length(unp)) > 0) {
		fprintf(f, "Unpriced (not in the total):\n");
		for (i = 0; i < n && i < 20; i++) {
			r = json_object_array_get_idx(unp, i);
			fprintf(f, "  %s: %s\n", str(r, "urn"), str(r, "reason"));
		}
		if (n > 20)
			fprintf(f, "  ... and %zu more\n", n - 20);
	}
	fclose(f);
	return buf;
}

static void
done_with_summary(struct tool_call *c, struct json_object *ans)
{
	char *text = summary_text(ans);

	tool_call_done(c, ans, text);
	free(text);
}

/* --- analyze_projected_costs ---------------------------------------------- */

struct projected {
	struct cost_opts	 o;
	struct json_object	*args;
};

static void
projected_stack(struct tool_call *c, struct pstack *s, void *arg)
{
	struct projected *p = arg;
	struct json_object *ans;

	tool_call_progress(c, 1, 2, "pricing resources");
	ans = cost_projected(s, &p->o);
	pulumi_free(s);
	json_object_put(p->args);
	free(p);
	done_with_summary(c, ans);
}

static void
t_projected(struct tool_call *c, struct json_object *args)
{
	struct projected *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	p->args = json_object_get(args);
	if (opts_from(c, p->args, &p->o) == -1) {
		json_object_put(p->args);
		free(p);
		return;
	}
	tool_call_progress(c, 0, 2, "reading the stack");
	load_stack(c, p->args, "", projected_stack, p);
}

/* --- schemas --------------------------------------------------------------- */

#define FILTERS_SCHEMA \
	"\"filters\":{\"type\":\"object\",\"description\":\"Keep only matching" \
	" resources.\",\"properties\":{" \
	"\"provider\":{\"type\":\"string\",\"description\":\"aws, azure, gcp, kubernetes, ...\"}," \
	"\"resource_type\":{\"type\":\"string\",\"description\":\"Substring of the type token, or a service (ec2)\"}," \
	"\"region\":{\"type\":\"string\"}," \
	"\"tags\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}," \
	"\"name_pattern\":{\"type\":\"string\",\"description\":\"Glob (web-*) or substring of the resource name\"}}," \
	"\"additionalProperties\":false}"

#define INPUT_SCHEMA_COMMON \
	"\"pulumi_json\":{\"type\":[\"string\",\"object\"],\"description\":\"The output of" \
	" pulumi preview --json or pulumi stack export (text or object)\"}," \
	"\"stack_name\":{\"type\":\"string\",\"minLength\":1,\"description\":\"A stack" \
	" named in the server's configuration\"}," \
	"\"source\":{\"enum\":[\"state\",\"preview\"],\"description\":\"For" \
	" stack_name: the deployed state (default when configured) or the preview\"}," \
	"\"default_region\":{\"type\":\"string\",\"description\":\"Region for resources" \
	" whose region the document does not say\"}," \
	"\"usage\":{\"type\":\"object\",\"description\":\"Override usage" \
	" assumptions (storage_gb, requests_per_month, lambda_duration_ms, lb_lcu," \
	" nat_data_gb, dynamodb_reads_millions, dynamodb_writes_millions," \
	" dynamodb_storage_gb, log_ingest_gb)\",\"additionalProperties\":{\"type\":\"number\",\"minimum\":0}}," \
	FILTERS_SCHEMA

#define MONEY "{\"type\":[\"number\",\"null\"]}"
#define AMOUNTS "{\"type\":\"object\",\"additionalProperties\":{\"type\":[\"number\",\"object\"]}}"

static const char projected_output[] =
	"{\"type\":\"object\",\"required\":[\"total_monthly\",\"currency\","
	"\"resources\",\"coverage\",\"unpriced\",\"assumptions\",\"metadata\"],"
	"\"properties\":{"
	"\"total_monthly\":" MONEY ",\"total_hourly\":" MONEY ","
	"\"currency\":{\"type\":[\"string\",\"null\"]},"
	"\"totals_by_currency\":{\"type\":\"object\"},"
	"\"monthly_cost_before\":{\"type\":\"number\"},\"monthly_change\":{\"type\":\"number\"},"
	"\"by_provider\":" AMOUNTS ",\"by_service\":" AMOUNTS ",\"by_region\":" AMOUNTS ","
	"\"by_category\":" AMOUNTS ",\"by_type\":" AMOUNTS ","
	"\"groups\":{\"type\":\"object\"},"
	"\"resources\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"required\":[\"urn\",\"name\",\"type\",\"provider\",\"status\",\"monthly_cost\"],"
	"\"properties\":{\"urn\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	"\"type\":{\"type\":\"string\"},\"provider\":{\"type\":\"string\"},"
	"\"service\":{\"type\":\"string\"},\"category\":{\"type\":\"string\"},"
	"\"region\":{\"type\":[\"string\",\"null\"]},\"op\":{\"type\":\"string\"},"
	"\"status\":{\"enum\":[\"priced\",\"no_charge\",\"unpriced\"]},"
	"\"monthly_cost\":" MONEY ",\"hourly_cost\":{\"type\":\"number\"},"
	"\"currency\":{\"type\":\"string\"},\"reason\":{\"type\":\"string\"},"
	"\"components\":{\"type\":\"array\"},\"tags\":{\"type\":\"object\"}}}},"
	"\"coverage\":{\"type\":\"object\",\"required\":[\"resources\",\"priced\","
	"\"no_charge\",\"unpriced\",\"percent_priced\"]},"
	"\"unpriced\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	"\"required\":[\"urn\",\"type\",\"reason\"]}},"
	"\"assumptions\":{\"type\":\"array\"},"
	"\"metadata\":{\"type\":\"object\"}}}";

static const char *const projected_aliases[] = { "analyze_projected_cost", NULL };

static const struct tool t_analyze_projected = {
	.name = "analyze_projected_costs",
	.title = "Projected monthly cost of a Pulumi stack",
	.description = "Prices every resource of a Pulumi preview (pulumi preview"
	    " --json) or stack (pulumi stack export, or a configured stack) at"
	    " on-demand list prices, 730 hours a month: totals by provider,"
	    " service, region and category, the change a preview makes, and the"
	    " resources that could not be priced, with the reason. Usage-based"
	    " prices state their assumptions.",
	.input_schema = "{\"type\":\"object\",\"properties\":{" INPUT_SCHEMA_COMMON ","
	    "\"group_by\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
	    "\"description\":\"provider, service, region, type, category or tag:KEY\"},"
	    "\"include_unchanged\":{\"type\":\"boolean\",\"description\":\"Previews:"
	    " list unchanged (same) resources too\"}},"
	    "\"additionalProperties\":false}",
	.output_schema = projected_output,
	.read_only = 1,
	.idempotent = 1,
	.notifies = 1,
	.aliases = projected_aliases,
	.handler = t_projected,
};

int
cost_tools_init(const struct conf *c, struct broker_client *b, struct shm *cache,
    char *err, size_t errlen)
{
	cf = c;
	broker = b;
	(void)cache;
	if (catalog_init(err, errlen) == -1)
		return -1;
	tools_register(&t_analyze_projected);
	return 0;
}
