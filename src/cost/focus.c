#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "focus.h"

#define CHUNK		(256 * 1024)
#define MAX_RECORD	(16 * 1024 * 1024)	/* one CSV record */
#define MAX_FIELDS	512
#define MAX_BAD_LISTED	20

/* ISO 4217 codes in use: an unknown currency is a bad row, not a new one. */
static const char iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND"
    " BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF"
    " DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD"
    " HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW"
    " KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR"
    " MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN"
    " PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN"
    " SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES"
    " VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

/* --- the store ------------------------------------------------------------ */

struct focus_store {
	const char		*image;		/* a view: everything below unused */
	const struct focus_row	*irows;
	const uint64_t		*ioffs;
	const char		*iblob;
	struct focus_row	*rows;
	size_t			 n, cap;
	char			**strs;		/* id -> string; 0 is "" */
	size_t			 nstrs, capstrs;
	struct json_object	*ids;		/* string -> id */
	struct json_object	*raw_tags;	/* Tags cell as written -> id */
	size_t			 bad;
	struct json_object	*bad_list;
	int			 sorted;	/* rows by start (focus_index) */
	int64_t			 max_span;	/* the longest charge period */
};

struct focus_store *
focus_store_new(void)
{
	struct focus_store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->ids = json_object_new_object();
	s->raw_tags = json_object_new_object();
	s->bad_list = json_object_new_array();
	s->strs = calloc(64, sizeof(char *));
	s->capstrs = 64;
	s->strs[0] = strdup("");
	s->nstrs = 1;
	return s;
}

void
focus_store_free(struct focus_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->image == NULL && i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->rows);
	json_object_put(s->ids);
	json_object_put(s->raw_tags);
	json_object_put(s->bad_list);
	free(s);
}

size_t
focus_count(const struct focus_store *s)
{
	return s->n;
}

const struct focus_row *
focus_row(const struct focus_store *s, size_t i)
{
	if (i >= s->n)
		return NULL;
	return s->image ? &s->irows[i] : &s->rows[i];
}

const char *
focus_str(const struct focus_store *s, uint32_t id)
{
	if (id >= s->nstrs)
		return "";
	return s->image ? s->iblob + s->ioffs[id] : s->strs[id];
}

