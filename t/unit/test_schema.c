#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "../../src/mcp/schema.h"
#include "tap.h"

static char why[512];

static int
check(const char *schema, const char *value)
{
	struct json_object *s = json_tokener_parse(schema), *v = json_tokener_parse(value);
	int r;

	why[0] = '\0';
	r = schema_validate(s, v, why, sizeof(why));
	json_object_put(s);
	json_object_put(v);
	return r;
}

#define OK(s, v, name)		ok(check(s, v) == 0, "%s", name)
#define BAD(s, v, want, name)	do {					\
	int r_ = check(s, v);						\
	ok(r_ == -1 && strstr(why, want) != NULL, "%s", name);		\
	if (r_ != -1 || strstr(why, want) == NULL)			\
		printf("#   got \"%s\", wanted \"%s\"\n", why, want);	\
} while (0)

int
main(void)
{
	const char *obj = "{\"type\":\"object\",\"properties\":{"
	    "\"stack_name\":{\"type\":\"string\",\"minLength\":1},"
	    "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":365},"
	    "\"granularity\":{\"enum\":[\"daily\",\"monthly\"]},"
	    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":2}},"
	    "\"required\":[\"stack_name\"],\"additionalProperties\":false}";
	const char *refs = "{\"$defs\":{\"address\":{\"type\":\"object\","
	    "\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}},"
	    "\"type\":\"object\",\"properties\":{\"address\":{\"$ref\":\"#/$defs/address\"}}}";

	OK(obj, "{\"stack_name\":\"prod\"}", "minimal valid arguments");
	OK(obj, "{\"stack_name\":\"prod\",\"days\":30,\"granularity\":\"daily\",\"tags\":[\"a\"]}",
	    "all arguments valid");
	OK(obj, "{\"stack_name\":\"prod\",\"days\":30.0}", "30.0 is an integer");
	BAD(obj, "{}", "arguments.stack_name: is required", "missing required argument named");
	BAD(obj, "{\"stack_name\":7}", "arguments.stack_name: expected string, got integer", "wrong type named");
	BAD(obj, "{\"stack_name\":\"\"}", "needs at least 1 characters", "minLength");
	BAD(obj, "{\"stack_name\":\"p\",\"days\":0}", "arguments.days: must be at least 1", "minimum");
	BAD(obj, "{\"stack_name\":\"p\",\"days\":400}", "must be at most 365", "maximum");
	BAD(obj, "{\"stack_name\":\"p\",\"days\":1.5}", "expected integer, got number", "fraction for an integer");
	BAD(obj, "{\"stack_name\":\"p\",\"granularity\":\"hourly\"}", "must be one of", "enum");
	BAD(obj, "{\"stack_name\":\"p\",\"tags\":[\"a\",2]}", "arguments.tags[1]: expected string", "array item path");
	BAD(obj, "{\"stack_name\":\"p\",\"tags\":[\"a\",\"b\",\"c\"]}", "allows at most 2 items", "maxItems");
	BAD(obj, "{\"stack_name\":\"p\",\"colour\":\"red\"}", "arguments.colour: is not an accepted argument",
	    "additionalProperties false");
	OK(refs, "{\"address\":{\"city\":\"Oslo\"}}", "$ref resolved");
	BAD(refs, "{\"address\":{}}", "arguments.address.city: is required", "$ref target enforced");
	BAD("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "true",
	    "matches none", "anyOf");
	OK("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "3", "oneOf");
	BAD("{\"$ref\":\"#/nope\"}", "1", "cannot be resolved", "dangling $ref reported");
	OK("{\"type\":\"object\",\"additionalProperties\":false}", "{}", "no-argument tool");
	{
		/* The 2020-12 vocabulary of the conformance fixture (SEP-2106). */
		const char *cond = "{\"$defs\":{\"a\":{\"$anchor\":\"addr\","
		    "\"type\":\"object\",\"required\":[\"city\"]}},"
		    "\"type\":\"object\",\"properties\":{\"address\":{\"$ref\":\"#addr\"},"
		    "\"via\":{\"enum\":[\"phone\",\"email\"]}},"
		    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
		    "\"if\":{\"properties\":{\"via\":{\"const\":\"phone\"}},\"required\":[\"via\"]},"
		    "\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":[\"email\"]}}";

		OK(cond, "{\"via\":\"phone\",\"phone\":\"1\"}", "if/then: then satisfied");
		BAD(cond, "{\"via\":\"phone\",\"email\":\"e\"}", "arguments.phone: is required",
		    "if/then: then enforced");
		OK(cond, "{\"email\":\"e\"}", "if/else: else satisfied");
		BAD(cond, "{\"via\":\"email\",\"phone\":\"1\"}", "arguments.email: is required",
		    "if/else: else enforced");
		BAD(cond, "{}", "matches none", "allOf of anyOf enforced");
		OK(cond, "{\"email\":\"e\",\"address\":{\"city\":\"Oslo\"}}", "$anchor reference resolved");
		BAD(cond, "{\"email\":\"e\",\"address\":{}}", "arguments.address.city: is required",
		    "$anchor target enforced");
		BAD("{\"$ref\":\"#nowhere\"}", "1", "cannot be resolved", "unknown $anchor reported");
		BAD("{\"not\":{\"type\":\"string\"}}", "\"x\"", "is not accepted", "not");
		OK("{\"not\":{\"type\":\"string\"}}", "1", "not: other types pass");
		OK("{\"pattern\":\"^urn:pulumi:\"}", "\"urn:pulumi:a::b::c::d\"", "pattern matches");
		BAD("{\"pattern\":\"^urn:pulumi:\"}", "\"arn:aws:x\"",
		    "arguments: does not match the pattern ^urn:pulumi:", "pattern enforced");
		OK("{\"pattern\":\"^urn:pulumi:\"}", "7", "pattern applies to strings only");
	}
	{
		/* A schema that refers to itself ends, with an error, not a crash. */
		BAD("{\"$ref\":\"#\"}", "{}", "nested too deeply", "recursive $ref bounded");
	}
	return done_testing();
}
