#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/conf.h"
#include "../../src/plugin/broker.h"
#include "tap.h"

static void
put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		(void)!write(fd, data, strlen(data));
		close(fd);
	}
}

int
main(void)
{
	char dir[] = "/tmp/pcm-broker-XXXXXX", p[PATH_MAX], y[4096], err[512];
	char why[512];
	const char *code;
	struct broker_roots *r;
	struct conf *c;
	int64_t size;
	int fd;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(p, sizeof(p), "%s/specs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/specs/a.json", dir);
	put(p, "{\"a\":1}");
	snprintf(p, sizeof(p), "%s/secret.txt", dir);
	put(p, "secret");
	snprintf(p, sizeof(p), "%s/state.json", dir);
	put(p, "{}");
	snprintf(p, sizeof(p), "%s/specs/escape", dir);
	symlink("../secret.txt", p);

	snprintf(y, sizeof(y), "pricing:\n  spec_dir: %s/specs\nstacks:\n  prod: %s/state.json\n",
	    dir, dir);
	c = conf_load_buffer(y, strlen(y), "t.yaml", dir, err, sizeof(err));
	ok(c != NULL, "config: %s", c ? "" : err);
	r = broker_roots_new(c);

	snprintf(p, sizeof(p), "%s/specs/a.json", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd >= 0 && size == 7, "file in spec_dir is served");
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/state.json", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd >= 0, "named stack file is served");
	if (fd >= 0)
		close(fd);
	snprintf(p, sizeof(p), "%s/secret.txt", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "forbidden") == 0, "file outside roots refused");
	snprintf(p, sizeof(p), "%s/specs/escape", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "forbidden") == 0, "symlink out of a root refused");
	snprintf(p, sizeof(p), "%s/specs/../secret.txt", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "forbidden") == 0, "dot-dot out of a root refused");
	snprintf(p, sizeof(p), "%s/specs/missing.json", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "not_found") == 0, "missing file: not_found");
	snprintf(p, sizeof(p), "%s/specs", dir);
	fd = broker_open_file(r, p, 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "forbidden") == 0, "the root itself is not a file to read");
	snprintf(p, sizeof(p), "%s/specs/a.json", dir);
	fd = broker_open_file(r, p, 3, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "too_large") == 0 && strstr(why, "limit of 3"),
	    "size limit enforced with a clear message");
	fd = broker_open_file(r, "relative.json", 0, &size, &code, why, sizeof(why));
	ok(fd == -1 && strcmp(code, "invalid") == 0, "relative path refused");
	broker_roots_free(r);
	conf_free(c);
	snprintf(y, sizeof(y), "rm -rf %s", dir);
	(void)!system(y);
	return done_testing();
}
