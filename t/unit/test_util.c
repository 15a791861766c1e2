#include "config.h"

#include <stdint.h>

#include "../../src/core/util.h"
#include "tap.h"

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
	return done_testing();
}
