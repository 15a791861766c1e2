/*
 * Request rate limits shared by every worker of every generation: one
 * GCRA bucket per client (its identity, else its address) in the session
 * segment, updated atomically under the segment's shard lock, so the limit
 * is the configured one however requests spread over workers.
 */
#ifndef PCM_RATELIMIT_H
#define PCM_RATELIMIT_H

#include <stdint.h>

#include "../core/conf.h"
#include "../core/shm.h"

void	 ratelimit_init(const struct conf *, struct shm *);
/*
 * 1 when the client may go on; 0 when over its limit, with the wait in
 * *retry_ms; 1 too when limits are off or the segment fails (a limiter
 * never takes the service down).
 */
int	 ratelimit_allow(const char *client, int64_t *retry_ms);

#endif
