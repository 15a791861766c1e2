#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jtext.h"
#include "util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* AVX-512 where the compiler can target it; used where the processor has it. */
#if defined(__SSE2__) && defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define JTEXT_WIDE 1
#include <immintrin.h>
#endif

struct parser {
	const unsigned char	*buf, *p, *end;
	int			 depth, max_depth;
	int			 build;		/* 0: check only */
	char			*scratch;	/* decoded strings, numbers' text */
	size_t			 cap;
	struct jtext_error	*err;
};

/* The AVX-512 path: -1 until the first string with an escape asks. */
static int	 wide = -1;

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

static int
fail(struct parser *j, const unsigned char *at, const char *what)
{
	j->err->incomplete = 0;
	j->err->at = (size_t)(at - j->buf);
	j->err->what = what;
	return -1;
}

static int
incomplete(struct parser *j)
{
	j->err->incomplete = 1;
	j->err->at = (size_t)(j->end - j->buf);
	j->err->what = "incomplete JSON";
	return -1;
}

static void
skip_ws(struct parser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' ||
	    *j->p == '\t'))
		j->p++;
}

static int
reserve(struct parser *j, size_t n)
{
	char *s;
	size_t cap;

	if (n <= j->cap)
		return 0;
	for (cap = j->cap ? j->cap : 256; cap < n; cap *= 2)
		;
	if ((s = realloc(j->scratch, cap)) == NULL)
		return fail(j, j->p, "out of memory");
	j->scratch = s;
	j->cap = cap;
	return 0;
}

/* Whether the text ends inside a sequence that could still be valid. */
static int
utf8_cut(const unsigned char *p, const unsigned char *end)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2, i;

	if (*p < 0xc2 || *p > 0xf4 || (size_t)(end - p) >= n)
		return 0;
	for (i = 1; p + i < end; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

static int
hex4(const unsigned char *p, uint32_t *v)
{
	int i;

	for (*v = 0, i = 0; i < 4; i++) {
		unsigned char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

static char *
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | (cp >> 12));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | (cp >> 18));
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Room for n more bytes of output at *o, in scratch. */
static int
room(struct parser *j, char **o, size_t n)
{
	size_t off = (size_t)(*o - j->scratch);

	if (off + n <= j->cap)
		return 0;
	if (reserve(j, 2 * (off + n)) == -1)
		return -1;
	*o = j->scratch + off;
	return 0;
}

/* An escape at p (a backslash) checked, and decoded at *o when o is set. */
static int
escape(struct parser *j, const unsigned char **pp, char **o)
{
	const unsigned char *p = *pp;
	uint32_t u, lo;

	if (j->end - p < 2)
		return incomplete(j);
	switch (p[1]) {
	case '"': case '\\': case '/':
		u = p[1];
		break;
	case 'b': u = '\b'; break;
	case 'f': u = '\f'; break;
	case 'n': u = '\n'; break;
	case 'r': u = '\r'; break;
	case 't': u = '\t'; break;
	case 'u':
		if (j->end - p < 6)
			return incomplete(j);
		if (hex4(p + 2, &u) == -1)
			return fail(j, p + 1, "invalid string sequence");
		if (u >= 0xd800 && u <= 0xdbff && j->end - p >= 12 && p[6] == '\\' &&
		    p[7] == 'u' && hex4(p + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if (u >= 0xd800 && u <= 0xdfff)
			u = 0xfffd;	/* unpaired, as json-c has it */
		*o = put_utf8(*o, u);
		*pp = p + 6;
		return 0;
	default:
		return fail(j, p + 1, "invalid string sequence");
	}
	*(*o)++ = (char)u;
	*pp = p + 2;
	return 0;
}

/*
 * Bit i set when byte i of the sixteen at p is a quote, a backslash, a
 * control character or not ASCII: SSE2 where there is SSE2, else two
 * eight-byte words (then only the lowest bit set is exact, which is all
 * the callers use).
 */
static inline unsigned
special16(const unsigned char *p)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
	    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));	/* signed: >= 0x80 too */

	return (unsigned)_mm_movemask_epi8(m);
#else
	uint64_t w, q, b, hit;
	int k;

	for (k = 0; k < 2; k++) {
		memcpy(&w, p + 8 * k, sizeof(w));
		q = w ^ (ONES * '"');
		b = w ^ (ONES * '\\');
		hit = (((q - ONES) & ~q) | ((b - ONES) & ~b) |
		    ((w - ONES * 0x20) & ~w) | w) & HIGHS;
		if (hit != 0)
			return 1u << (8 * k + __builtin_ctzll(hit) / 8);
	}
	return 0;
#endif
}

