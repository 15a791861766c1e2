#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/stat.h>

#include "../core/conf.h"
#include "../core/metrics.h"
#include "../core/util.h"
#include "../mcp/mcp.h"
#include "../mcp/tools.h"
#include "../plugin/broker.h"
#include "actual.h"
#include "advice.h"
#include "catalog.h"
#include "cost_tools.h"
#include "engine.h"
#include "jget.h"
#include "join.h"
#include "focus.h"
#include "pulumi.h"
#include "spec.h"

#define READ_TIMEOUT_MS		10000
/* Loading a large export (a million charges: about 2 s) happens in the
 * broker on the first call after a change. */
#define BILLING_TIMEOUT_MS	120000
#define MAX_STACK_FILE		(256LL * 1024 * 1024)

/* The example stack and a preview of a change to it (conf/), compiled in. */
extern const char example_stack_json[], example_preview_json[];

static const struct conf *cf;
static struct broker_client *broker;

/* --- loading the stack a call names --------------------------------------- */

typedef void (*stack_cb)(struct tool_call *, struct pstack *, void *arg);

typedef void (*drop_fn)(void *);

struct load {
	struct tool_call	*call;
	stack_cb		 cb;
	void			*arg;
	drop_fn			 drop;	/* frees arg when the load fails */
	int			 prices;	/* ask plugins to price it */
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

static void	priced(struct tool_call *, struct pstack *, stack_cb, void *, drop_fn);

/*
 * A stack read for a call: counted in pulumicost_resources_analyzed, then
 * to cb, priced by plugins first when the tool wants projected prices.
 */
static void
stack_ready(struct tool_call *c, struct pstack *s, stack_cb cb, void *arg,
    drop_fn drop, int prices)
{
	char l[96];

	metrics_observe(MET_RESOURCES_ANALYZED, metrics_labels(l, sizeof(l),
	    "tool", tool_call_name(c), NULL), (double)s->n);
	tool_call_note_resources(c, s->n);
	if (prices)
		priced(c, s, cb, arg, drop);
	else
		cb(c, s, arg);
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
	s = NULL;
	m = NULL;
	if (err != NULL || fd < 0) {
		json_object_object_get_ex(err, "message", &m);
		snprintf(why, sizeof(why), "cannot read %s: %s", l->what,
		    m ? json_object_get_string(m) : "no file");
	} else if (read_all_fd(fd, &data, (size_t)MAX_STACK_FILE, &len) < 0)
		snprintf(why, sizeof(why), "cannot read %s: larger than %lld bytes"
		    " or unreadable", l->what, (long long)MAX_STACK_FILE);
	else {
		char perr[400];

		if ((s = pulumi_parse(data, len, perr, sizeof(perr))) == NULL)
			snprintf(why, sizeof(why), "%s: %s", l->what, perr);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	if (s != NULL)
		stack_ready(l->call, s, l->cb, l->arg, l->drop, l->prices);
	else {
		if (l->drop != NULL)
			l->drop(l->arg);
		tool_call_fail(l->call, "%s", why);
	}
	free(l);
}

/*
 * A stack from {pulumi_json | stack_name [, source]}: inline JSON (text or
 * an object) or a named stack read by the broker.  cb owns the stack; on
 * failure the call ends with a tool error saying why.
 */
static void	load_fail(struct tool_call *, drop_fn, void *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* A load that cannot finish: free the caller's state, end the call. */
static void
load_fail(struct tool_call *c, drop_fn drop, void *arg, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (drop != NULL)
		drop(arg);
	tool_call_fail(c, "%s", msg);
}

/* Load the stack a call names; with prices set, with what plugins price of it. */
static void
load_stack_as(struct tool_call *c, struct json_object *side, const char *label,
    stack_cb cb, void *arg, drop_fn drop, int prices)
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
		load_fail(c, drop, arg, "%spulumi_json: %s", label, why);
			return;
		}
		stack_ready(c, s, cb, arg, drop, prices);
		return;
	}
	if (sn == NULL) {
		load_fail(c, drop, arg, "%sgive pulumi_json (the output of pulumi preview"
		    " --json or pulumi stack export) or stack_name", label);
		return;
	}
	why[0] = '\0';
	path = stack_path(json_object_get_string(sn), src ?
	    json_object_get_string(src) : NULL, buf, sizeof(buf), why, sizeof(why));
	if (path == NULL) {
		load_fail(c, drop, arg, "%s%s", label, why);
		return;
	}
	if (strncmp(path, "builtin:", 8) == 0) {
		/* The example stack compiled into the server. */
		const char *text = strcmp(path, "builtin:example") == 0 ?
		    example_stack_json : strcmp(path, "builtin:example-preview") == 0 ?
		    example_preview_json : NULL;

		if (text == NULL) {
		load_fail(c, drop, arg, "%sstack %s: there is no %s (built in:"
			    " builtin:example, builtin:example-preview)", label,
			    json_object_get_string(sn), path);
			return;
		}
		if ((s = pulumi_parse(text, strlen(text), why, sizeof(why))) == NULL) {
		load_fail(c, drop, arg, "%s%s: %s", label, path, why);
			return;
		}
		stack_ready(c, s, cb, arg, drop, prices);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		load_fail(c, drop, arg, "out of memory");
		return;
	}
	l->call = c;
	l->cb = cb;
	l->arg = arg;
	l->drop = drop;
	l->prices = prices;
	snprintf(l->what, sizeof(l->what), "%sstack %s (%s)", label,
	    json_object_get_string(sn), path);
	p = json_object_new_object();
	json_object_object_add(p, "path", json_object_new_string(path));
	json_object_object_add(p, "max_bytes", json_object_new_int64(MAX_STACK_FILE));
	if (broker_call(broker, "read_file", p, READ_TIMEOUT_MS, on_stack_file, l) == -1) {
		free(l);
		load_fail(c, drop, arg, "cannot reach the broker to read %s", path);
	}
}

/* The projected-cost tools: the stack with what plugins price of it. */
static void
load_stack_or(struct tool_call *c, struct json_object *side, const char *label,
    stack_cb cb, void *arg, drop_fn drop)
{
	load_stack_as(c, side, label, cb, arg, drop, 1);
}

/* --- what cost-source plugins say ---------------------------------------- */

/*
 * How many plugins this generation's broker runs: -1 until asked.  The
 * set is fixed for a generation (a worker's lifetime), so once it is 0
 * the stacks go straight to the engine.
 */
static int64_t plugins_running = -1;

struct pricing {
	struct tool_call	*call;
	struct pstack		*s;
	stack_cb		 cb;
	void			*arg;
};

/*
 * A broker answer about plugins: how many run (remembered), the answers
 * under key and the failures, new references (NULL when none or err).
 */
static void
plugin_reply(struct json_object *res, struct json_object *err, const char *key,
    struct json_object **answers, struct json_object **errors)
{
	struct json_object *v;

	*answers = *errors = NULL;
	if (err != NULL)
		return;
	if (json_object_object_get_ex(res, "plugins", &v))
		plugins_running = json_object_get_int64(v);
	if (json_object_object_get_ex(res, key, &v))
		*answers = json_object_get(v);
	if (json_object_object_get_ex(res, "errors", &v) && json_object_array_length(v) > 0)
		*errors = json_object_get(v);
}

static void
on_plugin_prices(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct pricing *pr = arg;
	struct json_object *prices;

	if (fd >= 0)
		close(fd);
	plugin_reply(res, err, "prices", &prices, &pr->s->plugin_errors);
	if (plugins_running > 0)
		pr->s->plugin_prices = prices;
	else
		json_object_put(prices);
	/* Without plugins' answers the spec files and the catalogue price it. */
	pr->cb(pr->call, pr->s, pr->arg);
	free(pr);
}

