#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "../mcp/schema.h"
#include "jget.h"
#include "spec.h"

#define MAX_SPEC_FILE	(1024 * 1024)
#define MAX_SPECS	100000

extern const char pricing_spec_schema_json[];

struct spec {
	char			*file;
	int			 core;
	char			*provider, *service, *sku, *region;
	struct json_object	*doc;		/* the whole spec, parsed */
};

struct spec_book {
	struct spec	*v;
	size_t		 n, cap;
	/* "provider|sku" (lower case; sku empty for SKU-less specs) -> [i]:
	 * a resource looks at two short lists, not every spec. */
	struct json_object *by_sku;
};

struct spec_book *spec_active;

/* --- YAML to JSON (YAML 1.2 core schema for plain scalars) ----------------- */

static struct json_object *
yaml_scalar(yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	char *end;
	long long i;
	double d;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_object_new_string_len(v, (int)len);
	if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0)
		return NULL;
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return json_object_new_boolean(v[0] == 't');
	errno = 0;
	i = strtoll(v, &end, 10);
	if (*end == '\0' && errno == 0)
		return json_object_new_int64(i);
	d = strtod(v, &end);
	if (*end == '\0' && isfinite(d) && (isdigit((unsigned char)v[0]) ||
	    v[0] == '-' || v[0] == '.'))
		return json_object_new_double(d);
	return json_object_new_string_len(v, (int)len);
}

static struct json_object *
yaml_node(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	struct json_object *o;
	yaml_node_pair_t *p;
	yaml_node_item_t *it;

	if (n == NULL || depth > 32)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return yaml_scalar(n);
	case YAML_SEQUENCE_NODE:
		o = json_object_new_array();
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			json_object_array_add(o, yaml_node(doc,
			    yaml_document_get_node(doc, *it), depth + 1));
		return o;
	case YAML_MAPPING_NODE:
		o = json_object_new_object();
		for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			if (k == NULL || k->type != YAML_SCALAR_NODE)
				continue;
			json_object_object_add(o, (const char *)k->data.scalar.value,
			    yaml_node(doc, yaml_document_get_node(doc, p->value),
			    depth + 1));
		}
		return o;
	default:
		return NULL;
	}
}

static struct json_object *
yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct json_object *o = NULL;

	if (!yaml_parser_initialize(&parser)) {
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		errorf(err, errlen, "line %zu: %s", (size_t)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return NULL;
	}
	if (yaml_document_get_root_node(&doc) == NULL)
		errorf(err, errlen, "the document is empty");
	else
		o = yaml_node(&doc, yaml_document_get_root_node(&doc), 0);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return o;
}

/* --- the book ------------------------------------------------------------ */

