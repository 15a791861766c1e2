/* The plugin tools (list_cost_plugins, get_plugin_info, check_plugin_health). */
#ifndef PCM_PLUGIN_TOOLS_H
#define PCM_PLUGIN_TOOLS_H

struct broker_client;

void	 plugin_tools_init(struct broker_client *);

#endif
