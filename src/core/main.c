/*
 * pulumicost-mcp: command line.  One binary plays every role: the master
 * (the default), and, when the master execs it with --role, a worker or
 * the broker.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../cost/catalog_import.h"
#include "../plugin/plugin_cli.h"
#include "../cost/cli.h"
#include "../cost/cost_tools.h"
#include "../net/auth.h"
#include "../mcp/bridge.h"
#include "../net/tls.h"
#include "../plugin/broker.h"
#include "child.h"
#include "conf.h"
#include "master.h"
#include "util.h"
#include "worker.h"

#ifndef PCM_CONF_PATH
#define PCM_CONF_PATH "/etc/pulumicost-mcp/config.yaml"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: %s [-htTV] [-c file] [-p prefix] [-s signal] [--foreground]\n"
"       %s bridge --socket PATH | --url URL\n"
"       %s cost projected --pulumi-json FILE [--output table|json|ndjson]\n"
"       %s catalog import [--format aws|azure|gcp] --out DIR FILE\n"
"\n"
"  -c, --config FILE     configuration file (default %s;\n"
"                        embedded defaults when it does not exist)\n"
"  -p, --prefix DIR      directory that relative paths resolve against\n"
"                        (default: the config file's directory, or the\n"
"                        current directory for the embedded defaults)\n"
"  -t, --test-config     validate the configuration and exit 0 or 1\n"
"  -T                    validate, then print the effective configuration\n"
"                        (defaults and environment applied, secrets redacted)\n"
"  -s SIGNAL             send reload, quit, stop or reopen to the running\n"
"                        master named by server.pid_file\n"
"      --foreground      do not detach (systemd, containers, tests)\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n",
	    PCM_NAME, PCM_NAME, PCM_NAME, PCM_NAME, PCM_CONF_PATH);
}

static int
signal_master(const struct conf *c, const char *name)
{
	static const struct { const char *name; int sig; } map[] = {
		{ "reload", SIGHUP }, { "quit", SIGQUIT }, { "stop", SIGTERM },
		{ "reopen", SIGUSR1 },
	};
	char buf[32];
	size_t i;
	ssize_t n;
	long pid;
	int fd;

	for (i = 0; i < nitems(map); i++)
		if (strcmp(map[i].name, name) == 0)
			break;
	if (i == nitems(map)) {
		fprintf(stderr, "%s: unknown signal \"%s\" (use reload, quit, stop"
		    " or reopen)\n", PCM_NAME, name);
		return 1;
	}
	if ((fd = open(c->pid_file, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: cannot open pid file %s: %s (is the server"
		    " running?)\n", PCM_NAME, c->pid_file, strerror(errno));
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (buf[n] = '\0', pid = strtol(buf, NULL, 10)) <= 1) {
		fprintf(stderr, "%s: pid file %s holds no pid\n", PCM_NAME,
		    c->pid_file);
		return 1;
	}
	if (kill((pid_t)pid, map[i].sig) == -1) {
		fprintf(stderr, "%s: cannot signal pid %ld: %s\n", PCM_NAME, pid,
		    strerror(errno));
		return 1;
	}
	return 0;
}

/* -p, else the config file's directory, else the current directory. */
static char *
choose_prefix(const char *opt, const char *conf_path)
{
	char buf[PATH_MAX], *slash;

	if (opt != NULL)
		return realpath(opt, NULL);
	if (conf_path != NULL) {
		if (realpath(conf_path, buf) == NULL)
			return getcwd(NULL, 0);
		if ((slash = strrchr(buf, '/')) != NULL)
			*(slash == buf ? slash + 1 : slash) = '\0';
		return strdup(buf);
	}
	return getcwd(NULL, 0);
}

