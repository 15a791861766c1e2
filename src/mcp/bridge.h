#ifndef PCM_BRIDGE_H
#define PCM_BRIDGE_H

/* pulumicost-mcp bridge --socket PATH: stdio <-> the stream protocol. */
int	 bridge_main(int argc, char *argv[]);

#endif