#define BLOCK		64
#define BLOCK_READ	(BLOCK + 16)	/* what a block reads and writes, at most */
#define SCRATCH_AT_ONCE	(256 * 1024)

#ifdef __SSE2__

/* n (at most BLOCK) bytes from s to o, sixteen at a time: over-reads and
 * over-writes up to 16 bytes, which the caller has room for. */
static inline void
copy16s(char *o, const unsigned char *s, size_t n)
{
	size_t k;

	memcpy(o, s, 16);
	for (k = 16; k < n; k += 16)
		memcpy(o + k, s + k, 16);
}

/* The 64-bit mask of the bytes of v[0..3] equal to c. */
static inline uint64_t
mask64(const __m128i v[4], char c)
{
	__m128i x = _mm_set1_epi8(c);

	return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], x)) |
	    (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[1], x)) << 16 |
	    (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[2], x)) << 32 |
	    (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v[3], x)) << 48;
}

/*
 * The bytes of a block escaped by a backslash (simdjson's branchless
 * find_escaped): in each run of backslashes every second one, and the
 * byte after a run of odd length.  Adding a run's first bit to the run
 * carries past its end; counted from an even place, the escaped bytes are
 * at odd places, and the other way round.  *carry comes in set when the
 * previous block's last backslash escapes this block's first byte, and
 * goes out so for the next; blocks stay BLOCK bytes apart, and none waits
 * for the one before it to be scanned.
 */
static inline uint64_t
escaped_bytes(uint64_t bslash, uint64_t *carry)
{
	const uint64_t even = 0x5555555555555555ULL;
	uint64_t follows, odd_starts, from_even;

	bslash &= ~*carry;
	follows = bslash << 1 | *carry;
	odd_starts = bslash & ~even & ~follows;
	*carry = __builtin_add_overflow(odd_starts, bslash, &from_even);
	return (even ^ (from_even << 1)) & follows;
}

/* The BLOCK bytes at p but those of drop, packed at o: their number. */
static size_t
pack_runs(const unsigned char *p, uint64_t drop, char *o)
{
	size_t prev = 0, out = 0, i;

	for (; drop != 0; drop &= drop - 1) {
		i = (size_t)__builtin_ctzll(drop);
		copy16s(o + out, p + prev, i - prev);
		out += i - prev;
		prev = i + 1;
	}
	copy16s(o + out, p + prev, BLOCK - prev);
	return out + BLOCK - prev;
}

/*
 * The escapes of a block (its quote, backslash and slash masks) checked:
 * it holds only text and \" \\ \/, and no quote ends the string in it.
 * Then 1 with drop, the backslashes not written (those that escape, the
 * last one's escape perhaps in the next block), and *carry for the next
 * block; else 0, *carry as it was.
 */
static inline int
plain_masks(uint64_t quote, uint64_t bslash, uint64_t slash, uint64_t *carry,
    uint64_t *drop)
{
	uint64_t c = *carry, escaped = escaped_bytes(bslash, &c);

	if ((quote & ~escaped) != 0 || (escaped & ~(quote | bslash | slash)) != 0)
		return 0;
	*drop = escaped >> 1 | c << 63;
	*carry = c;
	return 1;
}