/* The stack, with what plugins price of it, to cb. */
static void
priced(struct tool_call *c, struct pstack *s, stack_cb cb, void *arg, drop_fn drop)
{
	struct json_object *params, *descs;
	struct cost_opts none;
	struct pricing *pr;

	memset(&none, 0, sizeof(none));
	if (plugins_running == 0 || broker == NULL) {
		cb(c, s, arg);
		return;
	}
	if (json_object_array_length(descs = cost_descriptors(s, &none)) == 0) {
		json_object_put(descs);
		cb(c, s, arg);
		return;
	}
	if ((pr = calloc(1, sizeof(*pr))) == NULL) {
		json_object_put(descs);
		pulumi_free(s);
		load_fail(c, drop, arg, "out of memory");
		return;
	}
	pr->call = c;
	pr->s = s;
	pr->cb = cb;
	pr->arg = arg;
	params = json_object_new_object();
	json_object_object_add(params, "resources", descs);
	json_object_object_add(params, "timeout_ms", json_object_new_int64(cf->plugin_timeout));
	if (broker_call(broker, "plugin_price", params, cf->plugin_timeout + 5000,
	    on_plugin_prices, pr) == -1) {
		free(pr);
		cb(c, s, arg);
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


/* A string member, "" when absent: for messages and text. */
static const char *
str(struct json_object *o, const char *k)
{
	const char *v = jstr(o, k);

	return v ? v : "";
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
		    jnum(a, "total_monthly"), str(a, "currency"), jnum(a, "total_hourly"));
	if (!isnan(jnum(a, "monthly_change")))
		fprintf(f, "Change from this update: %+.2f %s a month (before: %.2f)\n",
		    jnum(a, "monthly_change"), str(a, "currency"),
		    jnum(a, "monthly_cost_before"));
	fprintf(f, "Resources: %.0f (%.0f priced, %.0f with no charge, %.0f"
	    " unpriced); %.1f%% covered\n", jnum(cov, "resources"),
	    jnum(cov, "priced"), jnum(cov, "no_charge"), jnum(cov, "unpriced"),
	    jnum(cov, "percent_priced"));
	json_object_object_get_ex(a, "resources", &res);
	n = json_object_array_length(res);
	for (i = 0; i < n && i < 50; i++) {
		r = json_object_array_get_idx(res, i);
		if (strcmp(str(r, "status"), "priced") != 0)
			continue;
		fprintf(f, "  %10.2f %s  %s %s (%s)\n", jnum(r, "monthly_cost"),
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

struct one {
	struct cost_opts	 o;
	struct json_object	*args;
	char			*urn;
	int			 deps;
};

static void
one_free(void *arg)
{
	struct one *p = arg;

	json_object_put(p->args);
	free(p->urn);
	free(p);
}

/*
 * The state of a call: its arguments and cost options.  NULL when the
 * call has already been answered (out of memory, invalid options).
 */
static struct one *
one_new(struct tool_call *c, struct json_object *args)
{
	struct one *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tool_call_fail(c, "out of memory");
		return NULL;
	}
	p->args = json_object_get(args);
	if (opts_from(c, p->args, &p->o) == -1) {
		one_free(p);
		return NULL;
	}
	return p;
}

/* The end of a call: free its stack and state, answer with text. */
static void
answer(struct tool_call *c, struct pstack *s, struct one *p,
    struct json_object *ans, char *text)
{
	pulumi_free(s);
	one_free(p);
	tool_call_done(c, ans, text);
	free(text);
}

/* --- analyze_projected_costs ---------------------------------------------- */

static void
projected_stack(struct tool_call *c, struct pstack *s, void *arg)
{
	struct one *p = arg;
	struct json_object *ans;

	tool_call_progress(c, 1, 2, "pricing resources");
	ans = cost_projected(s, &p->o);
	pulumi_free(s);
	one_free(p);
	done_with_summary(c, ans);
}

static void
t_projected(struct tool_call *c, struct json_object *args)
{
	struct one *p;

	if ((p = one_new(c, args)) == NULL)
		return;
	tool_call_progress(c, 0, 2, "reading the stack");
	load_stack_or(c, p->args, "", projected_stack, p, one_free);
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
	.cost_query = 1,
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
	.cacheable = 1,
	.aliases = projected_aliases,
	.handler = t_projected,
};

/* --- compare_costs --------------------------------------------------------- */

/* What changed between two resources' inputs: "instanceType t3.medium -> t3.large". */
static void
input_changes(struct json_object *a, struct json_object *b, const char *prefix,
    struct json_object *out, int depth)
{
	struct json_object *bv, *av;
	char key[160], line[400];

	if (!json_object_is_type(a, json_type_object) ||
	    !json_object_is_type(b, json_type_object))
		return;
	json_object_object_foreach(b, k, v) {
		if (json_object_array_length(out) >= 12 || strcmp(k, "tags") == 0 ||
		    strcmp(k, "tagsAll") == 0 || strcmp(k, "__defaults") == 0)
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, k);
		av = NULL;
		json_object_object_get_ex(a, k, &av);
		bv = v;
		if (pulumi_is_secret(av) || pulumi_is_secret(bv)) {
			if (av == NULL || !json_object_equal(av, bv)) {
				snprintf(line, sizeof(line), "%s (secret) changed", key);
				json_object_array_add(out, json_object_new_string(line));
			}
			continue;
		}
		if (json_object_is_type(bv, json_type_object) && depth < 1) {
			char sub[170];

			snprintf(sub, sizeof(sub), "%s.", key);
			input_changes(av, bv, sub, out, depth + 1);
			continue;
		}
		if (json_object_is_type(bv, json_type_object) ||
		    json_object_is_type(bv, json_type_array) ||
		    (av != NULL && json_object_equal(av, bv)))
			continue;
		snprintf(line, sizeof(line), "%s %s -> %s", key, av ?
		    json_object_to_json_string_ext(av, JSON_C_TO_STRING_PLAIN) : "(unset)",
		    json_object_to_json_string_ext(bv, JSON_C_TO_STRING_PLAIN));
		json_object_array_add(out, json_object_new_string(line));
	}
}

struct compare {
	struct cost_opts	 o;
	struct json_object	*args;
	struct pstack		*base;
	int			 percent, absolute;
};

static struct json_object *
side_opts(struct json_object *args, const char *side, struct cost_opts *o,
    const struct cost_opts *top)
{
	struct json_object *sd = NULL, *f;

	*o = *top;
	json_object_object_get_ex(args, side, &sd);
	if (sd != NULL && json_object_object_get_ex(sd, "filters", &f))
		o->filters = f;
	o->include_unchanged = 1;
	return sd;
}

/* Resources of both sides matched by type and name (stacks may differ). */
static struct json_object *
index_records(struct json_object *ans)
{
	struct json_object *res, *idx = json_object_new_object(), *r, *t, *n;
	char key[600];
	size_t i, len;

	json_object_object_get_ex(ans, "resources", &res);
	len = json_object_array_length(res);
	for (i = 0; i < len; i++) {
		r = json_object_array_get_idx(res, i);
		json_object_object_get_ex(r, "type", &t);
		json_object_object_get_ex(r, "name", &n);
		snprintf(key, sizeof(key), "%s::%s", json_object_get_string(t),
		    json_object_get_string(n));
		json_object_object_add(idx, key, json_object_get(r));
	}
	return idx;
}

static double
cost_of(struct json_object *rec)
{
	struct json_object *v;

	return rec != NULL && json_object_object_get_ex(rec, "monthly_cost", &v) &&
	    !json_object_is_type(v, json_type_null) ? json_object_get_double(v) : NAN;
}

static double
round2(double v)
{
	return round(v * 1e6) / 1e6;
}

static void
add_num(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, isnan(v) ? NULL : json_object_new_double(round2(v)));
}

static void
compare_target(struct tool_call *c, struct pstack *tgt, void *arg)
{
	struct compare *p = arg;
	struct json_object *ba, *ta, *bi, *ti, *ans, *changes, *bytype, *v;
	struct cost_opts bo, to;
	double bt, tt, d;
	const char *bc, *tc;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;

	side_opts(p->args, "baseline", &bo, &p->o);
	side_opts(p->args, "target", &to, &p->o);
	ba = cost_projected(p->base, &bo);
	ta = cost_projected(tgt, &to);
	bt = jnum(ba, "total_monthly");
	tt = jnum(ta, "total_monthly");
	bc = str(ba, "currency");
	tc = str(ta, "currency");
	ans = json_object_new_object();
	add_num(ans, "baseline_cost", bt);
	add_num(ans, "target_cost", tt);
	if (strcmp(bc, tc) != 0 || isnan(bt) || isnan(tt)) {
		json_object_object_add(ans, "difference", NULL);
		json_object_object_add(ans, "difference_percent", NULL);
		json_object_object_add(ans, "note", json_object_new_string(
		    "the two sides are in different or several currencies: no"
		    " difference is computed"));
	} else {
		if (p->absolute)
			add_num(ans, "difference", tt - bt);
		if (p->percent)
			add_num(ans, "difference_percent", bt > 0 ?
			    (tt - bt) / bt * 100 : NAN);
	}
	json_object_object_add(ans, "currency", json_object_new_string(tc[0] ? tc : bc));
	/* Resource by resource: added, removed, changed (with why). */
	bi = index_records(ba);
	ti = index_records(ta);
	changes = json_object_new_array();
	bytype = json_object_new_object();
	json_object_object_foreach(ti, key, trec) {
		struct json_object *brec = NULL, *ch, *why = json_object_new_array();
		const struct presource *tr, *br = NULL;
		double b, t;

		json_object_object_get_ex(bi, key, &brec);
		tr = pulumi_find_urn(tgt, str(trec, "urn"));
		if (brec != NULL)
			br = pulumi_find_urn(p->base, str(brec, "urn"));
		if (br != NULL && tr != NULL)
			input_changes(pulumi_inputs(br), pulumi_inputs(tr), "", why, 0);
		b = brec ? cost_of(brec) : 0;
		t = cost_of(trec);
		if (brec != NULL && json_object_array_length(why) == 0 &&
		    (b == t || (isnan(b) && isnan(t)))) {
			json_object_put(why);
			continue;
		}
		ch = json_object_new_object();
		json_object_object_add(ch, "urn", json_object_new_string(str(trec, "urn")));
		json_object_object_add(ch, "name", json_object_new_string(str(trec, "name")));
		json_object_object_add(ch, "type", json_object_new_string(str(trec, "type")));
		json_object_object_add(ch, "change", json_object_new_string(brec ?
		    "changed" : "added"));
		add_num(ch, "baseline_cost", b);
		add_num(ch, "target_cost", t);
		add_num(ch, "difference", t - b);
		json_object_object_add(ch, "changes", why);
		json_object_array_add(changes, ch);
	}
	json_object_object_foreach(bi, bkey, brec) {
		struct json_object *ch;

		if (json_object_object_get_ex(ti, bkey, NULL))
			continue;
		ch = json_object_new_object();
		json_object_object_add(ch, "urn", json_object_new_string(str(brec, "urn")));
		json_object_object_add(ch, "name", json_object_new_string(str(brec, "name")));
		json_object_object_add(ch, "type", json_object_new_string(str(brec, "type")));
		json_object_object_add(ch, "change", json_object_new_string("removed"));
		add_num(ch, "baseline_cost", cost_of(brec));
		add_num(ch, "target_cost", 0);
		add_num(ch, "difference", -cost_of(brec));
		json_object_object_add(ch, "changes", json_object_new_array());
		json_object_array_add(changes, ch);
	}
	/* By type: baseline, target and difference. */
	{
		struct json_object *bt_, *tt_;

		json_object_object_get_ex(ba, "by_type", &bt_);
		json_object_object_get_ex(ta, "by_type", &tt_);
		json_object_object_foreach(tt_, ty, tv) {
			struct json_object *e = json_object_new_object();
			double b0 = 0;

			if (json_object_object_get_ex(bt_, ty, &v))
				b0 = json_object_get_double(v);
			add_num(e, "baseline", b0);
			add_num(e, "target", json_object_get_double(tv));
			add_num(e, "difference", json_object_get_double(tv) - b0);
			json_object_object_add(bytype, ty, e);
		}
		json_object_object_foreach(bt_, ty2, bv) {
			struct json_object *e;

			if (json_object_object_get_ex(bytype, ty2, NULL))
				continue;
			e = json_object_new_object();
			add_num(e, "baseline", json_object_get_double(bv));
			add_num(e, "target", 0);
			add_num(e, "difference", -json_object_get_double(bv));
			json_object_object_add(bytype, ty2, e);
		}
	}
	json_object_object_add(ans, "resource_changes", changes);
	json_object_object_add(ans, "by_type", bytype);
	{
		struct json_object *cov = json_object_new_object(), *x;

		json_object_object_get_ex(ba, "coverage", &x);
		json_object_object_add(cov, "baseline", json_object_get(x));
		json_object_object_get_ex(ta, "coverage", &x);
		json_object_object_add(cov, "target", json_object_get(x));
		json_object_object_add(ans, "coverage", cov);
		cov = json_object_new_object();
		json_object_object_get_ex(ba, "unpriced", &x);
		json_object_object_add(cov, "baseline", json_object_get(x));
		json_object_object_get_ex(ta, "unpriced", &x);
		json_object_object_add(cov, "target", json_object_get(x));
		json_object_object_add(ans, "unpriced", cov);
	}
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		size_t i, n = json_object_array_length(changes);

		fprintf(f, "Baseline %.2f, target %.2f %s a month", bt, tt,
		    str(ans, "currency"));
		if (!isnan(d = jnum(ans, "difference")))
			fprintf(f, ": %+.2f", d);
		if (!isnan(d = jnum(ans, "difference_percent")))
			fprintf(f, " (%+.1f%%)", d);
		fprintf(f, "\n");
		for (i = 0; i < n && i < 40; i++) {
			struct json_object *ch = json_object_array_get_idx(changes, i), *w;
			size_t j;

			fprintf(f, "  %-7s %s %s: %+.2f", str(ch, "change"),
			    str(ch, "type"), str(ch, "name"), jnum(ch, "difference"));
			json_object_object_get_ex(ch, "changes", &w);
			for (j = 0; j < json_object_array_length(w) && j < 3; j++)
				fprintf(f, "%s%s", j ? "; " : " (", json_object_get_string(
				    json_object_array_get_idx(w, j)));
			fprintf(f, "%s\n", json_object_array_length(w) ? ")" : "");
		}
		fclose(f);
	}
	json_object_put(ba);
	json_object_put(ta);
	json_object_put(bi);
	json_object_put(ti);
	pulumi_free(p->base);
	pulumi_free(tgt);
	json_object_put(p->args);
	free(p);
	tool_call_done(c, ans, text);
	free(text);
}

