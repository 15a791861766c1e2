/*
 * GCRA (the generic cell rate algorithm): a client's state is one time,
 * the theoretical arrival time (TAT) of its next request.  With an
 * emission interval T = 60 s / requests_per_minute and burst B, a request
 * at time t is allowed when max(TAT, t) + T - t <= B * T, and then
 * TAT = max(TAT, t) + T.  So B requests pass at once, then one every T:
 * a token bucket of B tokens refilled at the configured rate, in 8 bytes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../core/util.h"
#include "ratelimit.h"

static const struct conf *cf;
static struct shm *segment;

struct decision {
	int64_t		 now_us, t_us, burst;
	int64_t		 retry_us;
};

void
ratelimit_init(const struct conf *c, struct shm *s)
{
	cf = c;
	segment = s;
}

static int
gcra(void *val, void *arg)
{
	struct decision *d = arg;
	int64_t tat, next;

	memcpy(&tat, val, sizeof(tat));
	if (tat < d->now_us)
		tat = d->now_us;
	next = tat + d->t_us;
	if (next - d->now_us > d->burst * d->t_us) {
		d->retry_us = next - d->now_us - d->burst * d->t_us;
		return 0;
	}
	memcpy(val, &next, sizeof(next));
	return 1;
}

int
ratelimit_allow(const char *client, int64_t *retry_ms)
{
	struct decision d;
	char key[160];
	int n, r;

	*retry_ms = 0;
	if (cf == NULL || !cf->rl_enabled || segment == NULL)
		return 1;
	/* CLOCK_MONOTONIC: one clock for every process of the machine. */
	d.now_us = (int64_t)mono_usec();
	d.t_us = 60000000 / cf->rl_per_minute;
	d.burst = cf->rl_burst;
	d.retry_us = 0;
	n = snprintf(key, sizeof(key), "ratelimit\n%s", client);
	if (n < 0 || (size_t)n >= sizeof(key))
		n = (int)sizeof(key) - 1;
	/* Forgotten once full again: an idle client's bucket is all tokens. */
	r = shm_update(segment, key, (size_t)n, sizeof(int64_t), gcra, &d,
	    (d.burst * d.t_us) / 1000 + 1000);
	if (r == 0) {
		*retry_ms = (d.retry_us + 999) / 1000;
		return 0;
	}
	return 1;
}
