/* pulumicost-mcp plugin list | info NAME | validate NAME [--level L] */
#ifndef PCM_PLUGIN_CLI_H
#define PCM_PLUGIN_CLI_H

int	 plugin_cli_main(int argc, char *argv[]);

#endif