static void	compare_abort_v(void *);

static void
compare_baseline(struct tool_call *c, struct pstack *s, void *arg)
{
	struct compare *p = arg;
	struct json_object *t = NULL;

	p->base = s;
	json_object_object_get_ex(p->args, "target", &t);
	load_stack_or(c, t, "target: ", compare_target, p, compare_abort_v);
}

static void
compare_abort_v(void *arg)
{
	struct compare *p = arg;

	pulumi_free(p->base);
	json_object_put(p->args);
	free(p);
}

static void
t_compare(struct tool_call *c, struct json_object *args)
{
	struct json_object *b = NULL, *t = NULL, *ct;
	struct compare *p;
	const char *kind;

	if (!json_object_object_get_ex(args, "baseline", &b) ||
	    !json_object_object_get_ex(args, "target", &t)) {
		tool_call_fail(c, "give baseline and target, each {stack_name} or"
		    " {pulumi_json}");
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	p->args = json_object_get(args);
	kind = json_object_object_get_ex(args, "comparison_type", &ct) ?
	    json_object_get_string(ct) : "both";
	p->absolute = strcmp(kind, "percentage") != 0;
	p->percent = strcmp(kind, "absolute") != 0;
	if (opts_from(c, p->args, &p->o) == -1) {
		compare_abort_v(p);
		return;
	}
	load_stack_or(c, b, "baseline: ", compare_baseline, p, compare_abort_v);
}

/* --- analyze_resource_cost ------------------------------------------------ */

static struct json_object *
record_summary(struct json_object *rec)
{
	struct json_object *o = json_object_new_object(), *v;
	static const char *const keep[] = { "urn", "name", "type", "status",
	    "monthly_cost", "currency", "reason", NULL };
	size_t i;

	for (i = 0; keep[i] != NULL; i++)
		if (json_object_object_get_ex(rec, keep[i], &v))
			json_object_object_add(o, keep[i], json_object_get(v));
	return o;
}

static void
resource_stack(struct tool_call *c, struct pstack *s, void *arg)
{
	struct one *p = arg;
	const struct presource *r = pulumi_find_urn(s, p->urn);
	struct json_object *ans, *rec, *hints, *deps, *dependents, *children, *rdeps;
	double total;
	size_t i, j;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;

	if (r == NULL) {
		tool_call_fail(c, "resource %s is not in the stack (%zu resources)",
		    p->urn, s->n);
		pulumi_free(s);
		one_free(p);
		return;
	}
	p->o.include_unchanged = 1;
	rec = cost_resource(s, p->urn, &p->o);
	rdeps = pulumi_deps(r);
	hints = json_object_new_array();
	advice_for(r, rec, hints);
	deps = json_object_new_array();
	dependents = json_object_new_array();
	children = json_object_new_array();
	total = isnan(cost_of(rec)) ? 0 : cost_of(rec);
	for (i = 0; i < s->n; i++) {
		const struct presource *o = &s->r[i];
		struct json_object *orec;
		int is_dep = 0, is_dependent = 0, is_child;

		if (o == r)
			continue;
		for (j = 0; json_object_is_type(rdeps, json_type_array) &&
		    j < json_object_array_length(rdeps); j++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(
			    rdeps, j)), o->urn) == 0)
				is_dep = 1;
		for (j = 0; json_object_is_type(pulumi_deps(o), json_type_array) &&
		    j < json_object_array_length(pulumi_deps(o)); j++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(
			    pulumi_deps(o), j)), r->urn) == 0)
				is_dependent = 1;
		is_child = o->parent != NULL && strcmp(o->parent, r->urn) == 0;
		if (!is_child && (!p->deps || (!is_dep && !is_dependent)))
			continue;
		orec = cost_resource(s, o->urn, &p->o);
		if (is_child) {
			json_object_array_add(children, record_summary(orec));
			if (!isnan(cost_of(orec)))
				total += cost_of(orec);
		}
		if (p->deps && is_dep)
			json_object_array_add(deps, record_summary(orec));
		if (p->deps && is_dependent)
			json_object_array_add(dependents, record_summary(orec));
		json_object_put(orec);
		pulumi_release(o);
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "resource", rec);
	json_object_object_add(ans, "dependencies", deps);
	json_object_object_add(ans, "dependents", dependents);
	json_object_object_add(ans, "children", children);
	add_num(ans, "monthly_cost_with_children", total);
	json_object_object_add(ans, "hints", hints);
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		size_t n = json_object_array_length(hints);

		if (isnan(cost_of(rec)))
			fprintf(f, "%s: unpriced: %s\n", p->urn, str(rec, "reason"));
		else
			fprintf(f, "%s: %.2f %s a month (%s)\n", p->urn, cost_of(rec),
			    str(rec, "currency")[0] ? str(rec, "currency") : "",
			    str(rec, "status"));
		for (i = 0; i < n; i++) {
			struct json_object *h = json_object_array_get_idx(hints, i);

			fprintf(f, "  hint: %s (saves %.2f a month)\n",
			    str(h, "description"), jnum(h, "monthly_saving"));
		}
		fclose(f);
	}
	answer(c, s, p, ans, text);
}

