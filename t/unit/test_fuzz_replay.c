/*
 * Every fuzz target's harness, run over its seeds and over every input a
 * fuzzer once crashed on (fuzz/regressions/NAME/): the regression tests of
 * the fuzzing, in the normal suite (and under ASan in CI).  Each input is
 * handed over in a buffer of exactly its size, as libFuzzer does, so a read
 * past the end is caught.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/util.h"
#include "tap.h"

#define LLVMFuzzerTestOneInput fuzz_jsonrpc
#include "../../fuzz/fuzz_jsonrpc.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jtext
#include "../../fuzz/fuzz_jtext.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_mcp
#include "../../fuzz/fuzz_mcp.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_config
#include "../../fuzz/fuzz_config.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pulumi
#include "../../fuzz/fuzz_pulumi.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_focus
#include "../../fuzz/fuzz_focus.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_spec
#include "../../fuzz/fuzz_spec.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pb
#include "../../fuzz/fuzz_pb.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jwt
#include "../../fuzz/fuzz_jwt.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_traceparent
#include "../../fuzz/fuzz_traceparent.c"
#undef LLVMFuzzerTestOneInput

static const struct {
	const char	*name;
	int		(*one)(const uint8_t *, size_t);
} targets[] = {
	{ "jsonrpc", fuzz_jsonrpc }, { "jtext", fuzz_jtext }, { "mcp", fuzz_mcp }, { "config", fuzz_config },
	{ "pulumi", fuzz_pulumi }, { "focus", fuzz_focus }, { "spec", fuzz_spec },
	{ "pb", fuzz_pb }, { "jwt", fuzz_jwt }, { "traceparent", fuzz_traceparent },
};

/* Each file of dir through one harness: how many, or -1 when dir is absent. */
static int
replay(const char *dir, int (*one)(const uint8_t *, size_t))
{
	struct dirent *e;
	char path[4096], *buf, *exact;
	size_t len;
	int n = 0, fd;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		if (read_all_fd(fd, &buf, 16 << 20, &len) >= 0) {
			/* Exactly len bytes: no terminator to lean on. */
			if ((exact = malloc(len ? len : 1)) != NULL) {
				memcpy(exact, buf, len);
				one((const uint8_t *)exact, len);
				free(exact);
				n++;
			}
			free(buf);
		}
		close(fd);
	}
	closedir(d);
	return n;
}

int
main(void)
{
	const char *src = getenv("PCM_SRCDIR");
	char dir[4096];
	size_t i;
	int n, r;

	if (src == NULL)
		src = ".";
	for (i = 0; i < nitems(targets); i++) {
		snprintf(dir, sizeof(dir), "%s/fuzz/seeds/%s", src, targets[i].name);
		n = replay(dir, targets[i].one);
		ok(n > 0, "fuzz_%s: %d seeds replayed", targets[i].name, n);
		snprintf(dir, sizeof(dir), "%s/fuzz/regressions/%s", src, targets[i].name);
		if ((r = replay(dir, targets[i].one)) >= 0)
			ok(1, "fuzz_%s: %d crash inputs replayed without a fault",
			    targets[i].name, r);
	}
	return done_testing();
}
