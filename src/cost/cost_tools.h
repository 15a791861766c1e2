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

/*
 * The cost inputs a configuration names that must be valid before it is
 * used (spec files): 0, or -1 with "FILE: FIELD: why".  Run by -t and by
 * the master before a configuration is accepted, so a broken spec file
 * on reload keeps the old generation serving.
 */
int	 cost_check_config(const struct conf *, char *err, size_t errlen);

/* Registers the tools; -1 with err when the catalogue or specs cannot load. */
int	 cost_tools_init(const struct conf *, struct broker_client *,
	    struct shm *cache, char *err, size_t errlen);

#endif
