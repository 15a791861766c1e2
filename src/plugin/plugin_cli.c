/*
 * The plugin command line: the same discovery, launch and calls the
 * broker uses (plugins.h), run in this process for the time of the
 * command, for operators and CI: list the plugins, show one, or validate
 * one at a conformance level (exit status 0 when it passes, 1 when not).
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "../core/conf.h"
#include "../core/log.h"
#include "../core/util.h"
#include "plugin_cli.h"
#include "discovery.h"
#include "plugins.h"
#include "validate.h"

#define SETTLE_POLL_MS	50
#define LIST_WAIT_MS	5000	/* list shows what has not started by then as such */

static struct {
	struct event_base	*base;
	struct event		*poll;
	const char		*cmd, *name;
	int			 level, json, rc;
	int64_t			 until;
} C;

static void
usage(void)
{
	fprintf(stderr, "usage: %s plugin list [--json]\n"
	    "       %s plugin info NAME\n"
	    "       %s plugin validate NAME [--level basic|standard|full] [--json]\n"
	    "options: -c FILE (configuration), --plugin-dir DIR, --verbose\n",
	    PCM_NAME, PCM_NAME, PCM_NAME);
}

static const char *
s_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static void
print_list(struct json_object *l)
{
	struct json_object *pls = json_object_object_get(l, "plugins");
	struct json_object *sk = json_object_object_get(l, "skipped");
	size_t i;

	if (C.json) {
		printf("%s\n", json_object_to_json_string_ext(l, JSON_C_TO_STRING_PRETTY));
		return;
	}
	printf("%-20s %-10s %-10s %-10s %-14s %s\n", "NAME", "VERSION", "STATE", "HEALTH",
	    "PACKAGE", "BINARY");
	for (i = 0; i < json_object_array_length(pls); i++) {
		struct json_object *p = json_object_array_get_idx(pls, i);

		printf("%-20s %-10s %-10s %-10s %-14s %s\n", s_of(p, "name"),
		    s_of(p, "version"), s_of(p, "state"),
		    s_of(json_object_object_get(p, "health"), "status"), s_of(p, "package"),
		    s_of(p, "binary"));
		if (*s_of(json_object_object_get(p, "health"), "error"))
			printf("  %s\n", s_of(json_object_object_get(p, "health"), "error"));
	}
	for (i = 0; i < json_object_array_length(sk); i++)
		printf("skipped %s: %s\n", s_of(json_object_array_get_idx(sk, i), "path"),
		    s_of(json_object_array_get_idx(sk, i), "reason"));
}

static void
print_report(struct json_object *r)
{
	struct json_object *tr = json_object_object_get(r, "test_results");
	size_t i;

	if (C.json) {
		printf("%s\n", json_object_to_json_string_ext(r, JSON_C_TO_STRING_PRETTY));
		return;
	}
	for (i = 0; i < json_object_array_length(tr); i++) {
		struct json_object *t = json_object_array_get_idx(tr, i);
		int pass = json_object_get_boolean(json_object_object_get(t, "passed"));

		printf("%s %-42s %8.1f ms  %s\n", pass ? "PASS" : "FAIL", s_of(t, "name"),
		    json_object_get_double(json_object_object_get(t, "duration_ms")),
		    pass ? s_of(t, "note") : s_of(t, "error_message"));
	}
	printf("%s at %s: %s\n", s_of(r, "plugin_name"), s_of(r, "conformance_level"),
	    json_object_get_boolean(json_object_object_get(r, "passed")) ?
	    "conformant" : "NOT conformant");
}

static void
on_report(struct json_object *r, void *arg)
{
	(void)arg;
	if (r == NULL) {
		fprintf(stderr, "%s: out of memory\n", PCM_NAME);
		C.rc = 1;
	} else {
		print_report(r);
		C.rc = json_object_get_boolean(json_object_object_get(r, "passed")) ? 0 : 1;
		json_object_put(r);
	}
	event_base_loopexit(C.base, NULL);
}

struct direct {
	vcall_done	 done;
	void		*arg;
};

static void
direct_done(struct json_object *result, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct direct *d = arg;

	(void)details;
	d->done(result, code, msg, latency, d->arg);
	free(d);
}

/* The validation's calls, straight to the plugin manager. */
static void
direct_call(void *ctx, const char *plugin, const char *rpc, struct json_object *req,
    int64_t timeout_ms, vcall_done done, void *arg)
{
	struct direct *d = calloc(1, sizeof(*d));

	(void)ctx;
	if (d == NULL) {
		done(NULL, "INTERNAL", "out of memory", 0, arg);
		return;
	}
	d->done = done;
	d->arg = arg;
	plugins_call(plugin, rpc, req, timeout_ms, direct_done, d);
}