/*
 * Whole BLOCKs of a string after its first escape from p to o, while they
 * are text and the escapes \" \\ \/ only (JSON inside JSON, the usual large
 * string): written without their escaping backslashes, all found from the
 * block's masks, not stopping at each escape.  Stops where a block needs
 * the byte-by-byte path (*stuck set: the string's end, another escape, a
 * control character, a byte that is not ASCII), before a block would read
 * past end, or write past olim.  Returns the bytes consumed, *op moved past
 * those written.  Reads and writes BLOCK_READ bytes at most past where it
 * stops.
 */
static size_t
plain_blocks_sse2(const unsigned char *p, const unsigned char *end, char **op,
    const char *olim, int *stuck)
{
	const unsigned char *s = p;
	__m128i v[4], low = _mm_set1_epi8(0x20);
	uint64_t drop, carry = 0;
	char *o = *op;
	int k;

	for (; end - p >= BLOCK_READ && o <= olim; p += BLOCK) {
		for (k = 0; k < 4; k++)
			v[k] = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
		/* Signed: below 0x20, and 0x80 and above. */
		if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v[0], low),
		    _mm_cmplt_epi8(v[1], low)), _mm_or_si128(_mm_cmplt_epi8(v[2], low),
		    _mm_cmplt_epi8(v[3], low)))) != 0 ||
		    !plain_masks(mask64(v, '"'), mask64(v, '\\'), mask64(v, '/'),
		    &carry, &drop)) {
			*stuck = 1;
			break;
		}
		o += pack_runs(p, drop, o);
	}
	*op = o;
	/* A backslash left escaping the next byte: that is where to go on. */
	return (size_t)(p - s) - (size_t)carry;
}

#ifdef JTEXT_WIDE
/*
 * The same with AVX-512: a block is one register, and VBMI2's byte
 * compress packs it in one instruction where pack_runs copies the runs
 * between escapes one by one (on a preview inside a request, an escape
 * every ten bytes).  With BMI the masks' arithmetic stays in general
 * registers: without it the compiler took it to mask registers, and the
 * carry from block to block went there and back (9 us a 117 KB request
 * against 19).
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi2,bmi,bmi2,popcnt")))
static size_t
plain_blocks_wide(const unsigned char *p, const unsigned char *end, char **op,
    const char *olim, int *stuck)
{
	const unsigned char *s = p;
	__m512i v;
	uint64_t drop, carry = 0;
	char *o = *op;

	for (; end - p >= BLOCK_READ && o <= olim; p += BLOCK) {
		v = _mm512_loadu_si512((const void *)p);
		if (_mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(0x20)) != 0 ||
		    !plain_masks(_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('"')),
		    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\\')),
		    _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('/')), &carry, &drop)) {
			*stuck = 1;
			break;
		}
		_mm512_storeu_si512((void *)o, _mm512_maskz_compress_epi8(~drop, v));
		o += BLOCK - __builtin_popcountll(drop);
	}
	*op = o;
	return (size_t)(p - s) - (size_t)carry;
}
#endif

typedef size_t (*plain_blocks_fn)(const unsigned char *, const unsigned char *,
    char **, const char *, int *);

static plain_blocks_fn
plain_blocks(void)
{
	if (wide == -1)
		jtext_wide(1);
#ifdef JTEXT_WIDE
	if (wide)
		return plain_blocks_wide;
#endif
	return plain_blocks_sse2;
}
#endif

int
jtext_wide(int allow)
{
#ifdef JTEXT_WIDE
	wide = allow && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("bmi") &&
	    __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
#else
	(void)allow;
	wide = 0;
#endif
	return wide;
}

/*
 * One byte that is not plain ASCII text at *pp (a quote is the caller's):
 * a control character is refused, UTF-8 checked and copied to *o when o
 * is set.
 */
