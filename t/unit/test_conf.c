#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/conf.h"
#include "tap.h"

static char err[1024];

static struct conf *
load(const char *y)
{
	return conf_load_buffer(y, strlen(y), "t.yaml", "/srv/pcm", err, sizeof(err));
}

static void
bad(const char *y, const char *want, const char *what)
{
	struct conf *c = load(y);

	ok(c == NULL && strstr(err, want) != NULL, "%s", what);
	if (c != NULL || strstr(err, want) == NULL)
		printf("#   error was: %s\n#   wanted: %s\n", c ? "(none)" : err, want);
	conf_free(c);
}

int
main(void)
{
	struct conf *c;

	unsetenv("MCP_SERVER_PORT");
	unsetenv("MCP_LOG_LEVEL");
	c = load("");
	ok(c != NULL, "empty file gives defaults");
	is_int(c->port, 8080, "default port");
	is_int(c->nlisten, 1, "one listener from host/port");
	is_str(c->listen[0].host, "127.0.0.1", "default host");
	is_int(c->read_timeout, 30000, "default read timeout");
	is_int(c->max_message_size, 10485760, "default max message size");
	is_str(c->pid_file, "/srv/pcm/run/pulumicost-mcp.pid", "pid file resolved against prefix");
	conf_free(c);

	c = load("server:\n  listen:\n    - 127.0.0.1:9000\n"
	    "    - address: \"[::1]:9001\"\n    - address: unix:run/x.sock\n"
	    "      mode: \"0600\"\n      backlog: 16\n");
	ok(c != NULL, "three listeners: %s", c ? "" : err);
	if (c) {
		is_int(c->listen[1].family, 10, "IPv6 listener");
		is_str(c->listen[2].path, "/srv/pcm/run/x.sock", "unix path resolved");
		is_int(c->listen[2].mode, 0600, "mode");
		is_int(c->listen[2].backlog, 16, "backlog");
	}
	conf_free(c);

	bad("server:\n  port: 70000\n", "t.yaml:2:9: server.port: value 70000 is out of range",
	    "out of range names file, line, column and key");
	bad("server:\n  bogus: 1\n", "t.yaml:2:3: server.bogus: unknown key", "unknown key");
	bad("server:\n  port: 1\n  port: 2\n", "t.yaml:3:3: server.port: duplicate key",
	    "duplicate key");
	bad("server:\n  port: \"8080\"\n", "server.port: expected an integer", "quoted number is a string");
	bad("server:\n  read_timeout: soon\n", "server.read_timeout: expected a duration", "bad duration");
	bad("mcp:\n  max_message_size: 12 apples\n", "mcp.max_message_size: expected a size", "bad size");
	bad("server: [1, 2]\n", "server: expected a mapping", "section of the wrong shape");
	bad("server:\n  port: [1]\n", "server.port: expected a single value", "list for a scalar");
	bad("server:\n  sandbox: maybe\n", "\"maybe\" is not one of: enforce, trap, log, off", "bad enum");
	bad("server:\n  listen:\n    - address: 1.2.3:80\n", "server.listen[0].address", "bad address");
	bad("server:\n  listen:\n    - 127.0.0.1:80\n    - 127.0.0.1:80\n", "listed twice", "duplicate listener");
	bad("server:\n  port: 1\n   x: [\n", "t.yaml:", "YAML syntax error has a location");
	bad("security:\n  tls:\n    enabled: true\n    cert_file: /nonexistent/cert.pem\n"
	    "    key_file: /nonexistent/key.pem\n", "security.tls.cert_file: cannot read",
	    "missing certificate named");
	bad("pulumi:\n  backend_url: https://api.pulumi.com\n", "only file://", "service backend refused plainly");
	bad("server:\n  user: no-such-user-here\n", "no such user", "unknown user");
	bad("server:\n  port: 1\n---\nserver:\n  port: 2\n", "more than one YAML document", "two documents");

	setenv("MCP_SERVER_PORT", "9999", 1);
	setenv("MCP_LOG_LEVEL", "debug", 1);
	c = load("server:\n  port: 8080\n");
	ok(c != NULL && c->port == 9999 && c->listen[0].port == 9999,
	    "MCP_SERVER_PORT overrides the file");
	ok(c != NULL && c->log_level == LOG_DEBUG, "MCP_LOG_LEVEL overrides");
	conf_free(c);
	setenv("MCP_SERVER_PORT", "http", 1);
	bad("", "environment variable MCP_SERVER_PORT: expected an integer",
	    "bad environment value named");
	unsetenv("MCP_SERVER_PORT");
	unsetenv("MCP_LOG_LEVEL");

	c = load("server:\n  log_level: warn\n");
	ok(c && c->log_level == LOG_WARN, "server.log_level honoured when logging.level is absent");
	conf_free(c);
	c = load("server:\n  log_level: warn\nobservability:\n  logging:\n    level: error\n");
	ok(c && c->log_level == LOG_ERROR, "observability.logging.level wins");
	conf_free(c);

	c = load("stacks:\n  prod: state/prod.json\n  dev:\n    preview: p.json\n");
	ok(c && c->nstacks == 2 && strcmp(c->stacks[0].state, "/srv/pcm/state/prod.json") == 0,
	    "stacks parsed and resolved");
	conf_free(c);
	return done_testing();
}
