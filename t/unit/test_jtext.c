/*
 * jtext_parse against json-c's strict tokener, the parser it stands in
 * for: the same values from the same text, the same refusals (with json-c's
 * positions), and refusals where RFC 8259 is stricter than json-c.  Then a
 * few thousand generated documents and their mutations: whatever jtext
 * accepts, json-c accepts as the same value, and jtext_check (no values
 * built) agrees with jtext_parse to the byte.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/jtext.h"
#include "tap.h"

/* json-c's answer: 1 and the value, or 0 (a number at the very end is
 * completed with a space, which json-c needs to end it). */
static int
jsonc(const char *s, size_t len, struct json_object **o)
{
	struct json_tokener *tok = json_tokener_new_ex(JTEXT_MAX_DEPTH);
	char *b = malloc(len + 2);
	enum json_tokener_error e;
	size_t end;

	memcpy(b, s, len);
	b[len] = ' ';
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*o = json_tokener_parse_ex(tok, b, (int)len + 1);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	free(b);
	while (e == json_tokener_success && end < len && strchr(" \t\r\n", s[end]))
		end++;
	if (e != json_tokener_success || end < len) {
		json_object_put(*o);
		*o = NULL;
		return 0;
	}
	return 1;
}

static int
ours(const char *s, size_t len, struct json_object **o, struct jtext_error *err)
{
	size_t used;

	*o = NULL;
	if (jtext_parse(s, len, JTEXT_MAX_DEPTH, o, &used, err) == -1)
		return 0;
	while (used < len && strchr(" \t\r\n", s[used]))
		used++;
	if (used < len) {
		json_object_put(*o);
		*o = NULL;
		return 0;
	}
	return 1;
}

/* The same value: equal, and written the same (numbers keep their text). */
static int
same(struct json_object *a, struct json_object *b)
{
	return json_object_equal(a, b) && strcmp(json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN), json_object_to_json_string_ext(b,
	    JSON_C_TO_STRING_PLAIN)) == 0;
}

static int
agree(const char *s, size_t len)
{
	struct json_object *a, *b;
	struct jtext_error err, cerr;
	size_t used, cused;
	int ra = ours(s, len, &a, &err), rb = jsonc(s, len, &b), ok, pa, ca;

	ok = ra ? rb && same(a, b) : 1;
	/* Checking alone says what parsing says, to the byte. */
	json_object_put(a);
	pa = jtext_parse(s, len, JTEXT_MAX_DEPTH, &a, &used, &err);
	ca = jtext_check(s, len, JTEXT_MAX_DEPTH, &cused, &cerr);
	if (pa != ca || (pa == 0 && used != cused) || (pa == -1 && (err.at != cerr.at ||
	    err.incomplete != cerr.incomplete || strcmp(err.what, cerr.what) != 0)))
		ok = 0;
	json_object_put(a);
	json_object_put(b);
	return ok;
}

/* A random document: containers, escapes, UTF-8, numbers of every kind. */
static void
gen(char **o, int depth)
{
	static const char *const atoms[] = {
		"0", "-0", "1", "-1", "42", "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "18446744073709551615", "99999999999999999999",
		"1.5", "-0.25", "1e5", "1E+2", "2.50e-3", "0.10", "true", "false",
		"null", "\"\"", "\"a\\\"b\\\\c\\/d\"", "\"\\b\\f\\n\\r\\t\"",
		"\"\\u0041\\u00e9\\u20ac\"", "\"\\ud83d\\ude00\"", "\"\\ud800x\"",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"plain text here\"",
		"\"\\u0000\"",
	};
	int k = rand() % (depth > 6 ? 1 : 4), n, i;

	if (k == 0) {
		*o = stpcpy(*o, atoms[rand() % (int)(sizeof(atoms) / sizeof(atoms[0]))]);
		return;
	}
	n = rand() % 5;
	*(*o)++ = k == 1 ? '{' : '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*(*o)++ = ',';
		if (rand() % 4 == 0)
			*(*o)++ = ' ';
		if (k == 1) {
			*o += sprintf(*o, "\"k%d\\u00%02x\":", rand() % 4, 0x41 + rand() % 3);
		}
		gen(o, depth + 1);
	}
	*(*o)++ = k == 1 ? '}' : ']';
}

