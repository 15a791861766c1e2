#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/util.h"
#include "pb.h"

#define MAX_DEPTH	32

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* --- buffers --------------------------------------------------------------- */

void
pb_buf_free(struct pb_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
reserve(struct pb_buf *b, size_t n)
{
	uint8_t *np;
	size_t cap;

	if (b->len + n <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : 64; cap < b->len + n; cap *= 2)
		;
	if ((np = realloc(b->p, cap)) == NULL)
		return -1;
	b->p = np;
	b->cap = cap;
	return 0;
}

int
pb_put_bytes(struct pb_buf *b, const void *p, size_t n)
{
	if (reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
pb_put_varint(struct pb_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return pb_put_bytes(b, tmp, n);
}

static int
put_tag(struct pb_buf *b, uint32_t num, int wt)
{
	return pb_put_varint(b, ((uint64_t)num << 3) | (uint64_t)wt);
}

static int
put_fixed(struct pb_buf *b, uint64_t v, size_t n)
{
	uint8_t tmp[8];
	size_t i;

	for (i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	return pb_put_bytes(b, tmp, n);
}

static int
put_len(struct pb_buf *b, uint32_t num, const void *p, size_t n)
{
	return put_tag(b, num, WT_LEN) == -1 || pb_put_varint(b, n) == -1 ||
	    pb_put_bytes(b, p, n) == -1 ? -1 : 0;
}

/* --- encoding ------------------------------------------------------------- */

struct enc {
	char	*why;
	size_t	 whylen;
	char	 path[256];
};

static int	encode_msg(struct enc *, const struct pb_msg *, struct json_object *,
		    struct pb_buf *, int);
static int	encode_struct(struct enc *, struct json_object *, struct pb_buf *, int);

static int
efail(struct enc *e, const char *fmt, const char *name)
{
	snprintf(e->why, e->whylen, "%s%s%s: %s", e->path, *e->path ? "." : "",
	    name, fmt);
	return -1;
}

static int
is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double);
}

static int
enum_value(const struct pb_field *f, struct json_object *v, int64_t *out)
{
	size_t i;

	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) || f->enums == NULL)
		return -1;
	for (i = 0; f->enums[i] != NULL; i++)
		if (strcmp(f->enums[i], json_object_get_string(v)) == 0) {
			*out = (int64_t)i;
			return 0;
		}
	return -1;
}

/* A scalar's value, into b without a tag (packed) or with one. */
static int
encode_scalar(struct enc *e, const struct pb_field *f, struct json_object *v,
    struct pb_buf *b, int tagged)
{
	int64_t iv = 0;
	double dv;
	float fv;
	uint64_t bits;
	uint32_t b32;

	switch (f->type) {
	case PB_DOUBLE:
	case PB_FLOAT:
		if (!is_number(v))
			return efail(e, "expected a number", f->name);
		dv = json_object_get_double(v);
		if (f->type == PB_DOUBLE) {
			memcpy(&bits, &dv, 8);
			return (tagged && put_tag(b, f->num, WT_I64) == -1) ||
			    put_fixed(b, bits, 8) == -1 ? -1 : 0;
		}
		fv = (float)dv;
		memcpy(&b32, &fv, 4);
		return (tagged && put_tag(b, f->num, WT_I32) == -1) ||
		    put_fixed(b, b32, 4) == -1 ? -1 : 0;
	case PB_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return efail(e, "expected true or false", f->name);
		iv = json_object_get_boolean(v);
		break;
	case PB_ENUM:
		if (enum_value(f, v, &iv) == -1)
			return efail(e, "not a value of the enum", f->name);
		break;
	default:
		if (!json_object_is_type(v, json_type_int) &&
		    !json_object_is_type(v, json_type_string))
			return efail(e, "expected an integer", f->name);
		iv = json_object_get_int64(v);
		if ((f->type == PB_UINT32 || f->type == PB_UINT64) && iv < 0)
			return efail(e, "expected an unsigned integer", f->name);
		if ((f->type == PB_INT32 || f->type == PB_UINT32) &&
		    (iv > (f->type == PB_INT32 ? INT32_MAX : (int64_t)UINT32_MAX) ||
		    iv < (f->type == PB_INT32 ? INT32_MIN : 0)))
			return efail(e, "out of the 32-bit range", f->name);
		break;
	}
	return (tagged && put_tag(b, f->num, WT_VARINT) == -1) ||
	    pb_put_varint(b, (uint64_t)iv) == -1 ? -1 : 0;
}