struct spec_book *
spec_book_new(void)
{
	struct spec_book *b = calloc(1, sizeof(struct spec_book));

	if (b != NULL && (b->by_sku = json_object_new_object()) == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

static void
sku_key(const char *provider, const char *sku, char *key, size_t len)
{
	size_t i;

	snprintf(key, len, "%s|%s", provider, sku ? sku : "");
	for (i = 0; key[i]; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
}

void
spec_book_free(struct spec_book *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->v[i].file);
		json_object_put(b->v[i].doc);
	}
	free(b->v);
	json_object_put(b->by_sku);
	free(b);
}

static struct json_object *schema;

/* A core-style file: provider, service, sku, currency and a pricing map. */
static int
check_core(struct json_object *o, char *why, size_t len)
{
	static const char *const req[] = { "provider", "service", "sku", "currency" };
	static const char *const keys[] = { "monthlyEstimate", "onDemandHourly",
	    "hourlyRate", "pricePerGBMonth" };
	struct json_object *pricing;
	size_t i;

	for (i = 0; i < nitems(req); i++)
		if (jstr(o, req[i]) == NULL)
			return errorf(why, len, "%s: is required (a string)", req[i]);
	if (strlen(jstr(o, "currency")) != 3)
		return errorf(why, len, "currency: must be an ISO 4217 code");
	if (!json_object_object_get_ex(o, "pricing", &pricing) ||
	    !json_object_is_type(pricing, json_type_object))
		return errorf(why, len, "pricing: is required (a mapping)");
	for (i = 0; i < nitems(keys); i++)
		if (!isnan(jnum(pricing, keys[i]))) {
			struct json_object *v;

			json_object_object_get_ex(pricing, keys[i], &v);
			if (json_object_get_double(v) < 0)
				return errorf(why, len, "pricing.%s: must be >= 0", keys[i]);
			return 0;
		}
	return errorf(why, len, "pricing: has none of monthlyEstimate, onDemandHourly,"
	    " hourlyRate, pricePerGBMonth (a number)");
}

int
spec_parse(struct spec_book *b, const char *text, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct json_object *o;
	struct spec *s;
	char why[512];
	size_t i;
	int core;

	if (b->n >= MAX_SPECS)
		return errorf(err, errlen, "%s: more than %d spec files", name, MAX_SPECS);
	/* JSON when it opens with a brace; text is len bytes, not a C string. */
	for (i = 0; i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' ||
	    text[i] == '\n'); i++)
		;
	o = i < len && text[i] == '{' ? rpc_parse(text, len, why, sizeof(why)) :
	    yaml_parse(text, len, why, sizeof(why));
	if (o == NULL)
		return errorf(err, errlen, "%s: %s", name, why);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return errorf(err, errlen, "%s: a spec must be a mapping", name);
	}
	core = !json_object_object_get_ex(o, "billing_mode", NULL);
	if (core && !json_object_object_get_ex(o, "pricing", NULL)) {
		json_object_put(o);
		return errorf(err, errlen, "%s: neither a PulumiCost spec (billing_mode,"
		    " rate_per_unit) nor a core spec (a pricing mapping)", name);
	}
	if (!core && schema == NULL &&
	    (schema = json_tokener_parse(pricing_spec_schema_json)) == NULL) {
		json_object_put(o);
		return errorf(err, errlen, "the pricing spec schema cannot be read");
	}
	if ((core ? check_core(o, why, sizeof(why)) :
	    schema_validate_at(schema, o, "spec", why, sizeof(why))) == -1) {
		json_object_put(o);
		return errorf(err, errlen, "%s: %s", name, why);
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;

		if ((s = reallocarray(b->v, ncap, sizeof(*s))) == NULL) {
			json_object_put(o);
			return errorf(err, errlen, "out of memory");
		}
		b->v = s;
		b->cap = ncap;
	}
	s = &b->v[b->n++];
	memset(s, 0, sizeof(*s));
	s->file = strdup(name);
	s->doc = o;
	s->core = core;
	s->provider = (char *)jstr(o, "provider");
	s->service = (char *)jstr(o, core ? "service" : "resource_type");
	s->sku = (char *)jstr(o, "sku");
	s->region = (char *)jstr(o, "region");
	if (core && s->region == NULL) {
		struct json_object *meta;

		if (json_object_object_get_ex(o, "metadata", &meta))
			s->region = (char *)jstr(meta, "region");
	}
	{
		struct json_object *list;
		char key[512];

		sku_key(s->provider, s->sku, key, sizeof(key));
		if (!json_object_object_get_ex(b->by_sku, key, &list)) {
			list = json_object_new_array();
			json_object_object_add(b->by_sku, key, list);
		}
		json_object_array_add(list, json_object_new_int64((int64_t)(b->n - 1)));
	}
	return 0;
}

static int
spec_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 5 && strcmp(n + l - 5, ".json") == 0) ||
	    (l > 5 && strcmp(n + l - 5, ".yaml") == 0) ||
	    (l > 4 && strcmp(n + l - 4, ".yml") == 0));
}

static int
load_dir(struct spec_book *b, const char *dir, char *err, size_t errlen)
{
	char **names, path[4096], *data;
	size_t n, i, len;
	int fd, rc = 0;

	/* In name order: the same files, the same precedence, every time. */
	if (dir_names(dir, spec_name, &names, &n) == -1)
		return errorf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
	for (i = 0; i < n && rc == 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			rc = errorf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
			break;
		}
		if (read_all_fd(fd, &data, MAX_SPEC_FILE, &len) < 0) {
			close(fd);
			rc = errorf(err, errlen, "%s: unreadable or larger than %d bytes",
			    path, MAX_SPEC_FILE);
			break;
		}
		close(fd);
		rc = spec_parse(b, data, len, path, err, errlen);
		free(data);
	}
	dir_names_free(names, n);
	return rc;
}

struct spec_book *
spec_load(const char *const *dirs, size_t ndirs, char *err, size_t errlen)
{
	struct spec_book *b = spec_book_new();
	size_t i;

	if (b == NULL) {
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < ndirs; i++)
		if (dirs[i] != NULL && dirs[i][0] != '\0' &&
		    load_dir(b, dirs[i], err, errlen) == -1) {
			spec_book_free(b);
			return NULL;
		}
	return b;
}

