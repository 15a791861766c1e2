/*
 * The cost tools of the MCP registry: analyze_projected_costs and the
 * tools built on the same engine.  Stacks named by stack_name are
 * resolved through the configuration and read by the broker.
 */
#ifndef PCM_COST_TOOLS_H
#define PCM_COST_TOOLS_H

#include <json-c/json.h>

struct broker_client;
struct conf;
struct focus_store;
struct pstack;
struct shm;
struct tool_call;

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

/*
 * The stack a call's arguments name (stack_name or pulumi_json) and the
 * billing data the broker holds (billing.focus), mapped read-only, then
 * fn(call, stack, store, arg), which answers the call (stack NULL when the
 * arguments name none: all the billing data); the stack and the
 * data are released after it.  drop(arg) runs after fn, or when the
 * stack or the data cannot be had (the call is answered with why).
 */
typedef void (*billing_fn)(struct tool_call *, struct pstack *,
	    const struct focus_store *, void *arg);
void	 cost_with_billing(struct tool_call *, struct json_object *args,
	    billing_fn fn, void *arg, void (*drop)(void *));
/*
 * The same, with flags: WB_OPTIONAL, no billing configured is an empty
 * store; WB_PRICES, the stack comes with what plugins price of it.
 */
#define WB_OPTIONAL	1
#define WB_PRICES	2
void	 cost_with_billing_opt(struct tool_call *, struct json_object *args,
	    billing_fn fn, void *arg, void (*drop)(void *), int flags);
/* The configuration the tools were registered with. */
const struct conf *cost_conf(void);
/* The broker, and how many plugins it runs (-1: not asked yet). */
struct broker_client *cost_broker(void);
int64_t	 cost_plugins_running(void);
/* The analysis tools (src/cost/insight.c and one file per tool). */
void	 insight_tools_init(void);
/* query_cost_by_tags with a time_range: from actual spend. */
void	 insight_tags_actual(struct tool_call *, struct json_object *args);

#endif