static int
other_byte(struct parser *j, const unsigned char **pp, char **o)
{
	const unsigned char *p = *pp;
	size_t n;

	if (*p < 0x20)
		return fail(j, p, "invalid string sequence");
	if (*p < 0x80)
		n = 1;
	else if ((n = utf8_seq(p, (size_t)(j->end - p))) == 0)
		return utf8_cut(p, j->end) ? incomplete(j) :
		    fail(j, p, "invalid utf-8 string");
	if (*o != NULL) {
		memcpy(*o, p, n);
		*o += n;
	}
	*pp = p + n;
	return 0;
}

/*
 * The string at j->p (its opening quote) checked and read in one pass:
 * *text is the source itself when it has no escapes, else scratch with the
 * escapes decoded.  Text goes sixteen bytes at a time to the next byte
 * that needs a look; after the first escape everything is copied out as
 * it is scanned.
 */
static int
string_text(struct parser *j, const char **text, size_t *len)
{
	const unsigned char *s = j->p + 1, *p = s, *end = j->end;
#ifdef __SSE2__
	const unsigned char *retry = s;
	plain_blocks_fn blocks;
#endif
	char *o = NULL;
	unsigned m;

	/* Until an escape: the source is the text. */
	for (;;) {
		while (end - p >= 16) {
			if ((m = special16(p)) == 0) {
				p += 16;
				continue;
			}
			p += __builtin_ctz(m);
			break;
		}
		if (p >= end)
			return incomplete(j);
		if (*p == '"')
			goto done;
		if (*p == '\\')
			break;
		if (other_byte(j, &p, &o) == -1)
			return -1;
	}
	/* The text so far, and room for the rest at once: no longer than what
	 * is left, up to a bound (a value in the middle of a large document). */
	if (reserve(j, (size_t)(p - s) + (size_t)(end - p < SCRATCH_AT_ONCE ?
	    end - p : SCRATCH_AT_ONCE) + BLOCK_READ) == -1)
		return -1;
	memcpy(j->scratch, s, (size_t)(p - s));
	o = j->scratch + (p - s);
#ifdef __SSE2__
	blocks = plain_blocks();	/* only strings with an escape need them */
#endif
	for (;;) {
#ifdef __SSE2__
		/* Whole blocks while they take them; after one that does not,
		 * the next BLOCK bytes go the byte-by-byte way. */
		while (p >= retry && end - p >= BLOCK_READ) {
			int stuck = 0;

			if (room(j, &o, BLOCK_READ) == -1)	/* a block at least */
				return -1;
			p += blocks(p, end, &o, j->scratch + j->cap - BLOCK_READ, &stuck);
			if (stuck) {
				retry = p + BLOCK;
				break;
			}
		}
#endif
		while (end - p >= 16) {
			if (room(j, &o, 16) == -1)
				return -1;
			m = special16(p);
			memcpy(o, p, 16);
			if (m == 0) {
				p += 16;
				o += 16;
				continue;
			}
			p += __builtin_ctz(m);
			o += __builtin_ctz(m);
			break;
		}
		if (p >= end)
			return incomplete(j);
		if (room(j, &o, 16) == -1)
			return -1;
		if (*p == '"')
			break;
		if (*p == '\\') {
			/* The common escapes in one step; the rest in escape(). */
			if (end - p >= 2 && (p[1] == '"' || p[1] == '\\' || p[1] == '/')) {
				*o++ = (char)p[1];
				p += 2;
			} else if (escape(j, &p, &o) == -1)
				return -1;
		} else if (other_byte(j, &p, &o) == -1)
			return -1;
	}
done:
	j->p = p + 1;
	if (o == NULL) {
		*text = (const char *)s;
		*len = (size_t)(p - s);
	} else {
		*o = '\0';
		*text = j->scratch;
		*len = (size_t)(o - j->scratch);
	}
	return 0;
}

