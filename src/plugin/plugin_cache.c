#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../core/conf.h"
#include "../core/metrics.h"
#include "../core/util.h"
#include "plugin_cache.h"

struct entry {
	uint8_t			*key;
	size_t			 klen;
	struct json_object	*answer;
	int64_t			 expires;	/* now_ms() clock */
};

static struct {
	int64_t		 ttl_meta, ttl_cost;
	struct entry	 e[PCACHE_SLOTS];
} C;

void
pcache_init(const struct conf *c)
{
	pcache_clear();
	C.ttl_meta = c->cache_enabled ? c->ttl_plugin_metadata : 0;
	C.ttl_cost = c->cache_enabled ? c->ttl_cost_data : 0;
}

int64_t
pcache_ttl(const char *rpc)
{
	static const char *const meta[] = { "Name", "GetPluginInfo", "Supports",
	    "GetPricingSpec" };
	static const char *const cost[] = { "GetProjectedCost", "GetActualCost",
	    "EstimateCost", "GetRecommendations", "GetBudgets" };
	size_t i;

	for (i = 0; i < nitems(meta); i++)
		if (strcmp(rpc, meta[i]) == 0)
			return C.ttl_meta;
	for (i = 0; i < nitems(cost); i++)
		if (strcmp(rpc, cost[i]) == 0)
			return C.ttl_cost;
	return 0;	/* DryRun and the rest: always asked */
}

/* plugin NUL rpc NUL request bytes: the key, malloc'd. */
static uint8_t *
make_key(const char *plugin, const char *rpc, const uint8_t *req, size_t len,
    size_t *klen)
{
	size_t a = strlen(plugin) + 1, b = strlen(rpc) + 1;
	uint8_t *k;

	*klen = a + b + len;
	if ((k = malloc(*klen + 1)) == NULL)
		return NULL;
	memcpy(k, plugin, a);
	memcpy(k + a, rpc, b);
	if (len > 0)
		memcpy(k + a + b, req, len);
	return k;
}

static struct entry *
slot(const uint8_t *k, size_t klen)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < klen; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return &C.e[h % PCACHE_SLOTS];
}

static void
count(const char *plugin, const char *result)
{
	char l[160];

	metrics_add(MET_PLUGIN_CACHE, metrics_labels(l, sizeof(l), "plugin", plugin,
	    "result", result, NULL), 1);
}

struct json_object *
pcache_get(const char *plugin, const char *rpc, const uint8_t *req, size_t len)
{
	struct entry *e;
	uint8_t *k;
	size_t klen;
	int hit;

	if (pcache_ttl(rpc) <= 0 || (k = make_key(plugin, rpc, req, len, &klen)) == NULL)
		return NULL;
	e = slot(k, klen);
	hit = e->key != NULL && e->klen == klen && memcmp(e->key, k, klen) == 0 &&
	    e->expires > now_ms();
	free(k);
	count(plugin, hit ? "hit" : "miss");
	return hit ? json_object_get(e->answer) : NULL;
}

void
pcache_put(const char *plugin, const char *rpc, const uint8_t *req, size_t len,
    struct json_object *answer)
{
	int64_t ttl = pcache_ttl(rpc);
	struct entry *e;
	uint8_t *k;
	size_t klen;

	if (ttl <= 0 || (k = make_key(plugin, rpc, req, len, &klen)) == NULL)
		return;
	e = slot(k, klen);
	free(e->key);
	json_object_put(e->answer);
	e->key = k;
	e->klen = klen;
	e->answer = json_object_get(answer);
	e->expires = now_ms() + ttl;
}

void
pcache_clear(void)
{
	size_t i;

	for (i = 0; i < PCACHE_SLOTS; i++) {
		free(C.e[i].key);
		json_object_put(C.e[i].answer);
	}
	memset(C.e, 0, sizeof(C.e));
}