/*
 * The stack a URN names (urn:pulumi:STACK::PROJECT::...): a configured
 * stack of that name, else the only configured stack, else PROJECT/STACK
 * of a file:// backend.  NULL with why when none fits.
 */
static struct json_object *
side_from_urn(const char *urn, char *why, size_t len)
{
	const char *st = urn + 11, *pr, *end;
	char name[256];
	size_t i;

	if (strncmp(urn, "urn:pulumi:", 11) != 0 || (pr = strstr(st, "::")) == NULL ||
	    (end = strstr(pr + 2, "::")) == NULL) {
		snprintf(why, len, "resource_urn is not a Pulumi URN"
		    " (urn:pulumi:STACK::PROJECT::TYPE::NAME)");
		return NULL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(pr - st), st);
	for (i = 0; i < cf->nstacks; i++)
		if (strcmp(cf->stacks[i].name, name) == 0)
			break;
	if (i == cf->nstacks && cf->nstacks == 1)
		snprintf(name, sizeof(name), "%s", cf->stacks[0].name);
	else if (i == cf->nstacks && cf->pulumi_backend_url != NULL &&
	    strncmp(cf->pulumi_backend_url, "file://", 7) == 0)
		snprintf(name, sizeof(name), "%.*s/%.*s", (int)(end - pr - 2),
		    pr + 2, (int)(pr - st), st);
	else if (i == cf->nstacks) {
		snprintf(why, len, "give stack_name or pulumi_json: the URN's stack"
		    " \"%s\" is not a configured stack name", name);
		return NULL;
	}
	{
		struct json_object *side = json_object_new_object();

		json_object_object_add(side, "stack_name", json_object_new_string(name));
		return side;
	}
}

static void
t_resource(struct tool_call *c, struct json_object *args)
{
	struct json_object *u = NULL, *v, *side;
	char why[512];
	struct one *p;

	if (!json_object_object_get_ex(args, "resource_urn", &u)) {
		tool_call_fail(c, "resource_urn is required");
		return;
	}
	if ((p = one_new(c, args)) == NULL)
		return;
	p->urn = strdup(json_object_get_string(u));
	p->deps = !json_object_object_get_ex(args, "include_dependencies", &v) ||
	    json_object_get_boolean(v);
	if (json_object_object_get_ex(args, "pulumi_json", NULL) ||
	    json_object_object_get_ex(args, "stack_name", NULL)) {
		load_stack_or(c, args, "", resource_stack, p, one_free);
		return;
	}
	/* Without a stack: the one the URN names. */
	if ((side = side_from_urn(p->urn, why, sizeof(why))) == NULL) {
		one_free(p);
		tool_call_fail(c, "%s", why);
		return;
	}
	if (json_object_object_get_ex(args, "source", &v))
		json_object_object_add(side, "source", json_object_get(v));
	load_stack_or(c, side, "", resource_stack, p, one_free);
	json_object_put(side);
}

/* --- query_cost_by_tags --------------------------------------------------- */

static const char *
tag_value(struct json_object *tags, const char *key)
{
	struct json_object *v;

	return json_object_is_type(tags, json_type_object) &&
	    json_object_object_get_ex(tags, key, &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void
tags_stack(struct tool_call *c, struct pstack *s, void *arg)
{
	struct one *p = arg;
	struct json_object *ans, *res, *keys = NULL, *bytag, *untagged, *flt = NULL;
	struct json_object *fvals = NULL, *ret;
	const char *fkey = NULL;
	size_t i, k, n, nk;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	double total = 0;
	const char *cur = "";

	p->o.include_unchanged = 1;
	ret = cost_projected(s, &p->o);
	json_object_object_get_ex(ret, "resources", &res);
	json_object_object_get_ex(p->args, "tag_keys", &keys);
	if (json_object_object_get_ex(p->args, "filters", &flt) &&
	    json_object_object_get_ex(flt, "key", NULL)) {
		fkey = str(flt, "key");
		json_object_object_get_ex(flt, "values", &fvals);
	}
	bytag = json_object_new_object();
	untagged = json_object_new_object();
	nk = json_object_array_length(keys);
	for (k = 0; k < nk; k++) {
		json_object_object_add(bytag, json_object_get_string(
		    json_object_array_get_idx(keys, k)), json_object_new_object());
		json_object_object_add(untagged, json_object_get_string(
		    json_object_array_get_idx(keys, k)), json_object_new_double(0));
	}
	n = json_object_array_length(res);
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(res, i), *tags = NULL;
		double m = cost_of(r);

		if (isnan(m) || m == 0)
			continue;
		json_object_object_get_ex(r, "tags", &tags);
		if (fkey != NULL) {
			const char *tv = tag_value(tags, fkey);
			size_t j, ok = 0;

			for (j = 0; tv != NULL && j < json_object_array_length(fvals); j++)
				if (strcmp(tv, json_object_get_string(
				    json_object_array_get_idx(fvals, j))) == 0)
					ok = 1;
			if (!ok)
				continue;
		}
		total += m;
		cur = str(r, "currency");
		for (k = 0; k < nk; k++) {
			const char *key = json_object_get_string(json_object_array_get_idx(keys, k));
			const char *tv = tag_value(tags, key);
			struct json_object *per, *old;

			if (tv == NULL) {
				json_object_object_get_ex(untagged, key, &old);
				json_object_object_add(untagged, key, json_object_new_double(
				    round2(json_object_get_double(old) + m)));
				continue;
			}
			json_object_object_get_ex(bytag, key, &per);
			json_object_object_add(per, tv, json_object_new_double(round2(m +
			    (json_object_object_get_ex(per, tv, &old) ?
			    json_object_get_double(old) : 0))));
		}
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "by_tag", bytag);
	json_object_object_add(ans, "untagged", untagged);
	add_num(ans, "total_monthly", total);
	json_object_object_add(ans, "currency", json_object_new_string(cur[0] ? cur :
	    str(ret, "currency")));
	{
		struct json_object *x;

		json_object_object_get_ex(ret, "coverage", &x);
		json_object_object_add(ans, "coverage", json_object_get(x));
		json_object_object_get_ex(ret, "unpriced", &x);
		json_object_object_add(ans, "unpriced", json_object_get(x));
		x = json_object_new_object();
		json_object_object_add(x, "source", json_object_new_string("projected"));
		json_object_object_add(x, "note", json_object_new_string("monthly"
		    " projected cost by tag value; unpriced resources are not in any"
		    " group"));
		json_object_object_add(ans, "metadata", x);
	}
	if (json_object_is_type(str(ret, "currency")[0] ? NULL : ret, json_type_null) == 0 &&
	    json_object_object_get_ex(ret, "totals_by_currency", NULL))
		json_object_object_add(ans, "note", json_object_new_string("several"
		    " currencies: amounts are not comparable across them"));
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		fprintf(f, "Projected monthly cost by tag (%.2f %s in all):\n", total,
		    str(ans, "currency"));
		json_object_object_foreach(bytag, tk, per) {
			struct json_object *u0;

			json_object_object_foreach(per, tv, amount)
				fprintf(f, "  %s=%s: %.2f\n", tk, tv,
				    json_object_get_double(amount));
			json_object_object_get_ex(untagged, tk, &u0);
			fprintf(f, "  %s untagged: %.2f\n", tk, json_object_get_double(u0));
		}
		fclose(f);
	}
	json_object_put(ret);
	answer(c, s, p, ans, text);
}