static int
string_value(struct parser *j, struct json_object **out)
{
	const unsigned char *at = j->p;
	const char *text;
	size_t len;

	if (string_text(j, &text, &len) == -1)
		return -1;
	if (!j->build)
		return 0;
	*out = json_object_new_string_len(text, (int)len);
	return *out != NULL ? 0 : fail(j, at, "out of memory");
}

/* A key as a C string in scratch (json-c keys are). */
static int
key(struct parser *j)
{
	const char *text;
	size_t len;

	if (string_text(j, &text, &len) == -1)
		return -1;
	if (text == j->scratch)
		return 0;
	if (reserve(j, len + 1) == -1)
		return -1;
	memcpy(j->scratch, text, len);
	j->scratch[len] = '\0';
	return 0;
}

static int
digits(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *s = *p;

	while (*p < end && **p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

/*
 * A number by RFC 8259's grammar.  Integers are int64 (uint64 past
 * INT64_MAX), saturating as json-c's strtoll and strtoull do; anything
 * with a fraction or an exponent is a double that keeps its text, so it is
 * written back as it came.
 */
static int
number(struct parser *j, struct json_object **out)
{
	const unsigned char *s = j->p, *p = j->p, *end = j->end;
	int is_double = 0;
	size_t n;

	if (*p == '-' && ++p >= end)
		return incomplete(j);
	if (*p == '0')
		p++;
	else if (!digits(&p, end))
		return fail(j, p, "number expected");
	if (p < end && *p >= '0' && *p <= '9')
		return fail(j, p, "number expected");	/* a leading zero */
	if (p < end && *p == '.') {
		is_double = 1;
		if (++p >= end)
			return incomplete(j);
		if (!digits(&p, end))
			return fail(j, p, "number expected");
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		is_double = 1;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end)
			return incomplete(j);
		if (!digits(&p, end))
			return fail(j, p, "number expected");
	}
	j->p = p;
	if (!j->build)
		return 0;
	n = (size_t)(p - s);
	if (reserve(j, n + 1) == -1)
		return -1;
	memcpy(j->scratch, s, n);
	j->scratch[n] = '\0';
	if (is_double)
		*out = json_object_new_double_s(strtod(j->scratch, NULL), j->scratch);
	else if (*s == '-')
		*out = json_object_new_int64((int64_t)strtoll(j->scratch, NULL, 10));
	else {
		unsigned long long u = strtoull(j->scratch, NULL, 10);

		*out = u <= INT64_MAX ? json_object_new_int64((int64_t)u) :
		    json_object_new_uint64((uint64_t)u);
	}
	return *out != NULL ? 0 : fail(j, s, "out of memory");
}

static int
literal(struct parser *j, const char *word, const char *what)
{
	size_t i, n = strlen(word);

	for (i = 0; i < n; i++) {
		if (j->p + i >= j->end)
			return incomplete(j);
		if (j->p[i] != (unsigned char)word[i])
			return fail(j, j->p + i, what);
	}
	j->p += n;
	return 0;
}

static int value(struct parser *, struct json_object **);

/* After a member: 1 at the closing character, 0 past a comma, -1. */
static int
after_member(struct parser *j, char close, const char *what)
{
	skip_ws(j);
	if (j->p >= j->end)
		return incomplete(j);
	if (*j->p == close) {
		j->p++;
		return 1;
	}
	if (*j->p != ',')
		return fail(j, j->p, what);
	j->p++;
	return 0;
}

static int
array(struct parser *j, struct json_object **out)
{
	struct json_object *a = j->build ? json_object_new_array() : NULL, *v;
	int rc;

	if ((*out = a) == NULL && j->build)
		return fail(j, j->p, "out of memory");
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (value(j, &v) == -1) {
			json_object_put(v);	/* what it had built */
			return -1;
		}
		if (j->build && json_object_array_add(a, v) != 0) {
			json_object_put(v);
			return fail(j, j->p, "out of memory");
		}
		if ((rc = after_member(j, ']', "array value separator ',' expected")) != 0)
			return rc == 1 ? 0 : -1;
	}
}