static int
child_role(const char *role, uint32_t gen, int slot, int sb,
    const char *prefix, const char *name)
{
	struct child_args a = { role, gen, slot, sb, prefix, name };

	if (prefix == NULL || name == NULL)
		return 2;
	if (strcmp(role, "worker") == 0)
		return worker_main(&a);
	if (strcmp(role, "broker") == 0)
		return broker_main(&a);
	fprintf(stderr, "%s: unknown role %s\n", PCM_NAME, role);
	return 2;
}

int
main(int argc, char *argv[])
{
	enum { OPT_FG = 256, OPT_ROLE, OPT_GEN, OPT_SLOT, OPT_SB, OPT_CNAME };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "test-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "foreground", no_argument, NULL, OPT_FG },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "gen", required_argument, NULL, OPT_GEN },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "sb", required_argument, NULL, OPT_SB },
		{ "conf-name", required_argument, NULL, OPT_CNAME },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = NULL, *prefix_opt = NULL, *sig = NULL;
	const char *role = NULL, *cname = NULL;
	struct master_opts mo = { 0 };
	int ch, test = 0, dump = 0, rc, slot = -1, sb = -1;
	uint32_t gen = 0;
	struct conf *c;
	char err[1024], *prefix;

	/*
	 * Numbers are written with 15 significant digits, which every decimal
	 * of up to 15 digits survives: a cost of 63.136 is written 63.136,
	 * not json-c's 63.136000000000003 (%.17g), in answers, logs and the
	 * messages between processes alike.
	 */
	json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_GLOBAL);
	if (argc > 1 && strcmp(argv[1], "bridge") == 0)
		return bridge_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "cost") == 0)
		return cost_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "catalog") == 0)
		return catalog_import_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "plugin") == 0)
		return plugin_cli_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:p:s:tTVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'p':
			prefix_opt = optarg;
			break;
		case 's':
			sig = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			test = dump = 1;
			break;
		case 'V':
			printf("%s %s\n", PCM_NAME, PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_FG:
			mo.foreground = 1;
			break;
		case OPT_ROLE:
			role = optarg;
			break;
		case OPT_GEN:
			gen = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case OPT_SLOT:
			slot = atoi(optarg);
			break;
		case OPT_SB:
			sb = atoi(optarg);
			break;
		case OPT_CNAME:
			cname = optarg;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", PCM_NAME,
		    argv[optind]);
		usage(stderr);
		return 1;
	}
	if (role != NULL)
		return child_role(role, gen, slot, sb, prefix_opt, cname);

	if (conf_path == NULL && access(PCM_CONF_PATH, F_OK) == 0)
		conf_path = PCM_CONF_PATH;
	if ((prefix = choose_prefix(prefix_opt, conf_path)) == NULL) {
		fprintf(stderr, "%s: prefix %s: %s\n", PCM_NAME,
		    prefix_opt ? prefix_opt : ".", strerror(errno));
		return 1;
	}
	if (test || sig) {
		c = conf_load(conf_path, prefix, NULL, NULL, err, sizeof(err));
		if (c != NULL && test && (tls_check(c, err, sizeof(err)) == -1 ||
		    (cost_check_config(c, err, sizeof(err)) == -1 ||
	    auth_check_config(c, err, sizeof(err)) == -1))) {
			conf_free(c);
			c = NULL;
		}
		if (c == NULL) {
			fprintf(stderr, "%s: configuration %s test failed: %s\n",
			    PCM_NAME, conf_path ? conf_path : "(embedded defaults)",
			    err);
			free(prefix);
			return 1;
		}
		if (sig != NULL)
			rc = signal_master(c, sig);
		else {
			if (dump)
				conf_print(c, 1, 1);
			fprintf(stderr, "%s: configuration %s test is successful\n",
			    PCM_NAME, conf_path ? conf_path : "(embedded defaults)");
			rc = 0;
		}
		conf_free(c);
		free(prefix);
		return rc;
	}
	mo.conf_path = conf_path;
	mo.prefix = prefix;
	rc = master_main(&mo);
	free(prefix);
	return rc;
}
