/*
 * The shared-memory segment: created by the master (memfd), mapped by
 * every worker and the broker.  Offsets only, never pointers.  It holds
 * the scoreboard (per-process heartbeats and counters) and the cost cache,
 * split into shards, each a self-contained open-addressing table with a
 * circular record arena, guarded by a process-shared robust mutex.
 * A process that dies holding a shard lock costs that shard its contents,
 * never a hang.
 */
#ifndef PCM_SHM_H
#define PCM_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_MAGIC		0x314d48534d4350ULL	/* "PCMSHM1" */
#define SHM_LAYOUT_VERSION	2
#define SHM_MAX_SLOTS		512	/* 64 workers x 4 generations + brokers */

enum shm_stat {
	ST_HITS, ST_MISSES, ST_INSERTS, ST_EVICTIONS, ST_EXPIRED,
	ST_RECOVERIES, ST_TOO_BIG, ST_RELOADS, ST_RELOAD_FAILURES,
	ST_WORKER_RESTARTS, ST_SECCOMP_VIOLATIONS, ST_NSTATS = 16
};

struct shm_sb {				/* one scoreboard slot */
	_Atomic int32_t		pid;
	uint32_t		gen;
	int32_t			role;	/* 1 worker, 2 broker */
	int32_t			wslot;
	_Atomic int64_t		heartbeat_ms;
	_Atomic uint64_t	requests;
	_Atomic uint64_t	connections;
	_Atomic int32_t		draining;
	int32_t			pad;
};

struct shm_hdr {
	uint64_t		magic;
	uint32_t		layout_version;
	uint32_t		nshards;
	uint64_t		size;
	uint64_t		shard_bytes;
	uint64_t		shards_off;
	uint64_t		hash_key[2];
	uint8_t			secret[32];	/* random: MAC key (MRTR requestState) */
	_Atomic uint64_t	epoch;
	_Atomic uint64_t	stats[ST_NSTATS];
	struct shm_sb		sb[SHM_MAX_SLOTS];
};

struct shm;

struct shm	*shm_create(size_t size, unsigned nshards, char *err, size_t errlen);
struct shm	*shm_attach(int fd, char *err, size_t errlen);
void		 shm_detach(struct shm *);
int		 shm_fd(const struct shm *);
struct shm_hdr	*shm_hdr(struct shm *);
size_t		 shm_size(const struct shm *);
unsigned	 shm_nshards(const struct shm *);

/* 1 and a malloc'd copy in *val on a hit, 0 on a miss, -1 on error. */
int		 shm_get(struct shm *, const void *key, size_t klen,
		    char **val, size_t *vlen);
int		 shm_put(struct shm *, const void *key, size_t klen,
		    const void *val, size_t vlen, int64_t ttl_ms);
int		 shm_del(struct shm *, const void *key, size_t klen);
/*
 * Read-modify-write under the shard lock, atomic across processes: fn
 * changes the value (vlen bytes, at most SHM_UPDATE_MAX; zeroed when the
 * key is absent, stale or of another size) in place, and it is kept for
 * ttl_ms from now.  Returns what fn returns, or -1 on error.
 */
#define SHM_UPDATE_MAX	256
int		 shm_update(struct shm *, const void *key, size_t klen, size_t vlen,
		    int (*fn)(void *val, void *arg), void *arg, int64_t ttl_ms);
/* Restart an entry's time to live without rewriting it: 1, 0 if absent. */
int		 shm_touch(struct shm *, const void *key, size_t klen, int64_t ttl_ms);
unsigned	 shm_shard_of(struct shm *, const void *key, size_t klen);
void		 shm_bump_epoch(struct shm *);
void		 shm_stat_add(struct shm *, enum shm_stat, uint64_t);

/* Test hook: take a shard lock and never give it back. */
int		 shm_lock_shard_forever(struct shm *, unsigned shard);

uint64_t	 siphash24(const void *data, size_t len, const uint64_t key[2]);

#endif
