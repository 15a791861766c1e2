/*
 * Plugin answers cached by the broker (cache.ttl.plugin_metadata for
 * what describes a plugin, cache.ttl.cost_data for costs): the key is the
 * plugin, the RPC and the request's exact protobuf bytes.  Direct-mapped
 * and bounded (PCACHE_SLOTS answers); a generation's broker starts empty,
 * so a reload (which may change a plugin) never serves an old answer.
 * Health checks and conformance runs never use it: they measure the
 * plugin itself.
 */
#ifndef PCM_PLUGIN_CACHE_H
#define PCM_PLUGIN_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define PCACHE_SLOTS	4096

struct conf;

void	 pcache_init(const struct conf *);
/* How long an answer of this RPC is kept (ms); 0: not cached. */
int64_t	 pcache_ttl(const char *rpc);
/* A new reference to the answer, or NULL. */
struct json_object *pcache_get(const char *plugin, const char *rpc,
	    const uint8_t *req, size_t len);
void	 pcache_put(const char *plugin, const char *rpc, const uint8_t *req,
	    size_t len, struct json_object *answer);
void	 pcache_clear(void);

#endif
