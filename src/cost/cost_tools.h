/*
 * The cost tools of the MCP registry: analyze_projected_costs and the
 * tools built on the same engine.  Stacks named by stack_name are
 * resolved through the configuration and read by the broker.
 */
#ifndef PCM_COST_TOOLS_H
#define PCM_COST_TOOLS_H

struct broker_client;
struct conf;
struct shm;

/* Registers the tools; -1 with err when the catalogue cannot load. */
int	 cost_tools_init(const struct conf *, struct broker_client *,
	    struct shm *cache, char *err, size_t errlen);

#endif
