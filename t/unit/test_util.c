#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "../../src/core/trace.h"
#include "../../src/core/util.h"
#include "tap.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
main(void)
{
	int64_t v;
	char buf[32];
	int b;

	ok(parse_duration_ms("30s", &v) == 0 && v == 30000, "30s");
	ok(parse_duration_ms("5m", &v) == 0 && v == 300000, "5m");
	ok(parse_duration_ms("1h", &v) == 0 && v == 3600000, "1h");
	ok(parse_duration_ms("250ms", &v) == 0 && v == 250, "250ms");
	ok(parse_duration_ms("1.5s", &v) == 0 && v == 1500, "1.5s");
	ok(parse_duration_ms("10", &v) == 0 && v == 10000, "bare number is seconds");
	ok(parse_duration_ms("-1s", &v) == -1, "negative duration rejected");
	ok(parse_duration_ms("10 parsecs", &v) == -1, "unknown unit rejected");
	ok(parse_duration_ms("", &v) == -1, "empty rejected");
	ok(parse_size("10MB", &v) == 0 && v == 10485760, "10MB");
	ok(parse_size("512k", &v) == 0 && v == 524288, "512k");
	ok(parse_size("10485760", &v) == 0 && v == 10485760, "bytes");
	ok(parse_size("1GiB", &v) == 0 && v == 1073741824, "1GiB");
	ok(parse_size("12 apples", &v) == -1, "bad size rejected");
	ok(parse_int64("42", &v) == 0 && v == 42, "int");
	ok(parse_int64("42x", &v) == -1, "trailing junk rejected");
	ok(parse_int64("99999999999999999999", &v) == -1, "overflow rejected");
	ok(parse_bool("yes", &b) == 0 && b == 1, "yes");
	ok(parse_bool("off", &b) == 0 && b == 0, "off");
	ok(parse_bool("maybe", &b) == -1, "maybe rejected");
	fmt_duration(300000, buf, sizeof(buf));
	is_str(buf, "5m", "fmt 5m");
	fmt_duration(1500, buf, sizeof(buf));
	is_str(buf, "1500ms", "fmt 1500ms");
	fmt_duration(0, buf, sizeof(buf));
	is_str(buf, "0s", "fmt 0s");
	{
		/* RFC 4648 section 10 vectors, both ways. */
		static const char *const vec[][2] = {
			{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
			{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
			{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
		};
		char enc[32], dec[32];
		ssize_t n;
		size_t i;

		for (i = 0; i < nitems(vec); i++) {
			ok(base64_encode(vec[i][0], strlen(vec[i][0]), enc,
			    sizeof(enc)) == (ssize_t)strlen(vec[i][1]) &&
			    strcmp(enc, vec[i][1]) == 0, "base64 encode \"%s\"", vec[i][0]);
			n = base64_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof(dec));
			ok(n == (ssize_t)strlen(vec[i][0]) &&
			    memcmp(dec, vec[i][0], (size_t)n) == 0,
			    "base64 decode \"%s\"", vec[i][1]);
		}
		ok(base64_decode("SGVsbG8", 7, dec, sizeof(dec)) == -1,
		    "base64: missing padding rejected");
		ok(base64_decode("SGVs!!!bG8=", 11, dec, sizeof(dec)) == -1,
		    "base64: characters outside the alphabet rejected");
		ok(base64_decode("Zg==Zm8=", 8, dec, sizeof(dec)) == -1,
		    "base64: padding inside rejected");
		ok(base64_decode("Zm9vYmFy", 8, dec, 5) == -1,
		    "base64: short output buffer rejected");
		ok(base64_encode("foobar", 6, enc, 8) == -1,
		    "base64: short encode buffer rejected");
	}
	{
		/* RFC 3629, and the ASCII fast path's boundaries. */
		static const struct { const char *s; int valid; const char *what; } u[] = {
			{ "", 1, "empty" },
			{ "plain ascii, longer than eight bytes", 1, "ASCII" },
			{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 1, "2, 3 and 4 bytes" },
			{ "12345678\xc3\xa9", 1, "a sequence right after a fast run" },
			{ "\xf4\x8f\xbf\xbf", 1, "U+10FFFF" },
			{ "\xc0\x80", 0, "overlong NUL" },
			{ "\xe0\x80\xaf", 0, "overlong 3 bytes" },
			{ "\xed\xa0\x80", 0, "a surrogate" },
			{ "\xf4\x90\x80\x80", 0, "past U+10FFFF" },
			{ "\xf5\x80\x80\x80", 0, "lead byte F5" },
			{ "abc\xe2\x82", 0, "truncated at the end" },
			{ "\x80", 0, "a lone continuation byte" },
			{ "\xc3\x28", 0, "a bad continuation byte" },
			{ "1234567\xff", 0, "FF at the end of an eight-byte word" },
		};
		size_t i;

		for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			ok(utf8_valid(u[i].s, strlen(u[i].s)) == u[i].valid, "utf8_valid: %s: %s",
			    u[i].what, u[i].valid ? "valid" : "invalid");
		ok(utf8_valid("a\0b", 3) == 1, "utf8_valid: NUL is ASCII");
	}
	{
		static const unsigned char bytes[] = { 0x00, 0x0f, 0xab, 0xff };
		char hex[2 * sizeof(bytes) + 1];

		hex_encode(bytes, sizeof(bytes), hex);
		ok(strcmp(hex, "000fabff") == 0, "hex_encode: lowercase, two digits a byte");
	}
	{
		/* 1726617600 is 2024-09-18T00:00:00Z. */
		static const struct { const char *s; int64_t sec; int32_t ns; } good[] = {
			{ "2024-09-18", 1726617600, 0 },
			{ "2024-09-18T10:00:00Z", 1726653600, 0 },
			{ "2024-09-18 10:00:00", 1726653600, 0 },
			{ "2024-09-18T10:00Z", 1726653600, 0 },		/* OCI */
			{ "2024-09-18 10:00:00 UTC", 1726653600, 0 },	/* BigQuery */
			{ "2024-09-18T10:00:00.000Z", 1726653600, 0 },	/* AWS */
			{ "2024-09-18T10:00:00.25Z", 1726653600, 250000000 },
			{ "2024-09-18T12:00:00+02:00", 1726653600, 0 },
			{ "2024-09-18T05:30:00-0430", 1726653600, 0 },
			{ "2024-02-29", 1709164800, 0 },
		};
		static const char *const bad[] = {
			"2024-02-30", "2023-02-29", "2024-13-01", "2024-09-18T", "2024-09-18T10Z",
			"2024-09-18T10:0Z", "2024-09-18T25:00:00Z", "2024-09-18T10:00:00+24:00",
			"2024-09-18T10:00:00 PST", "9/18/2024", "2024-09-18T10:00:00Zjunk",
		};
		int64_t sec;
		int32_t ns;
		size_t i;

		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			ok(time_parse(good[i].s, strlen(good[i].s), &sec, &ns) == 0 &&
			    sec == good[i].sec && ns == good[i].ns, "time_parse: %s", good[i].s);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ok(time_parse(bad[i], strlen(bad[i]), &sec, &ns) == -1,
			    "time_parse: %s refused", bad[i]);
	}
	{
		/* grpc-message: decoded when UTF-8, else kept encoded, all ASCII. */
		static const struct { const char *in, *out; } pd[] = {
			{ "no such SKU", "no such SKU" },
			{ "caf%C3%A9 100%25", "caf\xc3\xa9 100%" },
			{ "50% off, %zz, %4", "50% off, %zz, %4" },
			{ "caf%E9", "caf%E9" },
			{ "caf\xe9 %41", "caf%E9 %41" },
			{ "tab\there", "tab\there" },
			{ "", "" },
		};
		size_t i;
		char *got;

		for (i = 0; i < sizeof(pd) / sizeof(pd[0]); i++) {
			got = percent_decode_text((const uint8_t *)pd[i].in, strlen(pd[i].in));
			is_str(got, pd[i].out, "percent_decode_text: \"%s\"", pd[i].out);
			free(got);
		}
	}
	{
		size_t n = 0;
		char *e;

		ok(utf8_escape("caf\xc3\xa9", 5, 1, &n) == NULL, "utf8_escape: UTF-8 is left as it is");
		e = utf8_escape("\"caf\xe9\xc3\"", 7, 1, &n);
		is_str(e, "\"caf\\\\xE9\\\\xC3\"", "utf8_escape: JSON text, \\\\xHH");
		ok(e && n == strlen(e), "and its length");
		free(e);
		e = utf8_escape("a\xff\xe2\x82\xac" "b\xe2\x82", 8, 0, &n);
		is_str(e, "a\\xFF\xe2\x82\xac" "b\\xE2\\x82", "utf8_escape: text, \\xHH; a cut sequence byte by byte");
		free(e);
	}
	{
		/* Random ids: drawn from a pool the kernel refills; never twice. */
		static char ids[3000][33];
		size_t i, k, bad = 0, dup = 0;

		for (i = 0; i < 3000; i++) {
			trace_random_hex(ids[i], i % 3 == 0 ? 16 : i % 3 == 1 ? 8 : 12);
			for (k = 0; ids[i][k] != '\0'; k++)
				bad += strchr("0123456789abcdef", ids[i][k]) == NULL;
			bad += k != (i % 3 == 0 ? 32u : i % 3 == 1 ? 16u : 24u);
		}
		qsort(ids, 3000, sizeof(ids[0]), cmp_str);
		for (i = 1; i < 3000; i++)
			dup += strcmp(ids[i - 1], ids[i]) == 0;
		ok(bad == 0 && dup == 0, "trace_random_hex: 3000 ids of 8, 12 and 16 bytes (%zu"
		    " pool refills), lowercase hex, all different (%zu bad, %zu the same)",
		    (size_t)3000 * 12 / 512, bad, dup);
	}
	return done_testing();
}
