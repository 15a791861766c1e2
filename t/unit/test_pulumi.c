/*
 * The Pulumi ingest walker: it parses a document member by member and
 * element by element, so its JSON edge cases are tested here directly.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../../src/cost/pulumi.h"
#include "tap.h"

static char err[512];

static struct pstack *
parse(const char *doc)
{
	err[0] = '\0';
	return pulumi_parse(doc, strlen(doc), err, sizeof(err));
}

#define BAD(doc, want, name) do {					\
	struct pstack *s_ = parse(doc);					\
	ok(s_ == NULL && strcmp(err, want) == 0, "%s", name);		\
	if (s_ != NULL || strcmp(err, want) != 0)			\
		printf("#   got \"%s\", wanted \"%s\"\n", err, want);	\
	pulumi_free(s_);						\
} while (0)

int
main(void)
{
	struct pstack *s;
	struct json_object *in;

	s = parse("{\"version\":3,\"deployment\":{\"resources\":[{\"urn\":"
	    "\"urn:pulumi:d::p::aws:ec2/instance:Instance::w\",\"custom\":true,"
	    "\"type\":\"aws:ec2/instance:Instance\",\"inputs\":{\"size\":20,"
	    "\"k\\\"ey\":\"v\\\\\",\"n\":[1,2.5,-3e2,true,null]}}]}}");
	ok(s != NULL && s->n == 1, "numbers before , } ]; escapes in keys and strings");
	in = s ? pulumi_inputs(&s->r[0]) : NULL;
	ok(in != NULL && json_object_get_int(json_object_object_get(in, "size")) == 20,
	    "inputs parsed on demand");
	ok(in != NULL && strcmp(json_object_get_string(json_object_object_get(in,
	    "k\"ey")), "v\\") == 0, "escaped key and value intact");
	ok(s != NULL && s->kind == PULUMI_EXPORT && strcmp(s->r[0].name, "w") == 0,
	    "a stack export, named from the URN");
	pulumi_free(s);

	s = parse(" \n{ \"steps\" : [ { \"op\" : \"create\" , \"urn\" : "
	    "\"urn:pulumi:d::p::t:m/x:X::a\" , \"inputs\" : { } } ] , "
	    "\"changeSummary\" : { \"same\" : 4 } }\n ");
	ok(s != NULL && s->n == 1 && s->sames_counted == 4, "white space anywhere");
	pulumi_free(s);

	s = parse("{\"version\":3,\"checkpoint\":{\"stack\":\"o/p/dev\",\"latest\":{}}}");
	ok(s != NULL && s->kind == PULUMI_CHECKPOINT && s->n == 0 &&
	    strcmp(s->stack, "dev") == 0, "a checkpoint never deployed");
	pulumi_free(s);

	BAD("{\"steps\":[", "incomplete JSON", "truncated in an array");
	BAD("{\"version\":3", "incomplete JSON", "truncated after a number");
	BAD("{\"steps\":[]} x", "unexpected data after the JSON value at byte 13",
	    "trailing data");
	BAD("{\"steps\":[],}", "invalid JSON at byte 12: unexpected character",
	    "a trailing comma");
	BAD("{\"steps\" [] }", "invalid JSON at byte 9: expected ':'", "a missing colon");
	BAD("{7:1}", "invalid JSON at byte 1: expected a key (a string)", "a key that is not a string");
	BAD("\"steps\"", "expected a JSON object: a Pulumi preview (steps), stack"
	    " export (deployment) or checkpoint", "a string document");
	BAD("nope", "invalid JSON at byte 1: null expected", "not JSON at all");
	BAD("{}", "not a Pulumi document: expected steps (pulumi preview --json),"
	    " deployment (pulumi stack export) or checkpoint (a DIY backend's stack"
	    " file)", "an empty object");
	BAD("{\"steps\":[{\"op\":\"create\",\"urn\":\"urn:pulumi:d::p::t::a\","
	    "\"inputs\":\"\xff\"}]}", "invalid JSON at byte 65: invalid utf-8 string",
	    "invalid UTF-8 in a string");
	return done_testing();
}