/* --- matching ------------------------------------------------------------- */

/* resource_type names a Pulumi module, a type token or a common alias. */
static int
service_matches(const char *want, const char *service, const char *type)
{
	static const struct { const char *alias, *module; } aliases[] = {
		{ "compute_engine", "compute" }, { "vm", "compute" },
		{ "virtual_machine", "compute" }, { "virtual_machines", "compute" },
	};
	size_t i;

	if (strcasecmp(want, service) == 0 || strcmp(want, type) == 0)
		return 1;
	for (i = 0; i < nitems(aliases); i++)
		if (strcasecmp(want, aliases[i].alias) == 0 &&
		    strcmp(service, aliases[i].module) == 0)
			return 1;
	return 0;
}

/* The most specific of one list's specs that match (SKU, then region). */
static void
best_in(const struct spec_book *b, struct json_object *list, const char *provider,
    const char *service, const char *type, const char *sku, const char *region,
    const struct spec **best, int *best_score)
{
	const struct spec *s;
	size_t i;
	int score;

	for (i = 0; i < json_object_array_length(list); i++) {
		s = &b->v[json_object_get_int64(json_object_array_get_idx(list, i))];
		if (strcasecmp(s->provider, provider) != 0 ||
		    !service_matches(s->service, service, type))
			continue;
		if (s->sku != NULL && (sku == NULL || strcasecmp(s->sku, sku) != 0))
			continue;
		if (s->region != NULL && (region == NULL ||
		    strcasecmp(s->region, region) != 0))
			continue;
		score = (s->sku != NULL) * 2 + (s->region != NULL);
		if (score > *best_score) {
			*best = s;
			*best_score = score;
		}
	}
}

const struct spec *
spec_find(const struct spec_book *b, const char *provider, const char *service,
    const char *type, const char *sku, const char *region)
{
	const struct spec *best = NULL;
	struct json_object *list;
	int best_score = -1;
	char key[512];

	if (b == NULL)
		return NULL;
	/* The specs of this SKU, then those without one. */
	if (sku != NULL) {
		sku_key(provider, sku, key, sizeof(key));
		if (json_object_object_get_ex(b->by_sku, key, &list))
			best_in(b, list, provider, service, type, sku, region, &best,
			    &best_score);
	}
	sku_key(provider, NULL, key, sizeof(key));
	if (json_object_object_get_ex(b->by_sku, key, &list))
		best_in(b, list, provider, service, type, sku, region, &best,
		    &best_score);
	return best;
}

void
spec_describe(const struct spec *s, struct spec_price *p)
{
	struct json_object *pricing, *v;
	static const char *const keys[] = { "monthlyEstimate", "onDemandHourly",
	    "hourlyRate", "pricePerGBMonth" };
	size_t i;

	memset(p, 0, sizeof(*p));
	p->file = s->file;
	p->sku = s->sku;
	p->currency = jstr(s->doc, "currency");
	p->core = s->core;
	if (s->core) {
		/* The first of core's keys that is set, in core's order. */
		json_object_object_get_ex(s->doc, "pricing", &pricing);
		for (i = 0; i < nitems(keys); i++)
			if (!isnan(jnum(pricing, keys[i]))) {
				json_object_object_get_ex(pricing, keys[i], &v);
				p->mode = keys[i];
				p->rate = json_object_get_double(v);
				break;
			}
		p->source = s->file;
		p->effective = "unstated";
		return;
	}
	p->mode = jstr(s->doc, "billing_mode");
	json_object_object_get_ex(s->doc, "rate_per_unit", &v);
	p->rate = json_object_get_double(v);
	p->unit = jstr(s->doc, "unit");
	p->source = jstr(s->doc, "source") ? jstr(s->doc, "source") : s->file;
	p->effective = jstr(s->doc, "effective_date") ?
	    jstr(s->doc, "effective_date") : "unstated";
	if (strcmp(p->mode, "not_implemented") == 0)
		p->not_implemented = jstr(s->doc, "description") ?
		    jstr(s->doc, "description") : "the spec says not_implemented";
	if (json_object_object_get_ex(s->doc, "pricing_tiers", &v))
		p->tiers = v;
	if (json_object_object_get_ex(s->doc, "plugin_metadata", &v))
		p->meta = v;
}
