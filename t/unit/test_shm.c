#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/shm.h"
#include "tap.h"

static int
get_str(struct shm *s, const char *k, char *out, size_t len)
{
	char *v;
	size_t vl;
	int r = shm_get(s, k, strlen(k), &v, &vl);

	if (r == 1) {
		snprintf(out, len, "%.*s", (int)vl, v);
		free(v);
	}
	return r;
}

static int
add_one(void *val, void *arg)
{
	int64_t v;

	(void)arg;
	memcpy(&v, val, sizeof(v));
	v++;
	memcpy(val, &v, sizeof(v));
	return 1;
}

int
main(void)
{
	char err[256], out[256], key[64], val[600];
	struct shm *s, *a;
	uint64_t rec, ev;
	int i, miss, status, bad;
	pid_t pid;

	s = shm_create(4 * 1024 * 1024, 16, err, sizeof(err));
	ok(s != NULL, "create 4MB segment with 16 shards");
	ok(shm_create(4 * 1024 * 1024, 12, err, sizeof(err)) == NULL &&
	    strstr(err, "power of two"), "non-power-of-two shard count refused");
	ok(shm_put(s, "k1", 2, "v1", 2, 0) == 0, "put");
	ok(get_str(s, "k1", out, sizeof(out)) == 1, "get hit");
	is_str(out, "v1", "value");
	ok(get_str(s, "nope", out, sizeof(out)) == 0, "miss");
	ok(shm_put(s, "k1", 2, "v2-longer", 9, 0) == 0, "overwrite");
	ok(get_str(s, "k1", out, sizeof(out)) == 1 && strcmp(out, "v2-longer") == 0,
	    "overwritten value");

	ok(shm_put(s, "ttl", 3, "x", 1, 1) == 0, "put with 1ms ttl");
	usleep(5000);
	ok(get_str(s, "ttl", out, sizeof(out)) == 0, "expired entry is a miss");

	ok(shm_put(s, "t2", 2, "y", 1, 50) == 0, "put with 50ms ttl");
	usleep(30000);
	ok(shm_touch(s, "t2", 2, 50) == 1, "touch restarts the ttl");
	usleep(30000);
	ok(get_str(s, "t2", out, sizeof(out)) == 1, "alive 60ms after the put thanks to the touch");
	ok(shm_touch(s, "absent", 6, 50) == 0, "touch of an absent key: 0");

	shm_bump_epoch(s);
	ok(get_str(s, "k1", out, sizeof(out)) == 0, "epoch bump invalidates");

	/* Attach through the fd, as a child does. */
	a = shm_attach(dup(shm_fd(s)), err, sizeof(err));
	ok(a != NULL, "attach by fd");
	ok(shm_put(a, "shared", 6, "yes", 3, 0) == 0 &&
	    get_str(s, "shared", out, sizeof(out)) == 1, "visible across mappings");

	/* Fill far beyond capacity: eviction and arena wrap, never corruption. */
	memset(val, 'z', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (i = 0; i < 40000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(val, 16, "%015d", i);
		val[15] = 'z';
		shm_put(s, key, strlen(key), val, sizeof(val) - 1, 0);
	}
	ev = atomic_load(&shm_hdr(s)->stats[ST_EVICTIONS]);
	ok(ev > 0, "evictions happened (%llu)", (unsigned long long)ev);
	bad = miss = 0;
	for (i = 39000; i < 40000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		if (get_str(s, key, out, sizeof(out)) != 1) {
			miss++;
			continue;
		}
		if (atoi(out) != i)
			bad++;
	}
	is_int(bad, 0, "no value belongs to another key");
	ok(miss < 1000, "recent entries mostly survive (%d misses)", miss);

	/* A process that dies holding a shard lock. */
	{
		unsigned sh = shm_shard_of(s, "victim", 6);

		shm_put(s, "victim", 6, "before", 6, 0);
		rec = atomic_load(&shm_hdr(s)->stats[ST_RECOVERIES]);
		if ((pid = fork()) == 0) {
			shm_lock_shard_forever(a, sh);
			_exit(0);	/* dies holding it */
		}
		waitpid(pid, &status, 0);
		alarm(10);	/* a hang fails the test */
		ok(get_str(s, "victim", out, sizeof(out)) == 0,
		    "shard wiped after owner death");
		alarm(0);
		is_int(atomic_load(&shm_hdr(s)->stats[ST_RECOVERIES]), rec + 1,
		    "recovery counted");
		ok(shm_put(s, "victim", 6, "after", 5, 0) == 0 &&
		    get_str(s, "victim", out, sizeof(out)) == 1 &&
		    strcmp(out, "after") == 0, "shard usable after recovery");
	}

	/* Contention: four processes on the same keys. */
	{
		int k, fails = 0;

		for (k = 0; k < 4; k++) {
			if ((pid = fork()) == 0) {
				int j, e = 0;

				for (j = 0; j < 3000; j++) {
					char kk[32], vv[32];

					snprintf(kk, sizeof(kk), "c%d", j % 50);
					snprintf(vv, sizeof(vv), "c%d", j % 50);
					shm_put(a, kk, strlen(kk), vv, strlen(vv), 0);
					if (get_str(a, kk, out, sizeof(out)) == 1 &&
					    strcmp(out, vv) != 0)
						e++;
				}
				_exit(e ? 1 : 0);
			}
		}
		for (k = 0; k < 4; k++) {
			wait(&status);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fails++;
		}
		is_int(fails, 0, "concurrent writers never read a wrong value");
	}
	ok(shm_put(s, "huge", 4, val, 600000, 0) == -1, "entry larger than 1/8 shard refused");

	/* shm_update: read-modify-write, atomic across processes. */
	{
		int64_t v = 0;
		char *got;
		size_t glen;
		int k, fails = 0;

		is_int(shm_update(s, "ctr", 3, sizeof(int64_t), add_one, NULL, 0), 1,
		    "update of an absent key starts from zeros");
		for (k = 0; k < 4; k++) {
			if ((pid = fork()) == 0) {
				int j;

				for (j = 0; j < 2500; j++)
					if (shm_update(s, "ctr", 3, sizeof(int64_t),
					    add_one, NULL, 0) != 1)
						_exit(1);
				_exit(0);
			}
		}
		for (k = 0; k < 4; k++) {
			wait(&status);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fails++;
		}
		is_int(fails, 0, "four processes updated 2500 times each");
		ok(shm_get(s, "ctr", 3, &got, &glen) == 1 && glen == sizeof(v), "the value is there");
		memcpy(&v, got, sizeof(v));
		free(got);
		is_int((int)v, 10001, "no update was lost");
		ok(shm_update(s, "ctr", 3, SHM_UPDATE_MAX + 1, add_one, NULL, 0) == -1,
		    "a value larger than SHM_UPDATE_MAX is refused");
	}
	shm_detach(a);
	shm_detach(s);
	return done_testing();
}