static int
encode_map_entry(struct enc *e, const struct pb_field *f, const char *k,
    struct json_object *v, struct pb_buf *b, int depth)
{
	struct pb_buf entry = { NULL, 0, 0 }, sub = { NULL, 0, 0 };
	int rc = -1;

	if (put_len(&entry, 1, k, strlen(k)) == -1)
		goto out;
	switch (f->type) {
	case PB_MAP_SS:
		if (!json_object_is_type(v, json_type_string)) {
			efail(e, "map values must be strings", f->name);
			goto out;
		}
		if (put_len(&entry, 2, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v)) == -1)
			goto out;
		break;
	case PB_MAP_SB:
		if (!json_object_is_type(v, json_type_boolean)) {
			efail(e, "map values must be true or false", f->name);
			goto out;
		}
		if (put_tag(&entry, 2, WT_VARINT) == -1 ||
		    pb_put_varint(&entry, (uint64_t)json_object_get_boolean(v)) == -1)
			goto out;
		break;
	default:
		if (encode_msg(e, f->msg, v, &sub, depth + 1) == -1 ||
		    put_len(&entry, 2, sub.p, sub.len) == -1)
			goto out;
		break;
	}
	rc = put_len(b, f->num, entry.p, entry.len);
out:
	pb_buf_free(&entry);
	pb_buf_free(&sub);
	return rc;
}

static int
encode_value(struct enc *e, const struct pb_field *f, struct json_object *v,
    struct pb_buf *b, int depth)
{
	struct pb_buf sub = { NULL, 0, 0 };
	int64_t sec;
	int32_t ns;
	int rc;