static void
t_tags(struct tool_call *c, struct json_object *args)
{
	struct json_object *keys;
	struct one *p;

	if (!json_object_object_get_ex(args, "tag_keys", &keys) ||
	    json_object_array_length(keys) == 0) {
		tool_call_fail(c, "tag_keys must name at least one tag key");
		return;
	}
	if (json_object_object_get_ex(args, "time_range", NULL)) {
		insight_tags_actual(c, args);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	p->args = json_object_get(args);
	{
		/* filters here is {key, values}, not a ResourceFilter. */
		struct cost_opts o;
		struct json_object *v;

		memset(&o, 0, sizeof(o));
		if (json_object_object_get_ex(args, "default_region", &v))
			o.default_region = json_object_get_string(v);
		if (json_object_object_get_ex(args, "usage", &v))
			o.usage = v;
		p->o = o;
	}
	load_stack_or(c, args, "", tags_stack, p, one_free);
}

/* --- analyze_stack_comprehensive ------------------------------------------ */

static void
alert(struct json_object *alerts, const char *severity, const char *kind,
    const char *text, struct json_object *resources)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "severity", json_object_new_string(severity));
	json_object_object_add(a, "kind", json_object_new_string(kind));
	json_object_object_add(a, "message", json_object_new_string(text));
	json_object_object_add(a, "resources", resources ? resources :
	    json_object_new_array());
	json_object_array_add(alerts, a);
}

static int
by_cost_desc(const void *a, const void *b)
{
	double x = cost_of(*(struct json_object *const *)a);
	double y = cost_of(*(struct json_object *const *)b);

	if (isnan(x))
		x = -1;
	if (isnan(y))
		y = -1;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void
stack_report(struct tool_call *c, struct pstack *s, void *arg)
{
	struct one *p = arg;
	struct json_object *ret, *res, *ans, *alerts, *top, *recs = NULL, *x, *nonprod;
	struct json_object *sorted;
	size_t i, n;
	double total, nonprod_cost = 0, saving = 0;
	char msg[512], *text = NULL;
	size_t tlen = 0;
	int with_recs = json_object_object_get_ex(p->args, "include_recommendations",
	    &x) && json_object_get_boolean(x);
	int phases = with_recs ? 4 : 3;
	FILE *f;

	snprintf(msg, sizeof(msg), "read the stack: %zu resources", s->n);
	tool_call_progress(c, 1, phases, msg);
	p->o.include_unchanged = 1;
	ret = cost_projected(s, &p->o);
	json_object_object_get_ex(ret, "resources", &res);
	json_object_object_get_ex(ret, "coverage", &x);
	snprintf(msg, sizeof(msg), "priced %d resources, %d with no charge, %d unpriced",
	    (int)jnum(x, "priced"), (int)jnum(x, "no_charge"), (int)jnum(x, "unpriced"));
	tool_call_progress(c, 2, phases, msg);
	total = jnum(ret, "total_monthly");
	n = json_object_array_length(res);
	sorted = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(sorted, json_object_get(json_object_array_get_idx(res, i)));
	json_object_array_sort(sorted, by_cost_desc);
	top = json_object_new_array();
	for (i = 0; i < n && i < 10; i++) {
		struct json_object *r = json_object_array_get_idx(sorted, i);

		if (isnan(cost_of(r)) || cost_of(r) <= 0)
			break;
		json_object_array_add(top, record_summary(r));
	}
	alerts = json_object_new_array();
	if (jnum(x, "unpriced") > 0) {
		struct json_object *u;

		json_object_object_get_ex(ret, "unpriced", &u);
		snprintf(msg, sizeof(msg), "%d of %d resources could not be priced"
		    " (%.1f%% covered): the total is a lower bound",
		    (int)jnum(x, "unpriced"), (int)jnum(x, "resources"),
		    jnum(x, "percent_priced"));
		alert(alerts, "WARNING", "unpriced_resources", msg, json_object_get(u));
	}
	nonprod = json_object_new_array();
	recs = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(res, i);
		const struct presource *pr = pulumi_find_urn(s, str(r, "urn"));

		if (advice_nonprod(r) && strcmp(str(r, "category"), "compute") == 0 &&
		    !isnan(cost_of(r)) && cost_of(r) > 0) {
			nonprod_cost += cost_of(r);
			json_object_array_add(nonprod, json_object_new_string(str(r, "urn")));
		}
		if (pr != NULL) {
			struct json_object *h = json_object_new_array();
			size_t j;

			advice_for(pr, r, h);
			for (j = 0; j < json_object_array_length(h); j++) {
				struct json_object *e = json_object_array_get_idx(h, j);

				json_object_object_add(e, "resource_urn",
				    json_object_new_string(str(r, "urn")));
				add_num(e, "current_cost", cost_of(r));
				saving += jnum(e, "monthly_saving");
				json_object_array_add(recs, json_object_get(e));
			}
			json_object_put(h);
		}
	}
	if (json_object_array_length(nonprod) > 0) {
		snprintf(msg, sizeof(msg), "%zu compute resources tagged as"
		    " non-production run around the clock: %.2f %s a month",
		    json_object_array_length(nonprod), nonprod_cost,
		    str(ret, "currency"));
		alert(alerts, "INFO", "nonprod_always_on", msg, nonprod);
	} else
		json_object_put(nonprod);
	if (!isnan(total) && total > 0 && json_object_array_length(top) > 0 &&
	    cost_of(json_object_array_get_idx(top, 0)) > total / 2) {
		struct json_object *one1 = json_object_new_array();

		json_object_array_add(one1, json_object_new_string(
		    str(json_object_array_get_idx(top, 0), "urn")));
		snprintf(msg, sizeof(msg), "one resource is %.0f%% of the stack's cost",
		    cost_of(json_object_array_get_idx(top, 0)) / total * 100);
		alert(alerts, "INFO", "cost_concentration", msg, one1);
	}
	ans = json_object_new_object();
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    str(p->args, "stack_name")[0] ? str(p->args, "stack_name") :
	    s->stack ? s->stack : ""));
	x = json_object_new_object();
	add_num(x, "total_monthly", total);
	add_num(x, "total_hourly", jnum(ret, "total_hourly"));
	json_object_object_add(x, "currency", json_object_get(json_object_object_get(ret,
	    "currency")));
	json_object_object_add(ans, "summary", x);
	json_object_object_add(ans, "coverage", json_object_get(json_object_object_get(ret,
	    "coverage")));
	json_object_object_add(ans, "by_provider", json_object_get(json_object_object_get(ret,
	    "by_provider")));
	json_object_object_add(ans, "by_category", json_object_get(json_object_object_get(ret,
	    "by_category")));
	json_object_object_add(ans, "by_service", json_object_get(json_object_object_get(ret,
	    "by_service")));
	json_object_object_add(ans, "top_resources", top);
	json_object_object_add(ans, "alerts", alerts);
	if (with_recs) {
		snprintf(msg, sizeof(msg), "%zu recommendations, %.2f %s a month",
		    json_object_array_length(recs), saving, str(ret, "currency"));
		tool_call_progress(c, 3, phases, msg);
		json_object_object_add(ans, "recommendations", recs);
		add_num(ans, "potential_monthly_savings", saving);
	} else
		json_object_put(recs);
	json_object_object_add(ans, "unpriced", json_object_get(json_object_object_get(ret,
	    "unpriced")));
	json_object_object_add(ans, "metadata", json_object_get(json_object_object_get(ret,
	    "metadata")));
	tool_call_progress(c, phases, phases, "done");
	if ((f = open_memstream(&text, &tlen)) != NULL) {
		size_t na = json_object_array_length(alerts);

		fprintf(f, "Stack %s: %.2f %s a month; %.1f%% of resources covered\n",
		    str(ans, "stack_name"), total, str(ret, "currency"),
		    jnum(json_object_object_get(ret, "coverage"), "percent_priced"));
		json_object_object_foreach(json_object_object_get(ret, "by_category"),
		    cat, amount)
			fprintf(f, "  %-9s %10.2f\n", cat, json_object_get_double(amount));
		for (i = 0; i < na; i++)
			fprintf(f, "%s: %s\n", str(json_object_array_get_idx(alerts, i),
			    "severity"), str(json_object_array_get_idx(alerts, i), "message"));
		if (with_recs)
			fprintf(f, "Recommendations could save %.2f a month\n", saving);
		fclose(f);
	}
	json_object_put(sorted);
	json_object_put(ret);
	answer(c, s, p, ans, text);
}

static void
t_stack(struct tool_call *c, struct json_object *args)
{
	struct one *p;

	if ((p = one_new(c, args)) == NULL)
		return;
	tool_call_progress(c, 0, 3, "reading the stack");
	load_stack_or(c, args, "", stack_report, p, one_free);
}

