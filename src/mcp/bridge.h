#ifndef PCM_BRIDGE_H
#define PCM_BRIDGE_H

/* pulumicost-mcp bridge --socket PATH | --url URL */
int	 bridge_main(int argc, char *argv[]);
/* The --url mode: stdio <-> Streamable HTTP (bridge_http.c). */
int	 bridge_http(const char *url);

#endif