/*
 * Long strings dense with escapes (JSON inside JSON), which the parser
 * takes 64 bytes at a time: runs of every length put each escape at every
 * place of a block, the last byte of one included; each string also
 * mutated and cut.  Run on each of the block paths, from the same seed.
 */
static void
dense_strings(const char *path)
{
	static char doc[1 << 16];
	struct json_object *a;
	struct jtext_error err;
	size_t i, k;
	char *o;
	int disagree;

	srand(20261129);
	for (i = 0, disagree = 0; i < 2000; i++) {
		static const char *const piece[] = { "\\\"", "\\\\", "\\/", "\\n",
		    "\\u00e9", "\xc3\xa9", "\\ud83d\\ude00", "\\\\\\\"" };
		size_t len, at;
		char m[sizeof(doc)];

		o = doc;
		*o++ = '"';
		while (o - doc < 40 + (long)(i % 700)) {
			for (k = rand() % (rand() % 4 ? 12 : 70); k > 0; k--)
				*o++ = (char)('a' + rand() % 26);
			o = stpcpy(o, piece[rand() % (i % 3 ? 3 : 8)]);
		}
		*o++ = '"';
		len = (size_t)(o - doc);
		if (!ours(doc, len, &a, &err) || !agree(doc, len))
			disagree++;
		json_object_put(a);
		at = (size_t)rand() % len;
		memcpy(m, doc, len);
		m[at] = i % 2 ? '"' : (char)(rand() % 256);
		if (!agree(m, len) || !agree(doc, at))
			disagree++;
	}
	ok(disagree == 0, "%s: 2000 long strings dense with escapes, each mutated and"
	    " cut: as json-c (%d disagreements)", path, disagree);
	for (k = 0; k < 2; k++) {
		/*
		 * A 600 KB string whose first escape comes 550 KB in (more text
		 * before it than the room it makes at once, 256 KB), then one
		 * whose escapes go on for longer than that room.
		 */
		size_t blen = 600000, first = k ? 10 : 550000, at;
		char *big = malloc(blen + 16);

		big[0] = '"';
		memset(big + 1, 'a', blen);
		for (at = first; at + 2 < blen; at += 7)
			memcpy(big + at, "\\\"", 2);
		big[blen] = '"';
		ok(ours(big, blen + 1, &a, &err) && agree(big, blen + 1),
		    "%s: a 600 KB string, its first escape %zu bytes in: as"
		    " json-c", path, first);
		json_object_put(a);
		free(big);
	}
}

