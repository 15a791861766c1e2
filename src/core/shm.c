#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm.h"
#include "util.h"

enum { SLOT_EMPTY = 0, SLOT_LIVE, SLOT_TOMB };

struct slot {
	uint64_t	hash;
	uint64_t	epoch;
	int64_t		expires_ms;	/* CLOCK_REALTIME ms: valid across processes */
	uint64_t	pos;		/* logical arena position of the record */
	uint32_t	len;		/* record length */
	uint8_t		state;
	uint8_t		ref;		/* CLOCK bit */
	uint8_t		pad[2];
};

struct shard {
	pthread_mutex_t	mu;
	uint32_t	nslots;
	uint32_t	live;
	uint32_t	tomb;
	uint32_t	hand;
	uint64_t	arena_off;	/* from the shard start */
	uint64_t	arena_len;
	uint64_t	head;		/* logical position of the next write */
	struct slot	slots[];
};

struct rec {
	uint32_t	klen;
	uint32_t	vlen;
};

struct shm {
	int		 fd;
	size_t		 size;
	struct shm_hdr	*hdr;
};

#define ALIGN8(x)	(((x) + 7) & ~(uint64_t)7)

/* --- SipHash-2-4 (Aumasson, Bernstein), keyed by the master at creation --- */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

uint64_t
siphash24(const void *data, size_t len, const uint64_t key[2])
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, end = len - (len % 8);
	int k;

	for (i = 0; i < end; i += 8) {
		m = 0;
		for (k = 7; k >= 0; k--)
			m = (m << 8) | p[i + (size_t)k];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (k = (int)(len % 8) - 1; k >= 0; k--)
		b |= (uint64_t)p[end + (size_t)k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- layout --------------------------------------------------------------- */

static struct shard *
shard_at(struct shm *s, unsigned i)
{
	return (struct shard *)((char *)s->hdr + s->hdr->shards_off +
	    (uint64_t)i * s->hdr->shard_bytes);
}

static char *
arena(struct shard *sh)
{
	return (char *)sh + sh->arena_off;
}

/* Reset a shard's contents (not its mutex). */
static void
shard_wipe(struct shard *sh)
{
	memset(sh->slots, 0, sh->nslots * sizeof(struct slot));
	sh->live = sh->tomb = sh->hand = 0;
	sh->head = 0;
}

static int
shard_init(struct shard *sh, uint64_t bytes)
{
	pthread_mutexattr_t a;
	uint64_t slots_bytes;

	/* About one slot per 512 bytes of arena; at least 16. */
	sh->nslots = (uint32_t)(bytes / (512 + sizeof(struct slot)));
	if (sh->nslots < 16)
		sh->nslots = 16;
	slots_bytes = ALIGN8(sizeof(struct shard) +
	    sh->nslots * sizeof(struct slot));
	if (slots_bytes + 4096 > bytes)
		return -1;
	sh->arena_off = slots_bytes;
	sh->arena_len = bytes - slots_bytes;
	shard_wipe(sh);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&sh->mu, &a) != 0) {
		pthread_mutexattr_destroy(&a);
		return -1;
	}
	pthread_mutexattr_destroy(&a);
	return 0;
}

struct shm *
shm_create(size_t size, unsigned nshards, char *err, size_t errlen)
{
	struct shm *s;
	struct shm_hdr *h;
	uint64_t shards_off, shard_bytes;
	unsigned i;

	if (nshards == 0 || (nshards & (nshards - 1)) != 0) {
		snprintf(err, errlen, "shard count %u is not a power of two", nshards);
		return NULL;
	}
	shards_off = ALIGN8(sizeof(struct shm_hdr));
	shards_off = (shards_off + 4095) & ~(uint64_t)4095;
	if (size < shards_off + nshards * 8192) {
		snprintf(err, errlen, "segment of %zu bytes is too small", size);
		return NULL;
	}
	shard_bytes = ((size - shards_off) / nshards) & ~(uint64_t)63;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->size = size;
	s->fd = memfd_create("pulumicost-mcp-shm", MFD_CLOEXEC);
	if (s->fd == -1 || ftruncate(s->fd, (off_t)size) == -1) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		goto fail;
	}
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (h == MAP_FAILED) {
		snprintf(err, errlen, "mmap %zu bytes: %s", size, strerror(errno));
		goto fail;
	}
	s->hdr = h;
	h->layout_version = SHM_LAYOUT_VERSION;
	h->nshards = nshards;
	h->size = size;
	h->shard_bytes = shard_bytes;
	h->shards_off = shards_off;
	if (getrandom(h->hash_key, sizeof(h->hash_key), 0) !=
	    (ssize_t)sizeof(h->hash_key) ||
	    getrandom(h->secret, sizeof(h->secret), 0) != (ssize_t)sizeof(h->secret)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < nshards; i++) {
		if (shard_init(shard_at(s, i), shard_bytes) == -1) {
			snprintf(err, errlen, "shard %u: cannot initialise", i);
			goto fail;
		}
	}
	h->magic = SHM_MAGIC;
	return s;