/* Act once every plugin has started (or failed to) or time is up. */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct json_object *l = plugins_list(), *pls, *p = NULL;
	size_t i, starting = 0;

	(void)fd;
	(void)what;
	(void)arg;
	pls = json_object_object_get(l, "plugins");
	for (i = 0; i < json_object_array_length(pls); i++) {
		struct json_object *e = json_object_array_get_idx(pls, i);

		/* validate and info wait for their plugin only */
		if (C.name == NULL || strcmp(s_of(e, "name"), C.name) == 0)
			starting += strcmp(s_of(e, "state"), "starting") == 0;
		if (C.name != NULL && strcmp(s_of(e, "name"), C.name) == 0)
			p = e;
	}
	if (starting > 0 && now_ms() < C.until) {
		json_object_put(l);
		return;
	}
	event_del(C.poll);
	if (strcmp(C.cmd, "list") == 0) {
		print_list(l);
		event_base_loopexit(C.base, NULL);
	} else if (p == NULL) {
		struct json_object *dirs = json_object_object_get(l, "directories");

		fprintf(stderr, "%s: no plugin \"%s\" in %s\n", PCM_NAME, C.name,
		    json_object_array_length(dirs) > 0 ? json_object_get_string(
		    json_object_array_get_idx(dirs, 0)) : "the plugin directory");
		C.rc = 1;
		event_base_loopexit(C.base, NULL);
	} else if (strcmp(C.cmd, "info") == 0) {
		printf("%s\n", json_object_to_json_string_ext(p, JSON_C_TO_STRING_PRETTY));
		event_base_loopexit(C.base, NULL);
	} else
		validate_plugin(C.name, C.level, direct_call, NULL, on_report, NULL);
	json_object_put(l);
}

static void
on_child(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	plugins_reap();
}

int
plugin_cli_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "plugin-dir", required_argument, NULL, 'd' },
		{ "level", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = NULL, *dir = NULL;
	struct event *schld;
	struct timeval tv;
	struct conf *c;
	char err[1024], *owned = NULL;
	int ch, verbose = 0;

	memset(&C, 0, sizeof(C));
	C.level = V_STANDARD;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'l':
			if ((C.level = validate_level(optarg)) < 0) {
				fprintf(stderr, "%s: --level %s: expected basic, standard or"
				    " full\n", PCM_NAME, optarg);
				return 2;
			}
			break;
		case 'j':
			C.json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc || (strcmp(argv[optind], "list") != 0 && optind + 2 != argc) ||
	    (strcmp(argv[optind], "list") == 0 && optind + 1 != argc) ||
	    (strcmp(argv[optind], "list") != 0 && strcmp(argv[optind], "info") != 0 &&
	    strcmp(argv[optind], "validate") != 0)) {
		usage();
		return 2;
	}
	C.cmd = argv[optind];
	C.name = optind + 1 < argc ? argv[optind + 1] : NULL;
	log_init("plugin", -1, 0);
	log_set_format(1);
	log_set_level(verbose ? LOG_INFO : LOG_ERROR);
	if ((c = conf_load(conf_path, ".", NULL, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		return 1;
	}
	if (dir != NULL) {
		free(c->plugin_dir);
		c->plugin_dir = strdup(dir);
	}
	C.base = event_base_new();
	schld = evsignal_new(C.base, SIGCHLD, on_child, NULL);
	event_add(schld, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (C.name != NULL && strchr(C.name, '/') != NULL) {
		/* A binary that is not installed: validate or show it alone. */
		struct discovery *d = discover_binary(C.name, err, sizeof(err));

		if (d == NULL) {
			fprintf(stderr, "%s: %s\n", PCM_NAME, err);
			event_free(schld);
			event_base_free(C.base);
			conf_free(c);
			return 1;
		}
		C.name = owned = strdup(d->v[0].name);
		plugins_start_from(C.base, c, d);
	} else
		plugins_start(C.base, c);
	C.until = now_ms() + (C.name == NULL && c->plugin_timeout > LIST_WAIT_MS ?
	    LIST_WAIT_MS : c->plugin_timeout + 1000);
	C.poll = event_new(C.base, -1, EV_PERSIST, on_poll, NULL);
	tv = tv_ms(SETTLE_POLL_MS);
	event_add(C.poll, &tv);
	event_base_dispatch(C.base);
	plugins_stop();
	event_free(C.poll);
	event_free(schld);
	event_base_free(C.base);
	conf_free(c);
	free(owned);
	return C.rc;
}
