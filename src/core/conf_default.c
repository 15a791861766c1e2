/*
 * The embedded default configuration: what runs when no -c is given and
 * no installed config file exists.  Relative paths resolve against the
 * prefix (-p), so "pulumicost-mcp -p ." serves from the current tree.
 */
#include "config.h"

#include "conf.h"

const char conf_default_yaml[] =
"# pulumicost-mcp embedded defaults\n"
"server:\n"
"  listen:\n"
"    - address: 127.0.0.1:8080\n"
"    - address: unix:run/pulumicost-mcp.sock\n"
"      mode: \"0660\"\n"
"    - address: unix:run/pulumicost-mcp-stream.sock\n"
"      protocol: stream\n"
"      mode: \"0660\"\n"
"  worker_processes: 2\n"
"  pid_file: run/pulumicost-mcp.pid\n"
"stacks:\n"
"  example:\n"
"    state: builtin:example\n"
"    preview: builtin:example-preview\n"
"billing:\n"
"  focus:\n"
"    - builtin:example-billing\n"
"observability:\n"
"  logging:\n"
"    output: stderr\n";