/* --- a stack with the billing data ---------------------------------------- */

struct with_billing {
	struct tool_call	*call;
	billing_fn		 fn;
	void			*arg;
	drop_fn			 drop;
	struct pstack		*s;
	int			 optional;	/* no billing configured: go on */
};

static void
with_billing_free(struct with_billing *w)
{
	if (w->drop != NULL)
		w->drop(w->arg);
	pulumi_free(w->s);
	free(w);
}

static void
on_billing(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct with_billing *w = arg;
	struct focus_store *st;
	struct json_object *m = NULL;
	struct stat sb;
	char why[256];
	void *map;

	(void)res;
	if (err != NULL || fd < 0) {
		json_object_object_get_ex(err, "message", &m);
		if (w->optional && m != NULL && strncmp(json_object_get_string(m),
		    "no billing data", 15) == 0 && (st = focus_store_new()) != NULL) {
			/* Nothing billed: the tool works from the catalogue. */
			w->fn(w->call, w->s, st, w->arg);
			focus_store_free(st);
		} else
			tool_call_fail(w->call, "%s", m ? json_object_get_string(m) :
			    "the broker sent no billing data");
		with_billing_free(w);
		return;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size <= 0 ||
	    (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0)) ==
	    MAP_FAILED) {
		close(fd);
		tool_call_fail(w->call, "cannot map the billing data");
		with_billing_free(w);
		return;
	}
	close(fd);
	if ((st = focus_store_view(map, (size_t)sb.st_size, why, sizeof(why))) == NULL)
		tool_call_fail(w->call, "%s", why);
	else
		w->fn(w->call, w->s, st, w->arg);
	focus_store_free(st);
	munmap(map, (size_t)sb.st_size);
	with_billing_free(w);
}

static void
billing_for_stack(struct tool_call *c, struct pstack *s, void *arg)
{
	struct with_billing *w = arg;

	w->s = s;
	if (broker_call(broker, "billing_image", NULL, BILLING_TIMEOUT_MS, on_billing, w) == -1) {
		tool_call_fail(c, "cannot reach the broker for billing data");
		with_billing_free(w);
	}
}

static void
with_billing_drop(void *arg)
{
	with_billing_free(arg);
}

void
cost_with_billing(struct tool_call *c, struct json_object *args, billing_fn fn,
    void *arg, void (*drop)(void *))
{
	cost_with_billing_opt(c, args, fn, arg, drop, 0);
}

void
cost_with_billing_opt(struct tool_call *c, struct json_object *args, billing_fn fn,
    void *arg, void (*drop)(void *), int flags)
{
	struct with_billing *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		if (drop != NULL)
			drop(arg);
		tool_call_fail(c, "out of memory");
		return;
	}
	w->call = c;
	w->fn = fn;
	w->arg = arg;
	w->drop = drop;
	w->optional = flags & WB_OPTIONAL;
	if (!json_object_object_get_ex(args, "stack_name", NULL) &&
	    !json_object_object_get_ex(args, "pulumi_json", NULL))
		billing_for_stack(c, NULL, w);	/* all the billing data */
	else
		load_stack_as(c, args, "", billing_for_stack, w, with_billing_drop,
		    flags & WB_PRICES);
}

const struct conf *
cost_conf(void)
{
	return cf;
}

struct broker_client *
cost_broker(void)
{
	return broker;
}

int64_t
cost_plugins_running(void)
{
	return plugins_running;
}

/* --- get_actual_costs ------------------------------------------------------ */

struct actual_call {
	struct one		*p;
	struct join		*j;
	const struct focus_store *st;
	struct actual_query	 q;
	struct json_object	*plugin_actual;	/* URN -> {plugin, results} */
	struct json_object	*plugin_errors;
};

/* The stack's charges count; a resource a plugin reported supersedes its
 * rows in the exports (one source per resource). */
static int
joined(const struct focus_store *st, const struct focus_row *r, void *arg)
{
	struct actual_call *a = arg;
	int i = join_row(a->j, st, r);

	if (i < 0)
		return 0;
	return a->plugin_actual != NULL && json_object_object_get_ex(a->plugin_actual,
	    join_name(a->j, i), NULL) ? -1 : 1;
}

static const char *
urn_of(const struct focus_store *st, const struct focus_row *r, void *arg)
{
	struct actual_call *a = arg;

	return join_name(a->j, join_row(a->j, st, r));
}

static void
actual_free(void *arg)
{
	struct actual_call *a = arg;

	one_free(a->p);
	json_object_put(a->plugin_actual);
	json_object_put(a->plugin_errors);
	json_object_put(a->q.extra);
	free(a);
}

/*
 * The plugins' results as charges: each from its timestamp to the next
 * result's (the last as long as the one before, or a day).  The protocol's
 * ActualCostResult has no currency: USD, and the answer says so.
 */
static struct json_object *
plugin_charges(struct json_object *actual)
{
	struct json_object *out = json_object_new_array(), *res, *e;
	char svc[160];
	size_t i, n;

	json_object_object_foreach(actual, urn, v) {
		int64_t *ts, prev = 0;
		int32_t ns;

		json_object_object_get_ex(v, "results", &res);
		n = json_object_array_length(res);
		if (n == 0 || (ts = calloc(n, sizeof(*ts))) == NULL)
			continue;
		for (i = 0; i < n; i++) {
			const char *t = str(json_object_array_get_idx(res, i), "timestamp");

			if (time_parse(t, strlen(t), &ts[i], &ns) == -1)
				ts[i] = INT64_MIN;
		}
		snprintf(svc, sizeof(svc), "plugin %s", str(v, "plugin"));
		for (i = 0; i < n; i++) {
			int64_t end = i + 1 < n && ts[i + 1] > ts[i] ? ts[i + 1] :
			    i > 0 && prev > 0 ? ts[i] + prev : ts[i] + 86400;

			if (ts[i] == INT64_MIN)
				continue;
			prev = end - ts[i];
			e = json_object_new_object();
			json_object_object_add(e, "start", json_object_new_int64(ts[i]));
			json_object_object_add(e, "end", json_object_new_int64(end));
			json_object_object_add(e, "amount", json_object_new_double(jnum(
			    json_object_array_get_idx(res, i), "cost")));
			json_object_object_add(e, "currency", json_object_new_string("USD"));
			json_object_object_add(e, "group", json_object_new_string(urn));
			json_object_object_add(e, "service", json_object_new_string(svc));
			json_object_array_add(out, e);
		}
		free(ts);
	}
	return out;
}

/* Where each resource's figures come from, and how sure they are. */
static void
sources_by_resource(struct json_object *ans, struct actual_call *a)
{
	struct json_object *src = json_object_new_object(), *pa;
	char text[200];

	json_object_object_foreach(json_object_object_get(ans, "by_resource"), urn, v) {
		struct json_object *o = json_object_new_object();

		(void)v;
		if (a->plugin_actual != NULL &&
		    json_object_object_get_ex(a->plugin_actual, urn, &pa)) {
			snprintf(text, sizeof(text), "plugin %s (GetActualCost)", str(pa, "plugin"));
			json_object_object_add(o, "source", json_object_new_string(text));
			/* No currency in the protocol's results: stated, not known. */
			json_object_object_add(o, "confidence", json_object_new_string("medium"));
			json_object_object_add(o, "note", json_object_new_string("the plugin"
			    " protocol's ActualCostResult carries no currency: counted as USD"));
		} else {
			json_object_object_add(o, "source", json_object_new_string(
			    "FOCUS billing export"));
			json_object_object_add(o, "confidence", json_object_new_string("high"));
		}
		json_object_object_add(src, urn, o);
	}
	json_object_object_add(ans, "sources_by_resource", src);
}

static void
actual_text(struct json_object *ans, const char *stack, char **text)
{
	size_t tlen = 0;
	FILE *f;

	if ((f = open_memstream(text, &tlen)) == NULL)
		return;
	fprintf(f, "Actual spend of stack %s, %s to %s (%s basis):", stack,
	    str(json_object_object_get(ans, "time_range"), "start"),
	    str(json_object_object_get(ans, "time_range"), "end"),
	    str(ans, "cost_basis"));
	json_object_object_foreach(json_object_object_get(ans, "totals"), cur, v)
		fprintf(f, " %.2f %s", json_object_get_double(v), cur);
	fprintf(f, "\nNot attributed to the stack's resources:");
	json_object_object_foreach(json_object_object_get(ans, "unattributed"), uc, uv)
		fprintf(f, " %.2f %s", json_object_get_double(uv), uc);
	fprintf(f, "\n");
	fclose(f);
}