static int
object(struct parser *j, struct json_object **out)
{
	struct json_object *o = j->build ? json_object_new_object() : NULL, *v;
	char small[64], *k;
	int rc;

	if ((*out = o) == NULL && j->build)
		return fail(j, j->p, "out of memory");
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		skip_ws(j);
		if (j->p >= j->end)
			return incomplete(j);
		if (*j->p != '"')
			return fail(j, j->p, "quoted object property name expected");
		if (key(j) == -1)
			return -1;
		skip_ws(j);
		if (j->p >= j->end)
			return incomplete(j);
		if (*j->p != ':')
			return fail(j, j->p, "object property name separator ':' expected");
		j->p++;
		/* The value's strings reuse scratch: keep the key apart. */
		k = !j->build ? NULL : strlen(j->scratch) < sizeof(small) ?
		    strcpy(small, j->scratch) : strdup(j->scratch);
		if (j->build && k == NULL)
			return fail(j, j->p, "out of memory");
		/* A repeated key: the last value wins, as in json-c. */
		if ((rc = value(j, &v)) == 0 && j->build &&
		    json_object_object_add(o, k, v) != 0)
			rc = fail(j, j->p, "out of memory");
		if (rc == -1)
			json_object_put(v);	/* what it had built */
		if (k != small)
			free(k);
		if (rc == -1)
			return -1;
		if ((rc = after_member(j, '}', "object value separator ',' expected")) != 0)
			return rc == 1 ? 0 : -1;
	}
}

static int
value(struct parser *j, struct json_object **out)
{
	int rc;

	*out = NULL;
	skip_ws(j);
	if (j->p >= j->end)
		return incomplete(j);
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > j->max_depth)
			return fail(j, j->p, "nesting too deep");
		rc = *j->p == '{' ? object(j, out) : array(j, out);
		j->depth--;
		return rc;
	case '"':
		return string_value(j, out);
	case 't':
		if (literal(j, "true", "boolean expected") == -1)
			return -1;
		return !j->build || (*out = json_object_new_boolean(1)) != NULL ? 0 :
		    fail(j, j->p, "out of memory");
	case 'f':
		if (literal(j, "false", "boolean expected") == -1)
			return -1;
		return !j->build || (*out = json_object_new_boolean(0)) != NULL ? 0 :
		    fail(j, j->p, "out of memory");
	case 'n':
		return literal(j, "null", "null expected");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return number(j, out);
		return fail(j, j->p, "unexpected character");
	}
}

static int
run(const char *buf, size_t len, int max_depth, int build,
    struct json_object **out, size_t *used, struct jtext_error *err)
{
	struct parser j;
	int rc;

	memset(&j, 0, sizeof(j));
	j.buf = j.p = (const unsigned char *)buf;
	j.end = j.buf + len;
	j.max_depth = max_depth;
	j.build = build;
	j.err = err;
	*out = NULL;
	if (len > (size_t)INT_MAX)
		return fail(&j, j.buf, "text too large");
	rc = value(&j, out);
	free(j.scratch);
	if (rc == -1) {
		/* What was built so far hangs off the outermost value. */
		json_object_put(*out);
		*out = NULL;
		return -1;
	}
	*used = (size_t)(j.p - j.buf);
	return 0;
}

int
jtext_parse(const char *buf, size_t len, int max_depth, struct json_object **out,
    size_t *used, struct jtext_error *err)
{
	return run(buf, len, max_depth, 1, out, used, err);
}

int
jtext_check(const char *buf, size_t len, int max_depth, size_t *used,
    struct jtext_error *err)
{
	struct json_object *none;

	return run(buf, len, max_depth, 0, &none, used, err);
}