static int
by_start(const void *a, const void *b)
{
	const struct focus_row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
focus_index(struct focus_store *s)
{
	size_t i;

	if (s->image != NULL || s->sorted)
		return;
	qsort(s->rows, s->n, sizeof(*s->rows), by_start);
	for (i = 0, s->max_span = 0; i < s->n; i++)
		if (s->rows[i].end - s->rows[i].start > s->max_span)
			s->max_span = s->rows[i].end - s->rows[i].start;
	s->sorted = 1;
}

/* The first row starting at or after t (rows sorted). */
static size_t
first_from(const struct focus_store *s, int64_t t)
{
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (focus_row(s, mid)->start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
focus_window(const struct focus_store *s, int64_t from, int64_t to, size_t *lo,
    size_t *hi)
{
	if (!s->sorted) {
		*lo = 0;
		*hi = s->n;
		return;
	}
	/* A row overlapping [from, to) starts before to and ends after from:
	 * no earlier than from minus the longest charge period. */
	*lo = first_from(s, from > INT64_MIN + s->max_span ? from - s->max_span : from);
	*hi = first_from(s, to);
	/* A point charge at to's instant is outside; one ending at to is in. */
}

struct focus_tags {
	const struct focus_store *st;
	struct json_object	**set;		/* per string id */
	size_t			 n;
};

struct focus_tags *
focus_tags_new(const struct focus_store *st)
{
	struct focus_tags *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->st = st;
	t->n = focus_nstrs(st);
	if ((t->set = calloc(t->n + 1, sizeof(*t->set))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
focus_tags_free(struct focus_tags *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		json_object_put(t->set[i]);
	free(t->set);
	free(t);
}

/* The text is the store's own (tags_of wrote it): json-c reads it back. */
struct json_object *
focus_tags_of(struct focus_tags *t, const struct focus_row *r)
{
	if (t == NULL || r->tags == 0 || r->tags >= t->n)
		return NULL;
	if (t->set[r->tags] == NULL)
		t->set[r->tags] = json_tokener_parse(focus_str(t->st, r->tags));
	return t->set[r->tags];
}

const char *
focus_tag(struct focus_tags *t, const struct focus_row *r, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(focus_tags_of(t, r), key, &v) ?
	    json_object_get_string(v) : NULL;
}

size_t
focus_nstrs(const struct focus_store *s)
{
	return s->nstrs;
}

static uint32_t
intern(struct focus_store *s, const char *v, size_t len)
{
	struct json_object *id;
	char *copy;

	if (len == 0)
		return 0;
	/* Most cells repeat: look up from the stack, copy only new ones. */
	if (len < 512) {
		char key[512];

		memcpy(key, v, len);
		key[len] = '\0';
		if (json_object_object_get_ex(s->ids, key, &id))
			return (uint32_t)json_object_get_int64(id);
	}
	if ((copy = strndup(v, len)) == NULL)
		return 0;
	if (json_object_object_get_ex(s->ids, copy, &id)) {
		free(copy);
		return (uint32_t)json_object_get_int64(id);
	}
	if (s->nstrs == s->capstrs) {
		char **n = reallocarray(s->strs, s->capstrs * 2, sizeof(char *));

		if (n == NULL) {
			free(copy);
			return 0;
		}
		s->strs = n;
		s->capstrs *= 2;
	}
	json_object_object_add(s->ids, copy, json_object_new_int64((int64_t)s->nstrs));
	s->strs[s->nstrs] = copy;
	return (uint32_t)s->nstrs++;
}

static void
bad_row(struct focus_store *s, uint32_t file, size_t line, const char *why)
{
	struct json_object *o;

	s->bad++;
	if (json_object_array_length(s->bad_list) >= MAX_BAD_LISTED)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "file", json_object_new_string(focus_str(s, file)));
	json_object_object_add(o, "line", json_object_new_int64((int64_t)line));
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_array_add(s->bad_list, o);
}

struct json_object *
focus_bad_rows(const struct focus_store *s)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_int64((int64_t)s->bad));
	json_object_object_add(o, "first", json_object_get(s->bad_list));
	return o;
}

const char *
focus_category_name(int c)
{
	static const char *const names[] = { "Usage", "Purchase", "Tax", "Credit",
	    "Adjustment", "Refund", "Other" };

	return c >= 0 && c <= FC_OTHER ? names[c] : "Other";
}

/* --- CSV, in chunks ------------------------------------------------------- */

struct csv {
	int		 fd;
	gzFile		 gz;
	char		*buf;
	size_t		 cap, len, pos;
	int		 eof;
	size_t		 line;		/* physical line of the next record */
	size_t		 rec_line;	/* where the last record started */
	char		*f[MAX_FIELDS];
	size_t		 fl[MAX_FIELDS];
	size_t		 nf;
	const char	*mem;		/* a buffer instead of a file */
	size_t		 memlen, mempos;
};

static ssize_t
fill(struct csv *c, char *dst, size_t n)
{
	if (c->mem != NULL) {
		size_t k = c->memlen - c->mempos < n ? c->memlen - c->mempos : n;

		memcpy(dst, c->mem + c->mempos, k);
		c->mempos += k;
		return (ssize_t)k;
	}
	if (c->gz != NULL) {
		int r = gzread(c->gz, dst, (unsigned)n), e = Z_OK;

		/* A truncated stream ends like a short one: ask zlib. */
		if (r == 0)
			(void)gzerror(c->gz, &e);
		return e == Z_OK || e == Z_STREAM_END ? r : -1;
	}
	return read(c->fd, dst, n);
}

/*
 * The next record, split into fields in place (quotes removed, doubled
 * quotes undone, CR before LF dropped): 1, 0 at the end, -1 with why.
 */
static int
csv_next(struct csv *c, char *why, size_t whylen)
{
	size_t i, start;
	int quoted;
	ssize_t r;

	for (;;) {
		/* A complete record: an unquoted newline, or the end of input. */
		quoted = 0;
		for (i = c->pos; i < c->len; i++) {
			if (c->buf[i] == '"')
				quoted = !quoted;
			else if (c->buf[i] == '\n' && !quoted)
				break;
		}
		if (i < c->len || (c->eof && c->pos < c->len))
			break;
		if (c->eof)
			return 0;
		if (c->pos > 0) {
			memmove(c->buf, c->buf + c->pos, c->len - c->pos);
			c->len -= c->pos;
			c->pos = 0;
		}
		if (c->len + CHUNK > c->cap) {
			char *nb;

			if (c->cap >= MAX_RECORD)
				return errorf(why, whylen, "line %zu: a record longer"
				    " than %d bytes", c->line, MAX_RECORD);
			if ((nb = realloc(c->buf, c->cap * 2)) == NULL)
				return errorf(why, whylen, "out of memory");
			c->buf = nb;
			c->cap *= 2;
		}
		if ((r = fill(c, c->buf + c->len, c->cap - c->len)) < 0)
			return errorf(why, whylen, "read error after line %zu (a"
			    " truncated or corrupt file)", c->line);
		if (r == 0)
			c->eof = 1;
		c->len += (size_t)r;
	}
	if (i == c->len && quoted)
		return errorf(why, whylen, "line %zu: a quoted field is not closed",
		    c->line);
	/* Split c->buf[c->pos .. i) into fields. */
	c->rec_line = c->line;
	c->nf = 0;
	start = c->pos;
	{
		size_t end = i, w, k;
		char *b = c->buf;

		if (end > start && b[end - 1] == '\r')
			end--;
		k = start;
		while (k <= end && c->nf < MAX_FIELDS) {
			w = k;
			c->f[c->nf] = b + k;
			if (k < end && b[k] == '"') {
				size_t o = k;

				for (k++; k < end; k++) {
					if (b[k] == '"') {
						if (k + 1 < end && b[k + 1] == '"')
							k++;
						else
							break;
					}
					b[o++] = b[k];
				}
				k++;	/* the closing quote */
				c->f[c->nf] = b + w;
				c->fl[c->nf] = o - w;
				while (k < end && b[k] != ',')
					k++;	/* junk after a quote: ignored */
			} else {
				while (k < end && b[k] != ',')
					k++;
				c->fl[c->nf] = k - w;
			}
			c->nf++;
			k++;	/* the comma */
		}
		for (k = start; k < i; k++)
			if (b[k] == '\n')
				c->line++;
	}
	c->pos = i < c->len ? i + 1 : i;
	c->line++;
	return 1;
}

/* --- rows ---------------------------------------------------------------- */

enum col { C_START, C_END, C_BILLED, C_EFFECTIVE, C_LIST, C_CURRENCY, C_CATEGORY,
	C_RESOURCE, C_RESOURCE_NAME, C_RESOURCE_TYPE, C_SERVICE, C_REGION,
	C_REGION_NAME, C_ACCOUNT, C_TAGS, C_QUANTITY, C_UNIT, C_UNIT_PRICE,
	C_PROVIDER, C_SERVICE_PROVIDER, C_SKU, C_PRICING, C_COMMITMENT, NCOLS };

static const char *const col_names[NCOLS] = {
	"ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost",
	"ListCost", "BillingCurrency", "ChargeCategory", "ResourceId",
	"ResourceName", "ResourceType", "ServiceName", "RegionId", "RegionName",
	"SubAccountId", "Tags", "ConsumedQuantity", "ConsumedUnit",
	"ListUnitPrice", "ProviderName", "ServiceProviderName", "SkuId",
	"PricingCategory", "CommitmentDiscountId",
};

static int
is_null(const char *v, size_t n)
{
	return n == 0 || (n == 4 && memcmp(v, "NULL", 4) == 0);
}

/* A decimal, or NAN when the cell is empty or NULL; -1 when not a number. */
static int
cell_num(const char *v, size_t n, double *out)
{
	char buf[64], *end;

	if (is_null(v, n)) {
		*out = NAN;
		return 0;
	}
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* "YYYY-MM-DD HH:MM:SS", ISO 8601 with T, Z, an offset, fractions. */
int
focus_parse_time(const char *v, size_t n, int64_t *out)
{
	int32_t nanos;

	return time_parse(v, n, out, &nanos);
}

static int
known_currency(const char *v, size_t n)
{
	char code[4];

	if (n != 3 || !isupper((unsigned char)v[0]) || !isupper((unsigned char)v[1]) ||
	    !isupper((unsigned char)v[2]))
		return 0;
	memcpy(code, v, 3);
	code[3] = '\0';
	return strstr(iso4217, code) != NULL;
}

static int
category_of(const char *v, size_t n)
{
	static const char *const cats[] = { "Usage", "Purchase", "Tax", "Credit",
	    "Adjustment", "Refund" };
	size_t i;

	for (i = 0; i < nitems(cats); i++)
		if (strlen(cats[i]) == n && strncasecmp(cats[i], v, n) == 0)
			return (int)i;
	return FC_OTHER;
}

/*
 * Tags as canonical JSON text (keys sorted), interned; 0 when none.  Text
 * that is not a JSON object leaves the reason in why (non-empty).
 */
static uint32_t
tags_of(struct focus_store *s, const char *v, size_t n, char *why, size_t whylen)
{
	struct json_object *o, *keys;
	char *text = NULL, *copy, err[160];
	size_t len = 0, i, k;
	FILE *f;
	uint32_t id;

	*why = '\0';
	if (is_null(v, n) || (n == 2 && memcmp(v, "{}", 2) == 0))
		return 0;
	if ((copy = strndup(v, n)) == NULL)
		return 0;
	/* Rows repeat their tag sets: parse and sort each text once. */
	if (json_object_object_get_ex(s->raw_tags, copy, &o)) {
		free(copy);
		return (uint32_t)json_object_get_int64(o);
	}
	/* The parser for all JSON from outside: strict, and UTF-8 only. */
	if ((o = rpc_parse(v, n, err, sizeof(err))) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(why, whylen, "Tags is not a JSON object%s%s", o ? "" : ": ",
		    o ? "" : err);
		json_object_put(o);
		free(copy);
		return 0;
	}
	keys = json_object_new_array();
	json_object_object_foreach(o, key, val) {
		(void)val;
		json_object_array_add(keys, json_object_new_string(key));
	}
	/* Insertion sort: tag sets are small. */
	k = json_object_array_length(keys);
	if ((f = open_memstream(&text, &len)) == NULL) {
		json_object_put(keys);
		json_object_put(o);
		free(copy);
		return 0;
	}
	fputc('{', f);
	for (i = 0; i < k; i++) {
		size_t j, best = i;

		for (j = i + 1; j < k; j++)
			if (strcmp(json_object_get_string(json_object_array_get_idx(keys, j)),
			    json_object_get_string(json_object_array_get_idx(keys, best))) < 0)
				best = j;
		if (best != i) {
			struct json_object *a = json_object_get(json_object_array_get_idx(keys, i));
			struct json_object *b = json_object_get(json_object_array_get_idx(keys, best));

			json_object_array_put_idx(keys, i, b);
			json_object_array_put_idx(keys, best, a);
		}
		fprintf(f, "%s%s:%s", i ? "," : "", json_object_to_json_string(
		    json_object_array_get_idx(keys, i)), json_object_to_json_string_ext(
		    json_object_object_get(o, json_object_get_string(
		    json_object_array_get_idx(keys, i))), JSON_C_TO_STRING_PLAIN));
	}
	fputc('}', f);
	fclose(f);
	id = intern(s, text, len);
	free(text);
	json_object_object_add(s->raw_tags, copy, json_object_new_int64((int64_t)id));
	free(copy);
	json_object_put(keys);
	json_object_put(o);
	return id;
}

/*
 * The first column read whose cell is not UTF-8, NCOLS when none is: the
 * text goes into answers written as JSON, which must be UTF-8, and a cell
 * cut or guessed at would be a different name than the bill's.
 */
static size_t
not_utf8(const struct csv *c, const int *col)
{
	size_t i;

	for (i = 0; i < NCOLS; i++)
		if (col[i] >= 0 && !utf8_valid(c->f[col[i]], c->fl[col[i]]))
			return i;
	return NCOLS;
}

static int
load(struct focus_store *s, struct csv *c, const char *name, char *err,
    size_t errlen)
{
	int col[NCOLS], rc;
	uint32_t file = intern(s, name, strlen(name));
	size_t i, j, k, ncols;
	char why[256];
	struct focus_row r;

	for (i = 0; i < NCOLS; i++)
		col[i] = -1;
	if ((rc = csv_next(c, why, sizeof(why))) <= 0)
		return errorf(err, errlen, "%s: %s", name, rc == 0 ? "empty file: no"
		    " header" : why);
	ncols = c->nf;
	for (j = 0; j < c->nf; j++) {
		const char *h = c->f[j];
		size_t hl = c->fl[j];

		/* A UTF-8 byte order mark before the first name. */
		if (j == 0 && hl >= 3 && memcmp(h, "\xef\xbb\xbf", 3) == 0)
			h += 3, hl -= 3;
		for (i = 0; i < NCOLS; i++)
			if (strlen(col_names[i]) == hl && memcmp(col_names[i], h, hl) == 0)
				col[i] = (int)j;
	}
	if (col[C_START] < 0 || col[C_END] < 0 || col[C_CURRENCY] < 0 ||
	    (col[C_BILLED] < 0 && col[C_EFFECTIVE] < 0))
		return errorf(err, errlen, "%s: not a FOCUS export: missing required"
		    " columns:%s%s%s%s", name, col[C_START] < 0 ?
		    " ChargePeriodStart" : "", col[C_END] < 0 ? " ChargePeriodEnd" : "",
		    col[C_CURRENCY] < 0 ? " BillingCurrency" : "",
		    col[C_BILLED] < 0 && col[C_EFFECTIVE] < 0 ?
		    " BilledCost-or-EffectiveCost" : "");
	while ((rc = csv_next(c, why, sizeof(why))) == 1) {
		size_t line = c->rec_line;
#define CELL(k)	(col[k] >= 0 ? c->f[col[k]] : "")
#define LEN(k)	(col[k] >= 0 ? c->fl[col[k]] : 0)

		if (c->nf == 1 && c->fl[0] == 0)
			continue;	/* a blank line */
		if (c->nf != ncols) {
			snprintf(why, sizeof(why), "%zu fields where the header has %zu",
			    c->nf, ncols);
			bad_row(s, file, line, why);
			continue;
		}
		if ((k = not_utf8(c, col)) < NCOLS) {
			snprintf(why, sizeof(why), "%s is not UTF-8 text (a FOCUS export"
			    " is UTF-8; was it saved in another encoding?)", col_names[k]);
			bad_row(s, file, line, why);
			continue;
		}
		memset(&r, 0, sizeof(r));
		if (focus_parse_time(CELL(C_START), LEN(C_START), &r.start) == -1 ||
		    focus_parse_time(CELL(C_END), LEN(C_END), &r.end) == -1) {
			bad_row(s, file, line, "ChargePeriodStart or ChargePeriodEnd is"
			    " not a date-time");
			continue;
		}
		if (r.end < r.start) {
			bad_row(s, file, line, "ChargePeriodEnd is before ChargePeriodStart");
			continue;
		}
		if (cell_num(CELL(C_BILLED), LEN(C_BILLED), &r.billed) == -1 ||
		    cell_num(CELL(C_EFFECTIVE), LEN(C_EFFECTIVE), &r.effective) == -1 ||
		    cell_num(CELL(C_LIST), LEN(C_LIST), &r.list) == -1 ||
		    cell_num(CELL(C_QUANTITY), LEN(C_QUANTITY), &r.quantity) == -1 ||
		    cell_num(CELL(C_UNIT_PRICE), LEN(C_UNIT_PRICE), &r.unit_price) == -1) {
			bad_row(s, file, line, "a cost, quantity or price is not a number");
			continue;
		}
		if (isnan(r.billed) && isnan(r.effective)) {
			bad_row(s, file, line, "neither BilledCost nor EffectiveCost is set");
			continue;
		}
		if (!known_currency(CELL(C_CURRENCY), LEN(C_CURRENCY))) {
			snprintf(why, sizeof(why), "BillingCurrency \"%.*s\" is not an"
			    " ISO 4217 code", (int)(LEN(C_CURRENCY) < 16 ? LEN(C_CURRENCY) : 16),
			    CELL(C_CURRENCY));
			bad_row(s, file, line, why);
			continue;
		}
		r.currency = intern(s, CELL(C_CURRENCY), 3);
		r.category = (uint8_t)category_of(CELL(C_CATEGORY), LEN(C_CATEGORY));
#define STR(k)	(is_null(CELL(k), LEN(k)) ? 0 : intern(s, CELL(k), LEN(k)))
		r.resource = STR(C_RESOURCE);
		r.resource_name = STR(C_RESOURCE_NAME);
		r.resource_type = STR(C_RESOURCE_TYPE);
		r.service = STR(C_SERVICE);
		r.region = STR(C_REGION) ? STR(C_REGION) : STR(C_REGION_NAME);
		r.account = STR(C_ACCOUNT);
		r.unit = STR(C_UNIT);
		r.provider = STR(C_PROVIDER) ? STR(C_PROVIDER) : STR(C_SERVICE_PROVIDER);
		r.sku = STR(C_SKU);
		r.pricing = STR(C_PRICING);
		r.commitment = STR(C_COMMITMENT);
#undef STR
		r.tags = tags_of(s, CELL(C_TAGS), LEN(C_TAGS), why, sizeof(why));
		if (*why != '\0') {
			bad_row(s, file, line, why);
			continue;
		}
		r.file = file;
		r.line = (uint32_t)line;
		if (s->n == s->cap) {
			size_t ncap = s->cap ? s->cap * 2 : 1024;
			struct focus_row *nr = reallocarray(s->rows, ncap, sizeof(*nr));

			if (nr == NULL)
				return errorf(err, errlen, "%s: out of memory", name);
			s->rows = nr;
			s->cap = ncap;
		}
		s->rows[s->n++] = r;
#undef CELL
#undef LEN
	}
	if (rc == -1)
		return errorf(err, errlen, "%s: %s", name, why);
	return 0;
}

int
focus_load_buffer(struct focus_store *s, const char *name, const char *buf,
    size_t len, char *err, size_t errlen)
{
	struct csv c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.mem = buf;
	c.memlen = len;
	c.fd = -1;
	c.line = 1;
	c.cap = CHUNK;
	if ((c.buf = malloc(c.cap)) == NULL)
		return errorf(err, errlen, "%s: out of memory", name);
	rc = load(s, &c, name, err, errlen);
	free(c.buf);
	return rc;
}

int
focus_load_file(struct focus_store *s, const char *path, char *err, size_t errlen)
{
	struct csv c;
	size_t n = strlen(path);
	int rc, gz = n > 3 && strcmp(path + n - 3, ".gz") == 0;

	memset(&c, 0, sizeof(c));
	c.line = 1;
	c.cap = CHUNK;
	if ((c.fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errorf(err, errlen, "%s: %s", path, strerror(errno));
	if (gz && (c.gz = gzdopen(c.fd, "rb")) == NULL) {
		close(c.fd);
		return errorf(err, errlen, "%s: cannot read as gzip", path);
	}
	if ((c.buf = malloc(c.cap)) == NULL) {
		if (c.gz)
			gzclose(c.gz);
		else
			close(c.fd);
		return errorf(err, errlen, "%s: out of memory", path);
	}
	rc = load(s, &c, path, err, errlen);
	free(c.buf);
	if (c.gz)
		gzclose(c.gz);	/* closes fd */
	else
		close(c.fd);
	return rc;
}

/* --- the image ------------------------------------------------------------- */

#define IMAGE_MAGIC	0x31434f464d4350ULL	/* "PCMFOC1" */
#define IMAGE_VERSION	2

struct image_hdr {
	uint64_t	magic;
	uint32_t	version, row_size;
	uint64_t	nrows, nstrs, bad_count;
	uint64_t	sorted;
	int64_t		max_span;
	uint64_t	rows_off, offs_off, blob_off, blob_len, bad_off, bad_len;
};

static size_t
align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

/* The image's header: where each part goes, and so its length. */
static void
image_layout(const struct focus_store *s, const char *bad, struct image_hdr *h)
{
	size_t i, blob = 0;

	for (i = 0; i < s->nstrs; i++)
		blob += strlen(s->strs[i]) + 1;
	memset(h, 0, sizeof(*h));
	h->magic = IMAGE_MAGIC;
	h->version = IMAGE_VERSION;
	h->row_size = sizeof(struct focus_row);
	h->nrows = s->n;
	h->nstrs = s->nstrs;
	h->bad_count = s->bad;
	h->sorted = (uint64_t)s->sorted;
	h->max_span = s->max_span;
	h->rows_off = align8(sizeof(*h));
	h->offs_off = align8(h->rows_off + s->n * sizeof(struct focus_row));
	h->blob_off = h->offs_off + s->nstrs * sizeof(uint64_t);
	h->blob_len = blob;
	h->bad_off = h->blob_off + blob;
	h->bad_len = strlen(bad) + 1;
}

size_t
focus_store_image_len(const struct focus_store *s)
{
	struct image_hdr h;

	image_layout(s, json_object_to_json_string_ext(s->bad_list,
	    JSON_C_TO_STRING_PLAIN), &h);
	return h.bad_off + h.bad_len;
}

int
focus_store_image_fill(const struct focus_store *s, void *dst, size_t len)
{
	const char *bad = json_object_to_json_string_ext(s->bad_list,
	    JSON_C_TO_STRING_PLAIN);
	struct image_hdr h;
	char *buf = dst;
	uint64_t *offs;
	size_t i, off;

	if (s->image != NULL)
		return -1;	/* a view is already an image */
	image_layout(s, bad, &h);
	if (len != h.bad_off + h.bad_len)
		return -1;
	memset(buf, 0, h.rows_off);
	memcpy(buf, &h, sizeof(h));
	if (s->n > 0)
		memcpy(buf + h.rows_off, s->rows, s->n * sizeof(struct focus_row));
	memset(buf + h.rows_off + s->n * sizeof(struct focus_row), 0,
	    h.offs_off - h.rows_off - s->n * sizeof(struct focus_row));
	offs = (uint64_t *)(void *)(buf + h.offs_off);
	for (i = 0, off = 0; i < s->nstrs; i++) {
		offs[i] = off;
		memcpy(buf + h.blob_off + off, s->strs[i], strlen(s->strs[i]) + 1);
		off += strlen(s->strs[i]) + 1;
	}
	memcpy(buf + h.bad_off, bad, h.bad_len);
	return 0;
}

int
focus_store_image(const struct focus_store *s, char **bufp, size_t *lenp)
{
	size_t len = focus_store_image_len(s);
	char *buf;

	if (s->image != NULL || (buf = malloc(len)) == NULL)
		return -1;
	if (focus_store_image_fill(s, buf, len) == -1) {
		free(buf);
		return -1;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

struct focus_store *
focus_store_view(const void *image, size_t len, char *err, size_t errlen)
{
	const char *b = image;
	struct focus_store *s;
	struct image_hdr h;
	size_t i;

	if (len < sizeof(h)) {
		errorf(err, errlen, "billing image: too short");
		return NULL;
	}
	memcpy(&h, b, sizeof(h));
	if (h.magic != IMAGE_MAGIC || h.version != IMAGE_VERSION ||
	    h.row_size != sizeof(struct focus_row)) {
		errorf(err, errlen, "billing image: not this version's");
		return NULL;
	}
	if (h.rows_off + h.nrows * sizeof(struct focus_row) > len ||
	    h.offs_off + h.nstrs * sizeof(uint64_t) > len ||
	    h.blob_off + h.blob_len > len || h.bad_off + h.bad_len > len ||
	    h.bad_len == 0 || b[h.bad_off + h.bad_len - 1] != '\0' ||
	    (h.blob_len > 0 && b[h.blob_off + h.blob_len - 1] != '\0')) {
		errorf(err, errlen, "billing image: out of bounds");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errorf(err, errlen, "out of memory");
		return NULL;
	}
	s->image = b;
	s->irows = (const struct focus_row *)(const void *)(b + h.rows_off);
	s->ioffs = (const uint64_t *)(const void *)(b + h.offs_off);
	s->iblob = b + h.blob_off;
	s->n = h.nrows;
	s->nstrs = h.nstrs;
	s->sorted = h.sorted != 0;
	s->max_span = h.max_span;
	/* Bad rows are few: kept as the store keeps them. */
	s->bad = h.bad_count;
	s->bad_list = json_tokener_parse(b + h.bad_off);
	for (i = 0; i < s->nstrs; i++)
		if (s->ioffs[i] >= h.blob_len) {
			focus_store_free(s);
			errorf(err, errlen, "billing image: a string out of bounds");
			return NULL;
		}
	for (i = 0; i < s->n; i++) {
		const struct focus_row *r = &s->irows[i];

		if (r->resource >= s->nstrs || r->resource_name >= s->nstrs ||
		    r->resource_type >= s->nstrs || r->service >= s->nstrs ||
		    r->region >= s->nstrs || r->account >= s->nstrs ||
		    r->currency >= s->nstrs || r->tags >= s->nstrs ||
		    r->unit >= s->nstrs || r->provider >= s->nstrs ||
		    r->file >= s->nstrs || r->sku >= s->nstrs ||
		    r->pricing >= s->nstrs || r->commitment >= s->nstrs) {
			focus_store_free(s);
			errorf(err, errlen, "billing image: row %zu names a string"
			    " out of bounds", i);
			return NULL;
		}
		/* The time index must hold, or a window would miss rows. */
		if (s->sorted && (r->end - r->start > s->max_span || r->end < r->start ||
		    (i > 0 && r->start < s->irows[i - 1].start))) {
			focus_store_free(s);
			errorf(err, errlen, "billing image: row %zu breaks the time"
			    " index", i);
			return NULL;
		}
	}
	return s;
}