	switch (f->type) {
	case PB_STRING:
		if (!json_object_is_type(v, json_type_string))
			return efail(e, "expected a string", f->name);
		return put_len(b, f->num, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case PB_BYTES: {
		size_t in = json_object_is_type(v, json_type_string) ?
		    (size_t)json_object_get_string_len(v) : 0;
		unsigned char *raw = malloc(in + 1);
		ssize_t n;

		if (raw == NULL || !json_object_is_type(v, json_type_string) ||
		    (n = base64_decode(json_object_get_string(v), in, raw, in + 1)) < 0) {
			free(raw);
			return efail(e, "expected base64 bytes", f->name);
		}
		rc = put_len(b, f->num, raw, (size_t)n);
		free(raw);
		return rc;
	}
	case PB_MESSAGE:
		rc = encode_msg(e, f->msg, v, &sub, depth + 1);
		if (rc == 0)
			rc = put_len(b, f->num, sub.p, sub.len);
		pb_buf_free(&sub);
		return rc;
	case PB_TIMESTAMP:
		if (!json_object_is_type(v, json_type_string) ||
		    time_parse(json_object_get_string(v), (size_t)json_object_get_string_len(v),
		    &sec, &ns) == -1)
			return efail(e, "expected an RFC 3339 time", f->name);
		rc = (sec != 0 && (put_tag(&sub, 1, WT_VARINT) == -1 ||
		    pb_put_varint(&sub, (uint64_t)sec) == -1)) ||
		    (ns != 0 && (put_tag(&sub, 2, WT_VARINT) == -1 ||
		    pb_put_varint(&sub, (uint64_t)ns) == -1)) ? -1 :
		    put_len(b, f->num, sub.p, sub.len);
		pb_buf_free(&sub);
		return rc;
	case PB_STRUCT:
		rc = encode_struct(e, v, &sub, depth + 1);
		if (rc == 0)
			rc = put_len(b, f->num, sub.p, sub.len);
		pb_buf_free(&sub);
		return rc;
	default:
		return encode_scalar(e, f, v, b, 1);
	}
}

/* google.protobuf.Value of any JSON value. */
static int
encode_json_value(struct enc *e, struct json_object *v, struct pb_buf *b, int depth)
{
	struct pb_buf sub = { NULL, 0, 0 }, item = { NULL, 0, 0 };
	double d;
	uint64_t bits;
	size_t i;
	int rc = 0;

	if (depth > MAX_DEPTH)
		return efail(e, "nested too deeply", "value");
	switch (json_object_get_type(v)) {
	case json_type_null:
		return put_tag(b, 1, WT_VARINT) == -1 || pb_put_varint(b, 0) == -1 ? -1 : 0;
	case json_type_boolean:
		return put_tag(b, 4, WT_VARINT) == -1 ||
		    pb_put_varint(b, (uint64_t)json_object_get_boolean(v)) == -1 ? -1 : 0;
	case json_type_int:
	case json_type_double:
		d = json_object_get_double(v);
		memcpy(&bits, &d, 8);
		return put_tag(b, 2, WT_I64) == -1 || put_fixed(b, bits, 8) == -1 ? -1 : 0;
	case json_type_string:
		return put_len(b, 3, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case json_type_object:
		rc = encode_struct(e, v, &sub, depth + 1);
		if (rc == 0)
			rc = put_len(b, 5, sub.p, sub.len);
		break;
	case json_type_array:
		for (i = 0; rc == 0 && i < json_object_array_length(v); i++) {
			item.len = 0;
			rc = encode_json_value(e, json_object_array_get_idx(v, i), &item,
			    depth + 1);
			if (rc == 0)
				rc = put_len(&sub, 1, item.p, item.len);
		}
		if (rc == 0)
			rc = put_len(b, 6, sub.p, sub.len);
		break;
	}
	pb_buf_free(&sub);
	pb_buf_free(&item);
	return rc;
}

static int
encode_struct(struct enc *e, struct json_object *o, struct pb_buf *b, int depth)
{
	struct pb_buf entry = { NULL, 0, 0 }, val = { NULL, 0, 0 };
	int rc = 0;

	if (!json_object_is_type(o, json_type_object))
		return efail(e, "expected an object", "struct");
	json_object_object_foreach(o, k, v) {
		entry.len = val.len = 0;
		if (rc == 0)
			rc = put_len(&entry, 1, k, strlen(k)) == -1 ||
			    encode_json_value(e, v, &val, depth + 1) == -1 ||
			    put_len(&entry, 2, val.p, val.len) == -1 ||
			    put_len(b, 1, entry.p, entry.len) == -1 ? -1 : 0;
	}
	pb_buf_free(&entry);
	pb_buf_free(&val);
	return rc;
}

static const struct pb_field *
field_by_name(const struct pb_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (strcmp(m->fields[i].name, name) == 0)
			return &m->fields[i];
	return NULL;
}

static int
packable(const struct pb_field *f)
{
	return f->type != PB_STRING && f->type != PB_BYTES && f->type != PB_MESSAGE &&
	    f->type != PB_TIMESTAMP && f->type != PB_STRUCT;
}

static int
encode_field(struct enc *e, const struct pb_field *f, struct json_object *v,
    struct pb_buf *b, int depth)
{
	struct pb_buf packed = { NULL, 0, 0 };
	size_t i, n;
	int rc = 0;

	if (json_object_is_type(v, json_type_null))
		return 0;
	if (f->type == PB_MAP_SS || f->type == PB_MAP_SB || f->type == PB_MAP_SM) {
		if (!json_object_is_type(v, json_type_object))
			return efail(e, "expected an object (a map)", f->name);
		json_object_object_foreach(v, k, mv)
			if (rc == 0)
				rc = encode_map_entry(e, f, k, mv, b, depth);
		return rc;
	}
	if (!f->repeated)
		return encode_value(e, f, v, b, depth);
	if (!json_object_is_type(v, json_type_array))
		return efail(e, "expected an array", f->name);
	n = json_object_array_length(v);
	if (!packable(f)) {
		for (i = 0; rc == 0 && i < n; i++)
			rc = encode_value(e, f, json_object_array_get_idx(v, i), b, depth);
		return rc;
	}
	/* proto3 packs repeated scalars. */
	for (i = 0; rc == 0 && i < n; i++)
		rc = encode_scalar(e, f, json_object_array_get_idx(v, i), &packed, 0);
	if (rc == 0 && n > 0)
		rc = put_len(b, f->num, packed.p, packed.len);
	pb_buf_free(&packed);
	return rc;
}

static int
encode_msg(struct enc *e, const struct pb_msg *m, struct json_object *in,
    struct pb_buf *b, int depth)
{
	const struct pb_field *f;
	size_t plen = strlen(e->path);
	int rc = 0;

	if (depth > MAX_DEPTH)
		return efail(e, "nested too deeply", m->name);
	if (in == NULL)
		return 0;
	if (!json_object_is_type(in, json_type_object))
		return efail(e, "expected an object", m->name);
	json_object_object_foreach(in, k, v) {
		if (rc != 0)
			break;
		if ((f = field_by_name(m, k)) == NULL) {
			snprintf(e->why, e->whylen, "%s%s%s: no such field in %s", e->path,
			    *e->path ? "." : "", k, m->name);
			return -1;
		}
		/* Messages extend the path errors name; scalars name themselves. */
		if (f->type == PB_MESSAGE || f->type == PB_MAP_SM)
			snprintf(e->path + plen, sizeof(e->path) - plen, "%s%s",
			    plen ? "." : "", k);
		rc = encode_field(e, f, v, b, depth);
		e->path[plen] = '\0';
	}
	return rc;
}

int
pb_encode(const struct pb_msg *m, struct json_object *in, struct pb_buf *out,
    char *why, size_t whylen)
{
	struct enc e;

	memset(&e, 0, sizeof(e));
	e.why = why;
	e.whylen = whylen;
	if (encode_msg(&e, m, in, out, 0) == -1) {
		if (*why == '\0')
			snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

/* --- decoding ------------------------------------------------------------- */

struct rd {
	const uint8_t	*p, *end;
};

static int
get_varint(struct rd *r, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (r->p < r->end && shift < 64) {
		uint8_t c = *r->p++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

static int
get_fixed(struct rd *r, size_t n, uint64_t *v)
{
	size_t i;

	if ((size_t)(r->end - r->p) < n)
		return -1;
	for (*v = 0, i = 0; i < n; i++)
		*v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return 0;
}

static int
get_len(struct rd *r, struct rd *sub)
{
	uint64_t n;

	if (get_varint(r, &n) == -1 || n > (uint64_t)(r->end - r->p))
		return -1;
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return 0;
}

static int
skip(struct rd *r, int wt)
{
	struct rd sub;
	uint64_t v;

	switch (wt) {
	case WT_VARINT:
		return get_varint(r, &v);
	case WT_I64:
		return get_fixed(r, 8, &v);
	case WT_I32:
		return get_fixed(r, 4, &v);
	case WT_LEN:
		return get_len(r, &sub);
	default:
		return -1;	/* groups are gone from proto3 */
	}
}

/*
 * proto3 strings and map keys must be UTF-8 (protobuf's own parsers refuse
 * those that are not), and what a plugin says reaches answers written as
 * JSON: text that is not UTF-8 makes the message malformed.  NULL then.
 */
static struct json_object *
string_of(const struct rd *s)
{
	size_t n = (size_t)(s->end - s->p);

	if (n > INT32_MAX || !utf8_valid((const char *)s->p, n))
		return NULL;
	return json_object_new_string_len((const char *)s->p, (int)n);
}

static char *
key_of(const struct rd *s)
{
	size_t n = (size_t)(s->end - s->p);

	if (!utf8_valid((const char *)s->p, n) || memchr(s->p, '\0', n) != NULL)
		return NULL;
	return strndup((const char *)s->p, n);
}

static struct json_object *decode_msg(const struct pb_msg *, struct rd *, int,
		    char *, size_t);
static struct json_object *decode_struct(struct rd *, int);

static struct json_object *
scalar_json(const struct pb_field *f, uint64_t raw)
{
	double d;
	float fl;
	uint32_t u32;

	switch (f->type) {
	case PB_DOUBLE:
		memcpy(&d, &raw, 8);
		return isfinite(d) ? json_object_new_double(d) : json_object_new_null();
	case PB_FLOAT:
		u32 = (uint32_t)raw;
		memcpy(&fl, &u32, 4);
		return isfinite(fl) ? json_object_new_double(fl) : json_object_new_null();
	case PB_BOOL:
		return json_object_new_boolean(raw != 0);
	case PB_INT32:
		return json_object_new_int((int32_t)(uint32_t)raw);
	case PB_UINT32:
		return json_object_new_int64((int64_t)(uint32_t)raw);
	case PB_ENUM: {
		size_t i;

		for (i = 0; f->enums != NULL && f->enums[i] != NULL; i++)
			if (i == raw)
				return json_object_new_string(f->enums[i]);
		return json_object_new_int((int32_t)(uint32_t)raw);
	}
	default:
		return json_object_new_int64((int64_t)raw);
	}
}

static int
scalar_wire(const struct pb_field *f)
{
	return f->type == PB_DOUBLE ? WT_I64 : f->type == PB_FLOAT ? WT_I32 : WT_VARINT;
}

static int
read_scalar(const struct pb_field *f, struct rd *r, uint64_t *raw)
{
	int wt = scalar_wire(f);

	return wt == WT_VARINT ? get_varint(r, raw) : get_fixed(r, wt == WT_I64 ? 8 : 4, raw);
}

static void
put_member(struct json_object *o, const struct pb_field *f, struct json_object *v)
{
	struct json_object *arr;

	if (!f->repeated) {
		json_object_object_add(o, f->name, v);
		return;
	}
	if (!json_object_object_get_ex(o, f->name, &arr)) {
		arr = json_object_new_array();
		json_object_object_add(o, f->name, arr);
	}
	json_object_array_add(arr, v);
}

static struct json_object *
decode_timestamp(struct rd *r)
{
	uint64_t tag, v, sec = 0, ns = 0;
	char buf[64], day[40], frac[16] = "";
	struct tm tm;
	time_t t;

	while (r->p < r->end) {
		if (get_varint(r, &tag) == -1)
			return NULL;
		if ((tag & 7) != WT_VARINT) {
			if (skip(r, (int)(tag & 7)) == -1)
				return NULL;
			continue;
		}
		if (get_varint(r, &v) == -1)
			return NULL;
		if ((tag >> 3) == 1)
			sec = v;
		else if ((tag >> 3) == 2)
			ns = v;
	}
	t = (time_t)(int64_t)sec;
	if (gmtime_r(&t, &tm) == NULL || ns >= 1000000000)
		return NULL;
	if (ns != 0)
		snprintf(frac, sizeof(frac), ".%09u", (unsigned)ns);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s%sZ", day, frac);
	return json_object_new_string(buf);
}

/*
 * google.protobuf.Value into *out: 0, or -1 when malformed (json-c's null
 * is NULL, so the result cannot say both).
 */
static int
decode_value(struct rd *r, int depth, struct json_object **out)
{
	struct json_object *v = NULL, *arr;
	struct rd sub, item;
	uint64_t tag, raw;
	double d;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return -1;
	while (r->p < r->end) {
		if (get_varint(r, &tag) == -1)
			goto bad;
		json_object_put(v);
		v = NULL;
		switch (tag) {
		case (1 << 3) | WT_VARINT:
			if (get_varint(r, &raw) == -1)
				goto bad;
			v = json_object_new_null();
			break;
		case (2 << 3) | WT_I64:
			if (get_fixed(r, 8, &raw) == -1)
				goto bad;
			memcpy(&d, &raw, 8);
			v = json_object_new_double(d);
			break;
		case (3 << 3) | WT_LEN:
			if (get_len(r, &sub) == -1 || (v = string_of(&sub)) == NULL)
				goto bad;
			break;
		case (4 << 3) | WT_VARINT:
			if (get_varint(r, &raw) == -1)
				goto bad;
			v = json_object_new_boolean(raw != 0);
			break;
		case (5 << 3) | WT_LEN:
			if (get_len(r, &sub) == -1 || (v = decode_struct(&sub, depth + 1)) == NULL)
				goto bad;
			break;
		case (6 << 3) | WT_LEN:
			if (get_len(r, &sub) == -1)
				goto bad;
			v = arr = json_object_new_array();
			while (sub.p < sub.end) {
				struct json_object *e;

				if (get_varint(&sub, &tag) == -1 || tag != ((1 << 3) | WT_LEN) ||
				    get_len(&sub, &item) == -1 ||
				    decode_value(&item, depth + 1, &e) == -1)
					goto bad;
				json_object_array_add(arr, e);
			}
			break;
		default:
			if (skip(r, (int)(tag & 7)) == -1)
				goto bad;
		}
	}
	*out = v;
	return 0;
bad:
	json_object_put(v);
	return -1;
}

static struct json_object *
decode_struct(struct rd *r, int depth)
{
	struct json_object *o = json_object_new_object(), *v;
	struct rd entry, sub;
	uint64_t tag;
	char *key;

	if (depth > MAX_DEPTH)
		goto bad;
	while (r->p < r->end) {
		if (get_varint(r, &tag) == -1)
			goto bad;
		if (tag != ((1 << 3) | WT_LEN)) {
			if (skip(r, (int)(tag & 7)) == -1)
				goto bad;
			continue;
		}
		if (get_len(r, &entry) == -1)
			goto bad;
		key = NULL;
		v = NULL;
		while (entry.p < entry.end) {
			if (get_varint(&entry, &tag) == -1 || (tag & 7) != WT_LEN ||
			    get_len(&entry, &sub) == -1)
				goto bad_entry;
			if (tag >> 3 == 1) {
				free(key);
				if ((key = key_of(&sub)) == NULL)
					goto bad_entry;
			} else if (tag >> 3 == 2) {
				json_object_put(v);
				if (decode_value(&sub, depth + 1, &v) == -1)
					goto bad_entry;
			}
		}
		if (key != NULL)
			json_object_object_add(o, key, v ? v : json_object_new_null());
		else
			json_object_put(v);
		free(key);
	}
	return o;
bad_entry:
	free(key);
	json_object_put(v);
bad:
	json_object_put(o);
	return NULL;
}

static int
decode_map_entry(const struct pb_field *f, struct rd *r, struct json_object *o,
    int depth, char *why, size_t whylen)
{
	struct json_object *mo, *v = NULL;
	struct rd sub;
	uint64_t tag, raw;
	char *key = NULL;

	while (r->p < r->end) {
		if (get_varint(r, &tag) == -1)
			goto bad;
		if (tag == ((1 << 3) | WT_LEN) && get_len(r, &sub) == 0) {
			free(key);
			if ((key = key_of(&sub)) == NULL)
				goto text;
		} else if (tag >> 3 == 2 && f->type == PB_MAP_SS && (tag & 7) == WT_LEN &&
		    get_len(r, &sub) == 0) {
			json_object_put(v);
			if ((v = string_of(&sub)) == NULL)
				goto text;
		} else if (tag >> 3 == 2 && f->type == PB_MAP_SB && (tag & 7) == WT_VARINT &&
		    get_varint(r, &raw) == 0) {
			json_object_put(v);
			v = json_object_new_boolean(raw != 0);
		} else if (tag >> 3 == 2 && f->type == PB_MAP_SM && (tag & 7) == WT_LEN &&
		    get_len(r, &sub) == 0) {
			json_object_put(v);
			if ((v = decode_msg(f->msg, &sub, depth + 1, why, whylen)) == NULL)
				goto bad;
		} else if (tag >> 3 == 1 || tag >> 3 == 2 || skip(r, (int)(tag & 7)) == -1)
			goto bad;
	}
	if (!json_object_object_get_ex(o, f->name, &mo)) {
		mo = json_object_new_object();
		json_object_object_add(o, f->name, mo);
	}
	json_object_object_add(mo, key ? key : "", v ? v : f->type == PB_MAP_SS ?
	    json_object_new_string("") : f->type == PB_MAP_SB ?
	    json_object_new_boolean(0) : json_object_new_object());
	free(key);
	return 0;
text:
	snprintf(why, whylen, "%s: a key or value is not UTF-8", f->name);
bad:
	free(key);
	json_object_put(v);
	return -1;
}

static const struct pb_field *
field_by_num(const struct pb_msg *m, uint32_t num)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].num == num)
			return &m->fields[i];
	return NULL;
}

static int
decode_field(const struct pb_field *f, int wt, struct rd *r, struct json_object *o,
    int depth, char *why, size_t whylen)
{
	struct json_object *v = NULL;
	struct rd sub;
	uint64_t raw;

	if (f->type == PB_MAP_SS || f->type == PB_MAP_SB || f->type == PB_MAP_SM)
		return wt == WT_LEN && get_len(r, &sub) == 0 ?
		    decode_map_entry(f, &sub, o, depth, why, whylen) : -1;
	if (packable(f) && f->type != PB_MAP_SS) {
		if (wt == WT_LEN && f->repeated) {
			/* Packed. */
			if (get_len(r, &sub) == -1)
				return -1;
			while (sub.p < sub.end) {
				if (read_scalar(f, &sub, &raw) == -1)
					return -1;
				put_member(o, f, scalar_json(f, raw));
			}
			return 0;
		}
		if (wt != scalar_wire(f) || read_scalar(f, r, &raw) == -1)
			return -1;
		put_member(o, f, scalar_json(f, raw));
		return 0;
	}
	if (wt != WT_LEN || get_len(r, &sub) == -1)
		return -1;
	switch (f->type) {
	case PB_STRING:
		if ((v = string_of(&sub)) == NULL)
			snprintf(why, whylen, "%s: not UTF-8", f->name);
		break;
	case PB_BYTES: {
		size_t n = (size_t)(sub.end - sub.p), cap = (n + 2) / 3 * 4 + 1;
		char *b64 = malloc(cap);
		ssize_t k;

		v = b64 != NULL && (k = base64_encode(sub.p, n, b64, cap)) >= 0 ?
		    json_object_new_string_len(b64, (int)k) : NULL;
		free(b64);
		break;
	}
	case PB_TIMESTAMP:
		v = decode_timestamp(&sub);
		break;
	case PB_STRUCT:
		v = decode_struct(&sub, depth + 1);
		break;
	default:
		v = decode_msg(f->msg, &sub, depth + 1, why, whylen);
		break;
	}
	if (v == NULL)
		return -1;
	put_member(o, f, v);
	return 0;
}

static struct json_object *
decode_msg(const struct pb_msg *m, struct rd *r, int depth, char *why, size_t whylen)
{
	struct json_object *o;
	const struct pb_field *f;
	uint64_t tag;

	if (depth > MAX_DEPTH) {
		snprintf(why, whylen, "%s: nested too deeply", m->name);
		return NULL;
	}
	o = json_object_new_object();
	while (r->p < r->end) {
		if (get_varint(r, &tag) == -1 || (tag >> 3) == 0 || (tag >> 3) > 536870911)
			goto bad;
		if ((f = field_by_num(m, (uint32_t)(tag >> 3))) == NULL) {
			if (skip(r, (int)(tag & 7)) == -1)
				goto bad;
			continue;
		}
		if (decode_field(f, (int)(tag & 7), r, o, depth, why, whylen) == -1) {
			if (*why == '\0')
				snprintf(why, whylen, "%s.%s: malformed", m->name, f->name);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
bad:
	if (*why == '\0')
		snprintf(why, whylen, "%s: malformed protocol buffer", m->name);
	json_object_put(o);
	return NULL;
}

struct json_object *
pb_decode(const struct pb_msg *m, const uint8_t *p, size_t len, char *why,
    size_t whylen)
{
	struct rd r = { p, p + len };

	*why = '\0';
	return decode_msg(m, &r, 0, why, whylen);
}