fail:
	shm_detach(s);
	return NULL;
}

struct shm *
shm_attach(int fd, char *err, size_t errlen)
{
	struct shm *s;
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "shm fd %d: %s", fd, strerror(errno));
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "shm mmap: %s", strerror(errno));
		return NULL;
	}
	if (((struct shm_hdr *)p)->magic != SHM_MAGIC ||
	    ((struct shm_hdr *)p)->layout_version != SHM_LAYOUT_VERSION ||
	    ((struct shm_hdr *)p)->size != (uint64_t)st.st_size) {
		munmap(p, (size_t)st.st_size);
		snprintf(err, errlen, "shm segment has the wrong layout");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		munmap(p, (size_t)st.st_size);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->fd = fd;
	s->size = (size_t)st.st_size;
	s->hdr = p;
	return s;
}

void
shm_detach(struct shm *s)
{
	if (s == NULL)
		return;
	if (s->hdr != NULL)
		munmap(s->hdr, s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

int
shm_fd(const struct shm *s)
{
	return s->fd;
}

struct shm_hdr *
shm_hdr(struct shm *s)
{
	return s->hdr;
}

size_t
shm_size(const struct shm *s)
{
	return s->size;
}

unsigned
shm_nshards(const struct shm *s)
{
	return s->hdr->nshards;
}

void
shm_stat_add(struct shm *s, enum shm_stat st, uint64_t n)
{
	atomic_fetch_add(&s->hdr->stats[st], n);
}

void
shm_bump_epoch(struct shm *s)
{
	atomic_fetch_add(&s->hdr->epoch, 1);
}

/* --- locking -------------------------------------------------------------- */

/*
 * Lock a shard.  EOWNERDEAD means the holder died mid-update: the shard's
 * contents cannot be trusted, so they are wiped (a cache may always
 * forget) and the mutex is marked consistent again.
 */
static int
shard_lock(struct shm *s, struct shard *sh)
{
	int r = pthread_mutex_lock(&sh->mu);

	if (r == EOWNERDEAD) {
		shard_wipe(sh);
		shm_stat_add(s, ST_RECOVERIES, 1);
		if (pthread_mutex_consistent(&sh->mu) != 0) {
			pthread_mutex_unlock(&sh->mu);
			return -1;
		}
		return 0;
	}
	return r == 0 ? 0 : -1;
}

static void
shard_unlock(struct shard *sh)
{
	pthread_mutex_unlock(&sh->mu);
}

int
shm_lock_shard_forever(struct shm *s, unsigned i)
{
	if (i >= s->hdr->nshards)
		return -1;
	return shard_lock(s, shard_at(s, i));
}

/* --- table ---------------------------------------------------------------- */

unsigned
shm_shard_of(struct shm *s, const void *key, size_t klen)
{
	return (unsigned)(siphash24(key, klen, s->hdr->hash_key) &
	    (s->hdr->nshards - 1));
}

/* A record is intact while the arena has not written over it since. */
static int
rec_intact(const struct shard *sh, const struct slot *sl)
{
	return sl->pos + sh->arena_len >= sh->head;
}

static int
slot_valid(struct shm *s, const struct shard *sh, const struct slot *sl,
    int64_t now)
{
	return sl->state == SLOT_LIVE && rec_intact(sh, sl) &&
	    sl->epoch == atomic_load(&s->hdr->epoch) &&
	    (sl->expires_ms == 0 || sl->expires_ms > now);
}

static struct rec *
rec_of(struct shard *sh, const struct slot *sl)
{
	return (struct rec *)(arena(sh) + sl->pos % sh->arena_len);
}

static int
rec_matches(struct shard *sh, const struct slot *sl, const void *key,
    size_t klen)
{
	struct rec *r = rec_of(sh, sl);

	return r->klen == klen && memcmp(r + 1, key, klen) == 0;
}

static void
slot_kill(struct shard *sh, struct slot *sl)
{
	sl->state = SLOT_TOMB;
	sh->live--;
	sh->tomb++;
}

/* Find the slot holding key, or -1. */
static long
find_slot(struct shard *sh, uint64_t h, const void *key, size_t klen)
{
	uint32_t i, idx;

	for (i = 0; i < sh->nslots; i++) {
		idx = (uint32_t)((h + i) % sh->nslots);
		if (sh->slots[idx].state == SLOT_EMPTY)
			return -1;
		if (sh->slots[idx].state == SLOT_LIVE &&
		    sh->slots[idx].hash == h &&
		    rec_intact(sh, &sh->slots[idx]) &&
		    rec_matches(sh, &sh->slots[idx], key, klen))
			return idx;
	}
	return -1;
}

int
shm_get(struct shm *s, const void *key, size_t klen, char **val, size_t *vlen)
{
	uint64_t h = siphash24(key, klen, s->hdr->hash_key);
	struct shard *sh = shard_at(s, (unsigned)(h & (s->hdr->nshards - 1)));
	struct slot *sl;
	struct rec *r;
	long idx;
	int found = 0;

	if (shard_lock(s, sh) == -1)
		return -1;
	idx = find_slot(sh, h, key, klen);
	if (idx >= 0) {
		sl = &sh->slots[idx];
		if (!slot_valid(s, sh, sl, wall_ms())) {
			slot_kill(sh, sl);
			shm_stat_add(s, ST_EXPIRED, 1);
		} else {
			r = rec_of(sh, sl);
			/* Copy out: no pointer into shm survives the unlock. */
			if ((*val = malloc(r->vlen + 1)) != NULL) {
				memcpy(*val, (char *)(r + 1) + r->klen, r->vlen);
				(*val)[r->vlen] = '\0';
				*vlen = r->vlen;
				sl->ref = 1;
				found = 1;
			}
		}
	}
	shard_unlock(sh);
	shm_stat_add(s, found ? ST_HITS : ST_MISSES, 1);
	return found;
}

/*
 * Make room in the table: drop what is stale, then run the CLOCK hand
 * until at most 70% of the slots are live, then rebuild the table in place
 * so that tombstones do not lengthen probe chains.
 */
static int
shard_compact(struct shm *s, struct shard *sh)
{
	struct slot *copy;
	uint32_t i, j, idx, n = 0, target = sh->nslots * 7 / 10;
	int64_t now = wall_ms();

	for (i = 0; i < sh->nslots; i++)
		if (sh->slots[i].state == SLOT_LIVE &&
		    !slot_valid(s, sh, &sh->slots[i], now))
			slot_kill(sh, &sh->slots[i]);
	for (i = 0; sh->live > target && i < 2 * sh->nslots; i++) {
		struct slot *sl = &sh->slots[sh->hand];

		sh->hand = (sh->hand + 1) % sh->nslots;
		if (sl->state != SLOT_LIVE)
			continue;
		if (sl->ref) {
			sl->ref = 0;
			continue;
		}
		slot_kill(sh, sl);
		shm_stat_add(s, ST_EVICTIONS, 1);
	}
	if ((copy = malloc(sh->live * sizeof(*copy) + 1)) == NULL)
		return -1;
	for (i = 0; i < sh->nslots; i++)
		if (sh->slots[i].state == SLOT_LIVE)
			copy[n++] = sh->slots[i];
	memset(sh->slots, 0, sh->nslots * sizeof(struct slot));
	for (j = 0; j < n; j++) {
		for (i = 0; i < sh->nslots; i++) {
			idx = (uint32_t)((copy[j].hash + i) % sh->nslots);
			if (sh->slots[idx].state == SLOT_EMPTY) {
				sh->slots[idx] = copy[j];
				break;
			}
		}
	}
	sh->live = n;
	sh->tomb = 0;
	free(copy);
	return 0;
}

static int
fits(struct shm *s, const struct shard *sh, size_t klen, size_t vlen)
{
	if (ALIGN8(sizeof(struct rec) + klen + vlen) > sh->arena_len / 8 ||
	    klen > UINT32_MAX || vlen > UINT32_MAX) {
		shm_stat_add(s, ST_TOO_BIG, 1);
		return 0;
	}
	return 1;
}

/* Store key and val in a locked shard (fits() said it may). */
static int
put_locked(struct shm *s, struct shard *sh, uint64_t h, const void *key,
    size_t klen, const void *val, size_t vlen, int64_t ttl_ms)
{
	uint64_t need = ALIGN8(sizeof(struct rec) + klen + vlen), pos;
	struct slot *sl;
	struct rec *r;
	uint32_t i, idx;
	long old;

	if ((old = find_slot(sh, h, key, klen)) >= 0)
		slot_kill(sh, &sh->slots[old]);
	if ((sh->live + sh->tomb + 1) * 10 >= sh->nslots * 9 &&
	    shard_compact(s, sh) == -1)
		return -1;
	/* A record never straddles the end of the arena: skip to the start. */
	pos = sh->head;
	if (pos % sh->arena_len + need > sh->arena_len)
		pos += sh->arena_len - pos % sh->arena_len;
	r = (struct rec *)(arena(sh) + pos % sh->arena_len);
	r->klen = (uint32_t)klen;
	r->vlen = (uint32_t)vlen;
	memcpy(r + 1, key, klen);
	memcpy((char *)(r + 1) + klen, val, vlen);
	sh->head = pos + need;
	for (i = 0; i < sh->nslots; i++) {
		idx = (uint32_t)((h + i) % sh->nslots);
		sl = &sh->slots[idx];
		if (sl->state != SLOT_LIVE) {
			if (sl->state == SLOT_TOMB)
				sh->tomb--;
			sl->state = SLOT_LIVE;
			sl->hash = h;
			sl->epoch = atomic_load(&s->hdr->epoch);
			sl->expires_ms = ttl_ms > 0 ? wall_ms() + ttl_ms : 0;
			sl->pos = pos;
			sl->len = (uint32_t)need;
			sl->ref = 0;
			sh->live++;
			break;
		}
	}
	shm_stat_add(s, ST_INSERTS, 1);
	return 0;
}

int
shm_put(struct shm *s, const void *key, size_t klen, const void *val,
    size_t vlen, int64_t ttl_ms)
{
	uint64_t h = siphash24(key, klen, s->hdr->hash_key);
	struct shard *sh = shard_at(s, (unsigned)(h & (s->hdr->nshards - 1)));
	int r;

	if (!fits(s, sh, klen, vlen) || shard_lock(s, sh) == -1)
		return -1;
	r = put_locked(s, sh, h, key, klen, val, vlen, ttl_ms);
	shard_unlock(sh);
	return r;
}

int
shm_update(struct shm *s, const void *key, size_t klen, size_t vlen,
    int (*fn)(void *val, void *arg), void *arg, int64_t ttl_ms)
{
	uint64_t h = siphash24(key, klen, s->hdr->hash_key);
	struct shard *sh = shard_at(s, (unsigned)(h & (s->hdr->nshards - 1)));
	unsigned char buf[SHM_UPDATE_MAX];
	int64_t now = wall_ms();
	struct slot *sl;
	struct rec *r;
	long idx;
	int ret;

	if (vlen > sizeof(buf) || !fits(s, sh, klen, vlen) || shard_lock(s, sh) == -1)
		return -1;
	idx = find_slot(sh, h, key, klen);
	if (idx >= 0 && slot_valid(s, sh, (sl = &sh->slots[idx]), now) &&
	    (r = rec_of(sh, sl))->vlen == vlen) {
		/* In place: the record is ours while the shard is locked. */
		ret = fn((char *)(r + 1) + r->klen, arg);
		sl->expires_ms = ttl_ms > 0 ? now + ttl_ms : 0;
		sl->ref = 1;
	} else {
		memset(buf, 0, vlen);
		ret = fn(buf, arg);
		if (put_locked(s, sh, h, key, klen, buf, vlen, ttl_ms) == -1)
			ret = -1;
	}
	shard_unlock(sh);
	return ret;
}

/* 1 when the key was there, 0 when not, -1 on error. */
int
shm_del(struct shm *s, const void *key, size_t klen)
{
	uint64_t h = siphash24(key, klen, s->hdr->hash_key);
	struct shard *sh = shard_at(s, (unsigned)(h & (s->hdr->nshards - 1)));
	long idx;

	if (shard_lock(s, sh) == -1)
		return -1;
	if ((idx = find_slot(sh, h, key, klen)) >= 0)
		slot_kill(sh, &sh->slots[idx]);
	shard_unlock(sh);
	return idx >= 0 ? 1 : 0;
}

int
shm_touch(struct shm *s, const void *key, size_t klen, int64_t ttl_ms)
{
	uint64_t h = siphash24(key, klen, s->hdr->hash_key);
	struct shard *sh = shard_at(s, (unsigned)(h & (s->hdr->nshards - 1)));
	long idx;
	int64_t now = wall_ms();

	if (shard_lock(s, sh) == -1)
		return -1;
	idx = find_slot(sh, h, key, klen);
	if (idx >= 0 && slot_valid(s, sh, &sh->slots[idx], now))
		sh->slots[idx].expires_ms = ttl_ms > 0 ? now + ttl_ms : 0;
	else
		idx = -1;
	shard_unlock(sh);
	return idx >= 0 ? 1 : 0;
}
