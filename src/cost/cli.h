/*
 * pulumicost-mcp cost projected: the projected-cost engine on the command
 * line, for CI without MCP.  JSON output is compatible with finfocus
 * core's ({"finfocus":{"summary":...,"resources":[CostResult...]}}).
 */
#ifndef PCM_CLI_H
#define PCM_CLI_H

int	 cost_cli_main(int argc, char *argv[]);

#endif