static void
actual_billing(struct tool_call *c, struct pstack *s, const struct focus_store *st,
    void *arg)
{
	struct actual_call *a = arg;
	struct json_object *ans, *m, *t, *v;
	char *text = NULL;

	if ((a->j = join_new(s, &cf->billing_join_tags)) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	/* What joins to the stack's resources, by resource (and service), and
	 * set aside what the stack's resources do not account for. */
	a->q.keep = joined;
	a->q.group = urn_of;
	a->q.arg = a;
	a->q.aside = 1;
	a->q.series_by_line = 1;
	if (a->plugin_actual != NULL && json_object_object_length(a->plugin_actual) > 0)
		a->q.extra = plugin_charges(a->plugin_actual);
	if ((ans = actual_costs(st, &a->q)) == NULL) {
		join_free(a->j);
		tool_call_fail(c, "out of memory");
		return;
	}
	if (json_object_object_get_ex(ans, "set_aside", &v)) {
		json_object_object_add(ans, "unattributed", json_object_get(v));
		json_object_object_del(ans, "set_aside");
	}
	if (json_object_object_get_ex(ans, "groups", &t)) {
		json_object_object_add(ans, "by_resource", json_object_get(
		    json_object_object_get(t, "totals")));
		if (json_object_object_get_ex(t, "series", &v))
			json_object_object_add(ans, "series_by_resource", json_object_get(v));
		else if (json_object_object_get_ex(t, "series_omitted", &v))
			json_object_object_add(json_object_object_get(ans, "metadata"),
			    "series_by_resource_omitted", json_object_get(v));
		json_object_object_del(ans, "groups");
	}
	json_object_object_add(ans, "stack_name", json_object_new_string(
	    str(a->p->args, "stack_name")));
	m = json_object_object_get(ans, "metadata");
	json_object_object_add(m, "join", json_object_new_string(join_rule(a->j)));
	json_object_object_add(m, "stack_resources_with_ids", json_object_new_int64(
	    (int64_t)join_ids(a->j)));
	sources_by_resource(ans, a);
	if (a->plugin_errors != NULL && json_object_array_length(a->plugin_errors) > 0)
		json_object_object_add(m, "plugin_errors", json_object_get(a->plugin_errors));
	join_free(a->j);
	actual_text(ans, str(a->p->args, "stack_name"), &text);
	tool_call_done(c, ans, text);
	free(text);
}

/* The stack, then (with plugins) their actual costs, then the exports. */
static void
actual_to_billing(struct tool_call *c, struct pstack *s, struct actual_call *a)
{
	struct with_billing *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		pulumi_free(s);
		actual_free(a);
		tool_call_fail(c, "out of memory");
		return;
	}
	w->call = c;
	w->fn = actual_billing;
	w->arg = a;
	w->drop = actual_free;
	/* Plugins reported costs: no exports configured is no error. */
	w->optional = a->plugin_actual != NULL &&
	    json_object_object_length(a->plugin_actual) > 0;
	billing_for_stack(c, s, w);
}

struct actual_wait {
	struct tool_call	*call;
	struct pstack		*s;
	struct actual_call	*a;
};

static void
on_plugin_actual(struct json_object *res, struct json_object *err, int fd, void *arg)
{
	struct actual_wait *aw = arg;

	if (fd >= 0)
		close(fd);
	plugin_reply(res, err, "actual", &aw->a->plugin_actual, &aw->a->plugin_errors);
	actual_to_billing(aw->call, aw->s, aw->a);
	free(aw);
}

static void
actual_loaded(struct tool_call *c, struct pstack *s, void *arg)
{
	struct actual_call *a = arg;
	struct json_object *params, *list, *d, *out;
	struct actual_wait *aw;
	char t1[32], t2[32];
	struct tm tm;
	time_t tt;
	size_t i;

	if (plugins_running == 0 || broker == NULL ||
	    (aw = calloc(1, sizeof(*aw))) == NULL) {
		actual_to_billing(c, s, a);
		return;
	}
	list = json_object_new_array();
	for (i = 0; i < s->n; i++) {
		const struct presource *r = &s->r[i];

		if (!r->custom || r->id == NULL || !r->id[0] ||
		    strncmp(r->type, "pulumi:", 7) == 0)
			continue;
		d = json_object_new_object();
		json_object_object_add(d, "urn", json_object_new_string(r->urn));
		json_object_object_add(d, "resource_id", json_object_new_string(r->id));
		out = pulumi_outputs(r);
		if (jstr(out, "arn") != NULL)
			json_object_object_add(d, "arn", json_object_new_string(jstr(out, "arn")));
		pulumi_release(r);
		json_object_array_add(list, d);
	}
	tt = (time_t)a->q.from;
	strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	tt = (time_t)a->q.to;
	strftime(t2, sizeof(t2), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
	aw->call = c;
	aw->s = s;
	aw->a = a;
	params = json_object_new_object();
	json_object_object_add(params, "resources", list);
	json_object_object_add(params, "start", json_object_new_string(t1));
	json_object_object_add(params, "end", json_object_new_string(t2));
	json_object_object_add(params, "timeout_ms", json_object_new_int64(cf->plugin_timeout));
	if (broker_call(broker, "plugin_actual", params, cf->plugin_timeout + 5000,
	    on_plugin_actual, aw) == -1) {
		free(aw);
		actual_to_billing(c, s, a);
	}
}

static void
t_actual(struct tool_call *c, struct json_object *args)
{
	struct json_object *tr = NULL, *v;
	struct actual_call *a;
	const char *s1, *s2;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		tool_call_fail(c, "out of memory");
		return;
	}
	if ((a->p = one_new(c, args)) == NULL) {
		free(a);
		return;
	}
	json_object_object_get_ex(args, "time_range", &tr);
	s1 = str(tr, "start");
	s2 = str(tr, "end");
	if (focus_parse_time(s1, strlen(s1), &a->q.from) == -1 ||
	    focus_parse_time(s2, strlen(s2), &a->q.to) == -1 || a->q.to <= a->q.from) {
		actual_free(a);
		tool_call_fail(c, "invalid arguments: time_range needs start and end"
		    " (RFC 3339 or YYYY-MM-DD), start before end");
		return;
	}
	a->q.gran = json_object_object_get_ex(args, "granularity", &v) ?
	    (enum granularity)actual_granularity(json_object_get_string(v)) : G_DAILY;
	a->q.basis = json_object_object_get_ex(args, "cost_basis", &v) ?
	    (enum basis)actual_basis(json_object_get_string(v)) : B_EFFECTIVE;
	if (json_object_object_get_ex(args, "filters", &v)) {
		a->q.service = str(v, "service")[0] ? str(v, "service") : NULL;
		a->q.region = str(v, "region")[0] ? str(v, "region") : NULL;
		a->q.account = str(v, "account")[0] ? str(v, "account") : NULL;
		a->q.resource = str(v, "resource")[0] ? str(v, "resource") : NULL;
	}
	load_stack_as(c, args, "", actual_loaded, a, actual_free, 0);
}

static const char *const actual_aliases[] = { "get_actual_cost", NULL };

static const struct tool t_get_actual = {
	.name = "get_actual_costs",
	.cost_query = 1,
	.title = "Actual spend of a stack from billing data",
	.description = "What a stack's resources cost in a time range, from the"
	    " FOCUS billing exports the server is configured with (billing.focus):"
	    " totals and a series by hour, day, week or month, by resource and by"
	    " service, on the effective (default), billed or list cost basis,"
	    " currencies apart, and the spend that joins to none of the stack's"
	    " resources. Rows the exports could not give are counted with file and"
	    " line.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"stack_name\",\"time_range\"],"
	    "\"properties\":{\"stack_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"source\":{\"enum\":[\"state\",\"preview\"]},"
	    "\"time_range\":{\"type\":\"object\",\"required\":[\"start\",\"end\"],"
	    "\"properties\":{\"start\":{\"type\":\"string\"},\"end\":{\"type\":\"string\"}}},"
	    "\"granularity\":{\"enum\":[\"hourly\",\"daily\",\"weekly\",\"monthly\"]},"
	    "\"cost_basis\":{\"enum\":[\"effective\",\"billed\",\"list\"]},"
	    "\"filters\":{\"type\":\"object\",\"properties\":{\"service\":{\"type\":\"string\"},"
	    "\"region\":{\"type\":\"string\"},\"account\":{\"type\":\"string\"},"
	    "\"resource\":{\"type\":\"string\",\"description\":\"part of the"
	    " billing ResourceId\"}},\"additionalProperties\":false}},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"totals\",\"series\","
	    "\"by_resource\",\"unattributed\",\"metadata\"],\"properties\":{"
	    "\"totals\":{\"type\":\"object\"},\"series\":{\"type\":\"array\"},"
	    "\"by_resource\":{\"type\":\"object\"},\"by_service\":{\"type\":\"object\"},"
	    "\"series_by_resource\":{\"type\":\"object\"},"
	    "\"series_by_service\":{\"type\":\"object\"},"
	    "\"unattributed\":{\"type\":\"object\"},\"metadata\":{\"type\":\"object\"}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = actual_aliases,
	.handler = t_actual,
};

