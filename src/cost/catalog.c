#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "../core/util.h"
#include "catalog.h"

static struct price *book;
static size_t nbook, capbook;
static struct json_object *index_;	/* "provider kind sku" -> [i, ...] */
static int builtin_loaded;

static const char *const units[] = {
	"hour", "month", "gb-month", "gb", "iops-month", "mbps-month",
	"million-requests", "thousand-requests", "gb-second", "lcu-hour", NULL
};

static void
key_of(const char *provider, const char *kind, const char *sku, char *key,
    size_t len)
{
	size_t i, n;

	n = (size_t)snprintf(key, len, "%s %s %s", provider, kind, sku);
	for (i = 0; i < n && i < len; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
}

static int
add_price(const char *f[6], const char *source, const char *effective,
    const char *currency, const char *origin)
{
	struct json_object *list;
	struct price *p;
	char key[256];

	if (nbook == capbook) {
		size_t ncap = capbook ? capbook * 2 : 256;

		if ((p = reallocarray(book, ncap, sizeof(*p))) == NULL)
			return -1;
		book = p;
		capbook = ncap;
	}
	p = &book[nbook];
	memset(p, 0, sizeof(*p));
	p->provider = strdup(f[0]);
	p->kind = strdup(f[1]);
	p->sku = strdup(f[2]);
	p->regions = strdup(f[3]);
	p->amount = strtod(f[4], NULL);
	p->unit = strdup(f[5]);
	p->currency = strdup(currency);
	p->source = strdup(source);
	p->effective = strdup(effective);
	p->origin = strdup(origin);
	if (index_ == NULL)
		index_ = json_object_new_object();
	key_of(f[0], f[1], f[2], key, sizeof(key));
	if (!json_object_object_get_ex(index_, key, &list)) {
		list = json_object_new_array();
		json_object_object_add(index_, key, list);
	}
	json_object_array_add(list, json_object_new_int64((int64_t)nbook));
	nbook++;
	return 0;
}

static int
valid_date(const char *s)
{
	int y, m, d;
	char tail;

	return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
	    m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

int
catalog_load(const char *text, const char *name, char *err, size_t errlen)
{
	char source[512] = "", effective[16] = "", currency[8] = "USD";
	char line[1024], origin[256], *f[7], *save, *e;
	const char *p = text, *nl;
	size_t n, i, lineno = 0;
	double amount;

	for (; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		lineno++;
		n = (size_t)(nl - p);
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%zu: line too long", name, lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		for (e = line; isspace((unsigned char)*e); e++)
			;
		if (*e == '\0' || *e == '#')
			continue;
		if (*e == '@') {
			char *v = e + strcspn(e, " \t");

			if (*v)
				*v++ = '\0';
			v += strspn(v, " \t");
			if (strcmp(e, "@source") == 0 && *v)
				strlcpy_(source, v, sizeof(source));
			else if (strcmp(e, "@effective") == 0 && valid_date(v))
				strlcpy_(effective, v, sizeof(effective));
			else if (strcmp(e, "@currency") == 0 && strlen(v) == 3 &&
			    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3)
				strlcpy_(currency, v, sizeof(currency));
			else {
				snprintf(err, errlen, "%s:%zu: %s needs %s", name,
				    lineno, e, strcmp(e, "@effective") == 0 ?
				    "a date YYYY-MM-DD" : strcmp(e, "@currency") == 0 ?
				    "an ISO 4217 code" : strcmp(e, "@source") == 0 ?
				    "a text" : "to be @source, @effective or @currency");
				return -1;
			}
			continue;
		}
		for (i = 0, save = NULL; i < 7 &&
		    (f[i] = strtok_r(i ? NULL : e, " \t", &save)) != NULL; i++)
			;
		if (i != 6) {
			snprintf(err, errlen, "%s:%zu: expected PROVIDER KIND SKU"
			    " REGIONS PRICE UNIT", name, lineno);
			return -1;
		}
		errno = 0;
		amount = strtod(f[4], &e);
		if (*e != '\0' || errno != 0 || !isfinite(amount) || amount < 0) {
			snprintf(err, errlen, "%s:%zu: price \"%s\" is not a number"
			    " >= 0", name, lineno, f[4]);
			return -1;
		}
		for (i = 0; units[i] != NULL; i++)
			if (strcmp(units[i], f[5]) == 0)
				break;
		if (units[i] == NULL) {
			snprintf(err, errlen, "%s:%zu: unknown unit \"%s\"", name,
			    lineno, f[5]);
			return -1;
		}
		if (source[0] == '\0' || effective[0] == '\0') {
			snprintf(err, errlen, "%s:%zu: a price needs @source and"
			    " @effective before it", name, lineno);
			return -1;
		}
		snprintf(origin, sizeof(origin), "%s:%zu", name, lineno);
		if (add_price((const char **)f, source, effective, currency,
		    origin) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
catalog_init(char *err, size_t errlen)
{
	if (builtin_loaded)
		return 0;
	if (catalog_load(catalog_data, "catalog", err, errlen) == -1)
		return -1;
	builtin_loaded = 1;
	return 0;
}

static int
in_regions(const char *list, const char *region)
{
	size_t n = strlen(region);
	const char *p;

	if (strcmp(list, "*") == 0)
		return 1;
	for (p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		if (strncasecmp(p, region, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

const struct price *
catalog_find(const char *provider, const char *kind, const char *sku,
    const char *region)
{
	struct json_object *list;
	const struct price *any = NULL, *p;
	char key[256];
	size_t i, n;

	if (index_ == NULL || sku == NULL)
		return NULL;
	key_of(provider, kind, sku, key, sizeof(key));
	if (!json_object_object_get_ex(index_, key, &list))
		return NULL;
	/* Newest first: spec files, loaded after the catalogue, win. */
	n = json_object_array_length(list);
	for (i = n; i-- > 0; ) {
		p = &book[json_object_get_int64(json_object_array_get_idx(list, i))];
		if (strcmp(p->regions, "*") == 0) {
			if (any == NULL)
				any = p;
		} else if (region != NULL && in_regions(p->regions, region))
			return p;
	}
	return any;
}

