/*
 * Decoding one request, timed: jtext_parse (src/core/jtext.c) on each of
 * its string paths, against json-c's strict tokener with UTF-8 checks (the
 * parser jtext stands in for).  Each is run ROUNDS times over the file's
 * text and the best round kept (the least disturbed by the machine);
 * every run must build a value, and jtext's must equal json-c's.
 *   parse FILE ROUNDS REPEAT  ->  "name microseconds" lines
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "../src/core/jtext.h"

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static struct json_object *
jsonc(const char *buf, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JTEXT_MAX_DEPTH);
	struct json_object *o;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static struct json_object *
ours(const char *buf, size_t len)
{
	struct json_object *o;
	struct jtext_error e;
	size_t used;

	return jtext_parse(buf, len, JTEXT_MAX_DEPTH, &o, &used, &e) == 0 ? o : NULL;
}

/* Best of rounds: microseconds a parse. */
static double
best(struct json_object *(*fn)(const char *, size_t), const char *buf, size_t len,
    int rounds, int repeat, struct json_object *want)
{
	struct json_object *o;
	double t0, us, top = 1e300;
	int r, i;

	for (r = 0; r < rounds; r++) {
		t0 = now_us();
		for (i = 0; i < repeat; i++) {
			if ((o = fn(buf, len)) == NULL ||
			    (want != NULL && i == 0 && !json_object_equal(o, want))) {
				fprintf(stderr, "parse: a parser failed or differs\n");
				exit(1);
			}
			json_object_put(o);
		}
		if ((us = (now_us() - t0) / repeat) < top)
			top = us;
	}
	return top;
}

int
main(int argc, char **argv)
{
	struct json_object *want;
	FILE *f;
	char *buf;
	long len;
	int rounds, repeat;

	if (argc != 4 || (rounds = atoi(argv[2])) <= 0 || (repeat = atoi(argv[3])) <= 0) {
		fprintf(stderr, "usage: parse FILE ROUNDS REPEAT\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(argv[1]);
		return 1;
	}
	fclose(f);
	buf[len] = '\0';
	if ((want = jsonc(buf, (size_t)len)) == NULL) {
		fprintf(stderr, "%s: json-c does not take it\n", argv[1]);
		return 1;
	}
	printf("json-c %.2f\n", best(jsonc, buf, (size_t)len, rounds, repeat, NULL));
	jtext_wide(0);
	printf("sse2 %.2f\n", best(ours, buf, (size_t)len, rounds, repeat, want));
	if (jtext_wide(1))
		printf("avx512 %.2f\n", best(ours, buf, (size_t)len, rounds, repeat, want));
	json_object_put(want);
	free(buf);
	return 0;
}