#define SIDE_SCHEMA \
	"{\"type\":\"object\",\"properties\":{" \
	"\"stack_name\":{\"type\":\"string\",\"minLength\":1}," \
	"\"source\":{\"enum\":[\"state\",\"preview\"]}," \
	"\"pulumi_json\":{\"type\":[\"string\",\"object\"]}," FILTERS_SCHEMA "}," \
	"\"additionalProperties\":false}"

#define COMMON_EXTRA \
	"\"default_region\":{\"type\":\"string\"}," \
	"\"usage\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\",\"minimum\":0}}"

static const char *const compare_aliases[] = { "compare_cost", NULL };
static const char *const resource_aliases[] = { "analyze_resource", NULL };
static const char *const tags_aliases[] = { "query_costs_by_tags", NULL };
static const char *const stack_aliases[] = { "analyze_stack", NULL };

static const struct tool t_compare_costs = {
	.name = "compare_costs",
	.cost_query = 1,
	.title = "Compare the cost of two stacks or previews",
	.description = "Projected monthly cost of a baseline and a target (each a"
	    " configured stack, its preview, or pulumi JSON), their difference,"
	    " and resource by resource what was added, removed or changed and"
	    " why (e.g. instanceType \"t3.medium\" -> \"t3.large\"), with totals by type.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"baseline\",\"target\"],"
	    "\"properties\":{\"baseline\":" SIDE_SCHEMA ",\"target\":" SIDE_SCHEMA ","
	    "\"comparison_type\":{\"enum\":[\"absolute\",\"percentage\",\"both\"]},"
	    COMMON_EXTRA "},\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"baseline_cost\","
	    "\"target_cost\",\"currency\",\"resource_changes\"],\"properties\":{"
	    "\"baseline_cost\":" MONEY ",\"target_cost\":" MONEY ","
	    "\"difference\":" MONEY ",\"difference_percent\":" MONEY ","
	    "\"currency\":{\"type\":\"string\"},"
	    "\"resource_changes\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	    "\"required\":[\"urn\",\"type\",\"change\",\"changes\"],\"properties\":{"
	    "\"change\":{\"enum\":[\"added\",\"removed\",\"changed\"]},"
	    "\"changes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}},"
	    "\"by_type\":{\"type\":\"object\"}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = compare_aliases,
	.handler = t_compare,
};

static const struct tool t_analyze_resource = {
	.name = "analyze_resource_cost",
	.cost_query = 1,
	.title = "Cost of one resource, its dependencies and children",
	.description = "The cost components of one resource (by URN) with their"
	    " prices and sources, the resources it depends on and that depend on"
	    " it, its children with their costs, and concrete priced hints (a"
	    " cheaper equivalent instance family, gp2 -> gp3, schedules for"
	    " non-production compute). The stack is stack_name, pulumi_json, or"
	    " the configured stack the URN names.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"resource_urn\"],"
	    "\"properties\":{\"resource_urn\":{\"type\":\"string\",\"pattern\":\"^urn:pulumi:\"},"
	    "\"stack_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"source\":{\"enum\":[\"state\",\"preview\"]},"
	    "\"pulumi_json\":{\"type\":[\"string\",\"object\"]},"
	    "\"include_dependencies\":{\"type\":\"boolean\"},"
	    "\"time_range\":{\"type\":\"object\",\"description\":\"Accepted for"
	    " compatibility; projected costs are monthly\"}," COMMON_EXTRA "},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"resource\",\"hints\"],"
	    "\"properties\":{\"resource\":{\"type\":\"object\"},"
	    "\"dependencies\":{\"type\":\"array\"},\"dependents\":{\"type\":\"array\"},"
	    "\"children\":{\"type\":\"array\"},\"monthly_cost_with_children\":" MONEY ","
	    "\"hints\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"
	    "[\"kind\",\"description\",\"monthly_saving\"]}}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = resource_aliases,
	.handler = t_resource,
};

static const struct tool t_query_by_tags = {
	.name = "query_cost_by_tags",
	.cost_query = 1,
	.title = "Cost by tag value, projected or actual",
	.description = "Cost of a stack by the values of the given tag keys, with"
	    " the untagged cost of each key; optionally only what is tagged"
	    " filters.key with one of filters.values. Without time_range: the"
	    " projected monthly cost of the resources by their tags. With"
	    " time_range: actual spend from the billing data, by each charge's own"
	    " Tags, else the tags of the stack resource it joins to.",
	.input_schema = "{\"type\":\"object\",\"required\":[\"tag_keys\"],"
	    "\"properties\":{\"stack_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"source\":{\"enum\":[\"state\",\"preview\"]},"
	    "\"pulumi_json\":{\"type\":[\"string\",\"object\"]},"
	    "\"tag_keys\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"string\"}},"
	    "\"filters\":{\"type\":\"object\",\"properties\":{\"key\":{\"type\":\"string\"},"
	    "\"values\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
	    "\"additionalProperties\":false},"
	    "\"time_range\":{\"type\":\"object\",\"required\":[\"start\",\"end\"],"
	    "\"properties\":{\"start\":{\"type\":\"string\"},\"end\":{\"type\":\"string\"}}},"
	    "\"cost_basis\":{\"enum\":[\"effective\",\"billed\",\"list\"]}," COMMON_EXTRA "},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"by_tag\",\"untagged\","
	    "\"currency\"],\"properties\":{"
	    "\"by_tag\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"object\","
	    "\"additionalProperties\":{\"type\":\"number\"}}},"
	    "\"untagged\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"number\"}},"
	    "\"total_monthly\":" MONEY ",\"total\":{\"type\":\"number\"},"
	    "\"currency\":{\"type\":\"string\"}}}",
	.read_only = 1, .idempotent = 1, .cacheable = 1, .aliases = tags_aliases,
	.handler = t_tags,
};

static const struct tool t_analyze_stack = {
	.name = "analyze_stack_comprehensive",
	.cost_query = 1,
	.title = "Whole-stack cost analysis",
	.description = "Everything about a stack's projected cost in one call,"
	    " with progress per phase: totals by provider, category (compute,"
	    " database, storage, network, other) and service, the top resources,"
	    " alerts (unpriced resources, non-production compute running around"
	    " the clock, cost concentration) and, with include_recommendations,"
	    " priced recommendations.",
	.input_schema = "{\"type\":\"object\",\"properties\":{"
	    "\"stack_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"source\":{\"enum\":[\"state\",\"preview\"]},"
	    "\"pulumi_json\":{\"type\":[\"string\",\"object\"]},"
	    "\"include_recommendations\":{\"type\":\"boolean\"}," COMMON_EXTRA "},"
	    "\"additionalProperties\":false}",
	.output_schema = "{\"type\":\"object\",\"required\":[\"summary\",\"coverage\","
	    "\"by_category\",\"top_resources\",\"alerts\"],\"properties\":{"
	    "\"summary\":{\"type\":\"object\"},\"coverage\":{\"type\":\"object\"},"
	    "\"by_category\":{\"type\":\"object\"},\"top_resources\":{\"type\":\"array\"},"
	    "\"alerts\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"
	    "[\"severity\",\"kind\",\"message\"]}},\"recommendations\":{\"type\":\"array\"}}}",
	.read_only = 1, .idempotent = 1, .notifies = 1, .cacheable = 1, .aliases = stack_aliases,
	.handler = t_stack,
};

static struct spec_book *
load_specs(const struct conf *c, char *err, size_t errlen)
{
	const char *dirs[2] = { c->spec_dir, c->pricing_spec_dir };

	return spec_load(dirs, 2, err, errlen);
}

int
cost_check_config(const struct conf *c, char *err, size_t errlen)
{
	struct spec_book *b = load_specs(c, err, errlen);

	if (b == NULL)
		return -1;
	spec_book_free(b);
	return 0;
}

int
cost_tools_init(const struct conf *c, struct broker_client *b, struct shm *cache,
    char *err, size_t errlen)
{
	cf = c;
	broker = b;
	(void)cache;
	if (catalog_init(err, errlen) == -1)
		return -1;
	/* Read now, before the sandbox closes; validated by the master. */
	if ((spec_active = load_specs(c, err, errlen)) == NULL)
		return -1;
	tools_register(&t_analyze_projected);
	tools_register(&t_compare_costs);
	tools_register(&t_analyze_resource);
	tools_register(&t_query_by_tags);
	tools_register(&t_analyze_stack);
	tools_register(&t_get_actual);
	insight_tools_init();
	return 0;
}