int
main(void)
{
	static const char *const equal[] = {
		"{}", "[]", " [ 1 , 2 ] ", "{\"a\":{\"b\":[true,false,null]}}",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude00\"", "\"\\ud800\\u0041\"",
		"\"a\\u0000b\"", "-0", "1e5", "1E+2", "99999999999999999999",
		"-99999999999999999999", "18446744073709551616", "1e999",
		"9223372036854775808", "-9223372036854775809", "1.0", "-0.0", "0.10",
		"{\"a\":1,\"a\":2}", "{\"k\\u0000x\":1}", "\"\\/\"", "\"\xf4\x8f\xbf\xbf\"",
	};
	static const struct { const char *s; size_t at; const char *what; } bad[] = {
		{ "[1,]", 3, "unexpected character" },
		{ "{\"a\":1,}", 7, "quoted object property name expected" },
		{ "nope", 1, "null expected" },
		{ "falsy", 4, "boolean expected" },
		{ "[1 2]", 3, "array value separator ',' expected" },
		{ "{\"a\" 1}", 5, "object property name separator ':' expected" },
		{ "{\"a\":1 \"b\"}", 7, "object value separator ',' expected" },
		{ "{1:2}", 1, "quoted object property name expected" },
		{ "\"\\x\"", 2, "invalid string sequence" },
		{ "\"\\u12g4\"", 2, "invalid string sequence" },
		{ "\"\x01\"", 1, "invalid string sequence" },
		{ "\"\xc3\x28\"", 1, "invalid utf-8 string" },
		{ "\"\xed\xa0\x80\"", 1, "invalid utf-8 string" },
		{ "\"\xc0\x80\"", 1, "invalid utf-8 string" },
		{ "[-]", 2, "number expected" },
		{ ".5", 0, "unexpected character" },
		{ "+1", 0, "unexpected character" },
		{ "NaN", 0, "unexpected character" },
		/* RFC 8259 refuses these; json-c takes them. */
		{ "00", 1, "number expected" },
		{ "-01", 2, "number expected" },
		{ "1.e5", 2, "number expected" },
		{ "\"a\tb\"", 2, "invalid string sequence" },
		{ "\"a\nb\"", 2, "invalid string sequence" },
	};
	static const char *const cut[] = {
		"[", "{", "{\"a\"", "{\"a\":", "\"ab", "\"a\\", "\"\\u12", "-", "1.", "1e",
		"1e+", "tru", "nul", "[1,", "\"\xe2\x82",
	};
	struct json_object *a, *b;
	struct jtext_error err;
	char doc[1 << 16], deep[200], *o;
	size_t i, k, used;
	int d, n, disagree, accepted;

	for (i = 0; i < sizeof(equal) / sizeof(equal[0]); i++) {
		n = ours(equal[i], strlen(equal[i]), &a, &err);
		ok(n && jsonc(equal[i], strlen(equal[i]), &b) && same(a, b),
		    "%s: the value json-c makes (%s)", equal[i],
		    n ? json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN) : err.what);
		json_object_put(a);
		json_object_put(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = jtext_parse(bad[i].s, strlen(bad[i].s), JTEXT_MAX_DEPTH, &a, &used, &err);
		ok(n == -1 && a == NULL && !err.incomplete && err.at == bad[i].at &&
		    strcmp(err.what, bad[i].what) == 0, "%s: refused at byte %zu: %s (%zu: %s)",
		    bad[i].s, bad[i].at, bad[i].what, err.at, n == -1 ? err.what : "taken");
	}
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		n = jtext_parse(cut[i], strlen(cut[i]), JTEXT_MAX_DEPTH, &a, &used, &err);
		ok(n == -1 && a == NULL && err.incomplete, "%s: incomplete", cut[i]);
	}
	n = jtext_parse("[1] x", 5, JTEXT_MAX_DEPTH, &a, &used, &err);
	ok(n == 0 && used == 3, "a value followed by more: used says where it ended");
	json_object_put(a);

	/* Nesting: as deep as json-c at the same limit, and no deeper. */
	for (d = JTEXT_MAX_DEPTH - 1; d <= JTEXT_MAX_DEPTH + 1; d++) {
		memset(deep, '[', (size_t)d);
		memset(deep + d, ']', (size_t)d);
		ok(ours(deep, 2 * (size_t)d, &a, &err) == jsonc(deep, 2 * (size_t)d, &b),
		    "%d nested arrays: %s, as json-c", d, a != NULL ? "taken" : "refused");
		json_object_put(a);
		json_object_put(b);
	}

	/* Generated documents, and each mutated: never more lenient than json-c. */
	srand(20261128);
	for (i = 0, disagree = 0, accepted = 0; i < 3000; i++) {
		size_t len;

		o = doc;
		gen(&o, 0);
		len = (size_t)(o - doc);
		if (!ours(doc, len, &a, &err) || !agree(doc, len))
			disagree++;
		json_object_put(a);
		for (k = 0; k < 4; k++) {
			char m[sizeof(doc)];
			size_t at = (size_t)rand() % len, mlen = len;

			memcpy(m, doc, len);
			if (rand() % 2)
				m[at] = (char)(rand() % 256);	/* a byte changed */
			else
				memmove(m + at, m + at + 1, --mlen - at);	/* one gone */
			if (!agree(m, mlen))
				disagree++;
			if (ours(m, mlen, &a, &err))
				accepted++;
			json_object_put(a);
			if (!agree(doc, at))	/* cut short */
				disagree++;
		}
	}
	ok(disagree == 0, "3000 generated documents taken as json-c takes them, and"
	    " 12000 mutations and 12000 truncations never taken where json-c refuses (%d"
	    " disagreements; %d mutations taken)", disagree, accepted);

	dense_strings(jtext_wide(1) ? "AVX-512" : "SSE2 (no AVX-512 VBMI2 here)");
	jtext_wide(0);
	dense_strings("SSE2");
	return done_testing();
}
