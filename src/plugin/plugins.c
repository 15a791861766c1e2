#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../core/chan.h"
#include "../core/conf.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/plugproc.h"
#include "../core/trace.h"
#include "../core/util.h"
#include "costsource.h"
#include "discovery.h"
#include "grpc.h"
#include "plugin_cache.h"
#include "plugins.h"

#define PROBE_EVERY_MS		100
#define PROBE_TIMEOUT_MS	1000
#define INFO_TIMEOUT_MS		5000
#define STOP_GRACE_MS		2000
#define MAX_BACKOFF_MS		60000
#define BREAKER_FAILURES	5
#define BREAKER_OPEN_MS		30000
#define MAX_QUEUE		1000
#define DEGRADED_MS		500

enum pstate { P_STARTING, P_READY, P_BACKOFF, P_FAILED, P_STOPPED };
static const char *const state_names[] = { "starting", "ready", "restarting",
	"failed", "stopped" };

struct pcall;
TAILQ_HEAD(pcallq, pcall);

struct plugin {
	struct plugin_entry	 e;		/* owned copies */
	char			 key[65];	/* the master's name for its process */
	enum pstate		 state;
	pid_t			 pid;
	int			 port;
	struct event		*probe_ev, *restart_ev, *deadline_ev;
	struct grpc_conn	*conn;
	const char		*package;	/* "finfocus.v1" or "pulumicost.v1" */
	struct json_object	*info;		/* GetPluginInfo, or NULL (legacy) */
	char			*rpc_name;	/* what Name said */
	int			 restarts, failures;
	int64_t			 breaker_until;
	char			 last_error[300], last_exit[120];
	int64_t			 health_at, latency_ms, probe_t0;
	const char		*health;	/* healthy, degraded, unhealthy */
	int			 inflight;
	struct pcallq		 queue;
	size_t			 queued;
	struct pcallq		 retrying;	/* waiting to be sent again */
};

/* submit() flags. */
#define CALL_HEALTH	0x1	/* a health check: recorded as the plugin's health */
#define CALL_CACHED	0x2	/* cost and metadata lookups: the answer cache */

struct pcall {
	TAILQ_ENTRY(pcall)	 entry;
	struct plugin		*p;
	const struct cs_rpc	*rpc;
	struct pb_buf		 req;
	int64_t			 deadline;	/* now_ms() clock */
	int64_t			 started;
	plugin_done		 done;
	void			*arg;
	int			 health;	/* a health check: record it */
	struct event		*qtimer;	/* its deadline while queued */
	int			 fallback;	/* retried under pulumicost.v1 */
	int			 attempts;	/* retries after UNAVAILABLE */
	int			 traced;	/* made for a traced request */
	int			 cache;		/* its answer may come from, and go to, the cache */
	struct span		 span;		/* CLIENT, queue time included */
};

static struct {
	struct event_base	*base;
	const struct conf	*conf;
	struct plugin		*v;
	size_t			 n;
	struct json_object	*skipped, *dirs;
	struct event		*health_ev;
	int			 stopping;
} P;

/* The master's channel (the broker), or -1: plugproc in this process (the CLI). */
static int master_fd = -1;

static void	spawn(struct plugin *);
static void	probe(struct plugin *);
static void	send_call(struct pcall *);

/* --- helpers -------------------------------------------------------------- */

static const char *
str_member(struct json_object *o, const char *k, const char *def)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v,
	    json_type_string) ? json_object_get_string(v) : def;
}


static struct plugin *
find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < P.n; i++)
		if (strcmp(P.v[i].e.name, name) == 0)
			return &P.v[i];
	return NULL;
}

/* A free loopback port: bind port 0, read it, close. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
set_error(struct plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct plugin *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->last_error, sizeof(p->last_error), fmt, ap);
	va_end(ap);
}

static void
drop_conn(struct plugin *p)
{
	if (p->conn != NULL) {
		grpc_close(p->conn);
		p->conn = NULL;
	}
}

static void
stop_events(struct plugin *p)
{
	event_del(p->probe_ev);
	event_del(p->deadline_ev);
}

/* --- starting -------------------------------------------------------------- */

/* pulumicost_plugin_health: 1 while the plugin runs and answers. */
static void
publish_health(const struct plugin *p)
{
	char l[160];

	if (P.stopping)
		return;		/* a draining generation: the new one says */
	metrics_set(MET_PLUGIN_HEALTH, metrics_labels(l, sizeof(l), "plugin",
	    p->e.name, NULL), p->state == P_READY && p->health != NULL &&
	    strcmp(p->health, "unhealthy") != 0 ? 1 : 0);
}

static void
schedule_restart(struct plugin *p)
{
	char l[160];

	int64_t base = P.conf->plugin_retry_delay > 0 ? P.conf->plugin_retry_delay : 100;
	int64_t delay = base << (p->restarts < 10 ? p->restarts : 10);
	struct timeval tv;

	if (P.stopping)
		return;
	if (delay > MAX_BACKOFF_MS)
		delay = MAX_BACKOFF_MS;
	p->state = P_BACKOFF;
	p->restarts++;
	publish_health(p);
	metrics_add(MET_PLUGIN_RESTARTS, metrics_labels(l, sizeof(l), "plugin",
	    p->e.name, NULL), 1);
	tv = tv_ms(delay);
	evtimer_add(p->restart_ev, &tv);
	logmsg(LOG_WARN, "plugin %s: %s; restarting in %lld ms (restart %d)",
	    p->e.name, p->last_error, (long long)delay, p->restarts);
}

/*
 * What makes the process: a change to any of it is a new process.  The
 * plugins.* settings are the broker's own (timeouts, concurrency), so they
 * are not in it; the user it runs as is.
 */
static int
process_key(struct plugin *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char text[8192];
	struct stat st;
	int n;

	if (stat(p->e.binary, &st) == -1)
		return -1;
	n = snprintf(text, sizeof(text), "%s%c%s%c%s%c%s%c%ju:%ju:%jd:%lld.%09ld%c%s",
	    p->e.name, 0, p->e.version, 0, p->e.binary, 0, p->e.dir, 0,
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, 0, P.conf->user);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	hex_encode(md, mdlen < 32 ? mdlen : 32, p->key);
	return 0;
}

/*
 * To the owner of plugin processes: the master over the channel (in the
 * broker), or plugproc in this process (the command line), so there is
 * one way plugins are started.
 */
static void
send_master(uint32_t type, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (master_fd < 0 && type == MSG_PLUGIN_START)
		plugproc_start(getpid(), P.conf, s);
	else if (master_fd < 0)
		plugproc_kill(getpid(), s);
	else if (chan_send(master_fd, type, 0, -1, s, strlen(s), -1) == -1)
		logmsg(LOG_ERROR, "cannot reach the master: %s", strerror(errno));
	json_object_put(o);
}

/* plugproc's answers, in this process. */
static int
from_plugproc(pid_t self, uint32_t type, const char *json)
{
	(void)self;
	plugins_master_msg(type, json, strlen(json));
	return 0;
}

/* A start that did not work: kill what runs, try again later. */
static void
start_failed(struct plugin *p)
{
	drop_conn(p);
	event_del(p->probe_ev);
	event_del(p->deadline_ev);
	if (p->pid > 0)
		send_master(MSG_PLUGIN_KILL, plugproc_message(p->key));	/* its exit reschedules */
	else
		schedule_restart(p);
}

/* Ask the master for the process: it starts one, or hands one over. */
static void
spawn(struct plugin *p)
{
	struct json_object *o;
	struct timeval tv;

	p->state = P_STARTING;
	p->package = "finfocus.v1";
	if ((p->port = free_port()) == -1 || process_key(p) == -1) {
		set_error(p, "%s: %s", p->port == -1 ? "no free port" : p->e.binary,
		    strerror(errno));
		schedule_restart(p);
		return;
	}
	o = plugproc_message(p->key);
	json_object_object_add(o, "name", json_object_new_string(p->e.name));
	json_object_object_add(o, "version", json_object_new_string(p->e.version));
	json_object_object_add(o, "dir", json_object_new_string(p->e.dir));
	json_object_object_add(o, "binary", json_object_new_string(p->e.binary));
	json_object_object_add(o, "port", json_object_new_int(p->port));
	send_master(MSG_PLUGIN_START, o);
	/* The probe starts when the master says where it runs. */
	tv = tv_ms(P.conf->plugin_timeout);
	evtimer_add(p->deadline_ev, &tv);
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	spawn(arg);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct plugin *p = arg;

	(void)fd;
	(void)what;
	if (p->state != P_STARTING)
		return;
	set_error(p, "did not answer Name within %lld ms of starting (port %d)%s",
	    (long long)P.conf->plugin_timeout, p->port, p->last_error[0] ? "" : "");
	start_failed(p);
}

static void
on_conn_closed(struct grpc_conn *c, const char *why, void *arg)
{
	struct plugin *p = arg;

	(void)why;
	if (p->conn == c)
		drop_conn(p);
}

static void
became_ready(struct plugin *p, int64_t latency)
{
	struct pcall *k;

	event_del(p->deadline_ev);
	p->state = P_READY;
	p->failures = 0;
	p->breaker_until = 0;
	p->health = latency > DEGRADED_MS ? "degraded" : "healthy";
	p->health_at = wall_ms();
	p->latency_ms = latency;
	p->last_error[0] = '\0';
	publish_health(p);
	logmsg(LOG_INFO, "plugin %s %s: ready on port %d (%s%s)", p->e.name, p->e.version,
	    p->port, p->package, p->info ? "" : ", legacy: no GetPluginInfo");
	while ((k = TAILQ_FIRST(&p->queue)) != NULL && p->inflight <
	    P.conf->plugin_max_concurrent) {
		TAILQ_REMOVE(&p->queue, k, entry);
		p->queued--;
		send_call(k);
	}
}

static void
on_info(int status, const char *msg, const uint8_t *resp, size_t len,
    const uint8_t *details, size_t dlen, void *arg)
{
	struct plugin *p = arg;
	char why[256];

	(void)details;
	(void)dlen;
	if (status == GRPC_OK) {
		json_object_put(p->info);
		p->info = pb_decode(cs_rpc("GetPluginInfo")->resp, resp, len, why, sizeof(why));
		if (p->info == NULL)
			logmsg(LOG_WARN, "plugin %s: GetPluginInfo: %s", p->e.name, why);
	} else if (status != GRPC_UNIMPLEMENTED)
		logmsg(LOG_WARN, "plugin %s: GetPluginInfo: %s: %s", p->e.name,
		    grpc_code_name(status), msg);
	if (p->state == P_STARTING)
		became_ready(p, p->latency_ms);
}

static void
on_probe_name(int status, const char *msg, const uint8_t *resp, size_t len,
    const uint8_t *details, size_t dlen, void *arg)
{
	struct plugin *p = arg;
	struct json_object *o;
	char path[128], why[256];
	struct timeval tv;

	(void)details;
	(void)dlen;
	if (p->state != P_STARTING)
		return;
	if (status == GRPC_UNIMPLEMENTED && strcmp(p->package, "finfocus.v1") == 0) {
		p->package = "pulumicost.v1";	/* a plugin of spec <= 0.4 */
		probe(p);
		return;
	}
	if ((status == GRPC_UNAVAILABLE && !grpc_conn_connected(p->conn)) ||
	    status == GRPC_DEADLINE_EXCEEDED) {
		/* Not listening yet: try again shortly. */
		drop_conn(p);
		set_error(p, "%s", msg);
		tv = tv_ms(PROBE_EVERY_MS);
		evtimer_add(p->probe_ev, &tv);
		return;
	}
	if (status != GRPC_OK) {
		set_error(p, "Name: %s: %s", grpc_code_name(status), msg);
		start_failed(p);
		return;
	}
	if ((o = pb_decode(cs_rpc("Name")->resp, resp, len, why, sizeof(why))) == NULL) {
		set_error(p, "Name: %s", why);
		start_failed(p);
		return;
	}
	free(p->rpc_name);
	p->rpc_name = strdup(str_member(o, "name", ""));
	json_object_put(o);
	p->latency_ms = now_ms() - p->probe_t0;
	snprintf(path, sizeof(path), "/%s.CostSourceService/GetPluginInfo", p->package);
	if (grpc_call(p->conn, path, NULL, 0, INFO_TIMEOUT_MS, on_info, p) == -1)
		became_ready(p, p->latency_ms);
}

static void
probe(struct plugin *p)
{
	char path[128];

	if (p->conn == NULL &&
	    (p->conn = grpc_connect(P.base, "127.0.0.1", p->port, on_conn_closed, p)) == NULL) {
		set_error(p, "cannot connect to port %d", p->port);
		start_failed(p);
		return;
	}
	snprintf(path, sizeof(path), "/%s.CostSourceService/Name", p->package);
	p->probe_t0 = now_ms();
	if (grpc_call(p->conn, path, NULL, 0, PROBE_TIMEOUT_MS, on_probe_name, p) == -1) {
		drop_conn(p);
		set_error(p, "cannot call Name");
		start_failed(p);
	}
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe(arg);
}

/* --- exits ----------------------------------------------------------------- */

/* Its process is gone (how: "exited with code 1", ...): restart it. */
static void
exited(struct plugin *p, const char *how)
{
	p->pid = 0;
	snprintf(p->last_exit, sizeof(p->last_exit), "%s", how);
	drop_conn(p);
	stop_events(p);
	if (P.stopping || p->state == P_STOPPED) {
		p->state = P_STOPPED;
		return;
	}
	if (p->last_error[0] == '\0' || p->state == P_READY)
		set_error(p, "the plugin %s", p->last_exit);
	else {
		char prev[sizeof(p->last_error)];

		snprintf(prev, sizeof(prev), "%s", p->last_error);
		set_error(p, "the plugin %s (%.200s)", p->last_exit, prev);
	}
	schedule_restart(p);
}

static struct plugin *
find_key(const char *key)
{
	size_t i;

	for (i = 0; key != NULL && i < P.n; i++)
		if (strcmp(P.v[i].key, key) == 0)
			return &P.v[i];
	return NULL;
}

void
plugins_via_master(int fd)
{
	master_fd = fd;
}

void
plugins_master_msg(uint32_t type, const char *json, size_t len)
{
	struct json_object *o = json_tokener_parse(json), *v;
	struct plugin *p = find_key(str_member(o, "key", NULL));
	int pid = json_object_object_get_ex(o, "pid", &v) ? json_object_get_int(v) : 0;
	int port = json_object_object_get_ex(o, "port", &v) ? json_object_get_int(v) : 0;
	struct timeval tv;

	(void)len;
	if (p == NULL || P.stopping) {
		json_object_put(o);
		return;
	}
	switch (type) {
	case MSG_PLUGIN_UP:
		if (p->state != P_STARTING)
			break;
		if (str_member(o, "error", NULL) != NULL) {
			event_del(p->deadline_ev);
			set_error(p, "cannot start: %s", str_member(o, "error", ""));
			schedule_restart(p);
			break;
		}
		p->pid = pid;
		p->port = port;
		json_object_object_get_ex(o, "adopted", &v);
		if (json_object_get_boolean(v))
			logmsg(LOG_INFO, "plugin %s %s: carried over (pid %d, port %d)",
			    p->e.name, p->e.version, pid, port);
		else
			logmsg(LOG_INFO, "plugin %s %s: started %s (pid %d, port %d)",
			    p->e.name, p->e.version, p->e.binary, pid, port);
		tv = tv_ms(json_object_get_boolean(v) ? 0 : PROBE_EVERY_MS);
		evtimer_add(p->probe_ev, &tv);
		break;
	case MSG_PLUGIN_PORT:
		if (port > 0 && port != p->port) {
			p->port = port;
			drop_conn(p);
		}
		break;
	case MSG_PLUGIN_EXIT:
		if (pid == p->pid && pid > 0)
			exited(p, str_member(o, "exit", "exited"));
		break;
	default:
		logmsg(LOG_ERROR, "unexpected %s from the master", msg_type_name(type));
		break;
	}
	json_object_put(o);
}

void
plugins_reap(void)
{
	pid_t pid;
	int st;

	/* Only the command line has plugin children (plugproc in-process). */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		(void)plugproc_reaped(pid, st);
}

/* --- calls ----------------------------------------------------------------- */

static void
pcall_end(struct pcall *k, struct json_object *result, const char *code,
    const char *msg, struct json_object *details)
{
	struct trace_ctx parent;
	struct trace_saved saved;

	if (k->qtimer != NULL)
		event_free(k->qtimer);
	if (k->traced) {
		span_attr_str(&k->span, "rpc.grpc.status", code ? code : "OK");
		if (code != NULL)
			span_fail(&k->span, msg);
		/* The caller's work goes on in its trace: its next calls too. */
		parent = k->span.ctx;
		strlcpy_(parent.span_id, k->span.parent, sizeof(parent.span_id));
		span_end(&k->span);
		/* An answer from the cache comes synchronously, inside other work. */
		trace_push(&parent, &saved);
	}
	k->done(result, code, msg, details, k->started ? now_ms() - k->started : 0,
	    k->arg);
	if (k->traced)
		trace_pop(&saved);
	pb_buf_free(&k->req);
	free(k);
}

/* Failures that say the plugin is in trouble (not that the request was bad). */
static int
trouble(int status)
{
	return status == GRPC_UNAVAILABLE || status == GRPC_DEADLINE_EXCEEDED ||
	    status == GRPC_INTERNAL || status == GRPC_UNKNOWN ||
	    status == GRPC_RESOURCE_EXHAUSTED;
}

static void
record(struct plugin *p, int status, const char *msg, int64_t latency)
{
	if (trouble(status)) {
		snprintf(p->last_error, sizeof(p->last_error), "%s: %s",
		    grpc_code_name(status), msg);
		if (++p->failures >= BREAKER_FAILURES && p->breaker_until == 0) {
			p->breaker_until = now_ms() + BREAKER_OPEN_MS;
			logmsg(LOG_WARN, "plugin %s: %d failures in a row: circuit open"
			    " for %d s", p->e.name, p->failures, BREAKER_OPEN_MS / 1000);
		}
		return;
	}
	p->failures = 0;
	p->breaker_until = 0;
	p->latency_ms = latency;
}

static struct json_object *
status_details(const uint8_t *d, size_t n)
{
	struct json_object *st, *arr, *any;
	char why[200];
	size_t i;

	if (d == NULL || n == 0 || (st = pb_decode(&cs_status, d, n, why, sizeof(why))) == NULL)
		return NULL;
	/* A finfocus.v1.ErrorDetail among the details: decoded too. */
	if (json_object_object_get_ex(st, "details", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			const char *url, *val;
			unsigned char *raw;
			ssize_t len;
			struct json_object *ed;

			any = json_object_array_get_idx(arr, i);
			url = str_member(any, "type_url", "");
			val = str_member(any, "value", "");
			if (strstr(url, "ErrorDetail") == NULL ||
			    (raw = malloc(strlen(val) + 1)) == NULL)
				continue;
			if ((len = base64_decode(val, strlen(val), raw, strlen(val) + 1)) >= 0 &&
			    (ed = pb_decode(&cs_error_detail, raw, (size_t)len, why,
			    sizeof(why))) != NULL)
				json_object_object_add(any, "error_detail", ed);
			free(raw);
		}
	return st;
}

static void next_queued(struct plugin *);
static void dispatch(struct pcall *);

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct pcall *k = arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&k->p->retrying, k, entry);
	event_free(k->qtimer);
	k->qtimer = NULL;
	dispatch(k);
}

/*
 * UNAVAILABLE (the plugin restarting, a connection lost) is tried again,
 * plugins.retry_attempts times, plugins.retry_delay apart, while the
 * deadline leaves room.
 */
static int
retry_later(struct pcall *k)
{
	int64_t wait = P.conf->plugin_retry_delay > 0 ? P.conf->plugin_retry_delay : 50;
	struct timeval tv;

	if (k->health || k->attempts >= P.conf->plugin_retry_attempts ||
	    k->deadline - now_ms() <= 2 * wait ||
	    (k->qtimer = evtimer_new(P.base, on_retry, k)) == NULL)
		return 0;
	k->attempts++;
	TAILQ_INSERT_TAIL(&k->p->retrying, k, entry);
	tv = tv_ms(wait);
	evtimer_add(k->qtimer, &tv);
	return 1;
}

static void
count_call(const struct pcall *k, int status, int64_t latency_ms)
{
	const char *rpc = k->rpc != NULL ? k->rpc->name : "Name";
	char l[200];

	metrics_add(MET_PLUGIN_CALLS, metrics_labels(l, sizeof(l), "plugin",
	    k->p->e.name, "rpc", rpc, "code", grpc_code_name(status), NULL), 1);
	metrics_observe(MET_PLUGIN_LATENCY, metrics_labels(l, sizeof(l), "plugin",
	    k->p->e.name, "rpc", rpc, NULL), (double)latency_ms / 1000.0);
}

static void
on_call_done(int status, const char *msg, const uint8_t *resp, size_t len,
    const uint8_t *details, size_t dlen, void *arg)
{
	struct pcall *k = arg;
	struct plugin *p = k->p;
	struct json_object *o, *det;
	int64_t latency = now_ms() - k->started;
	char why[256];

	p->inflight--;
	if (status == GRPC_UNIMPLEMENTED && !k->fallback &&
	    strcmp(p->package, "finfocus.v1") == 0 && k->rpc != NULL) {
		/* A plugin of the old package for this method: ask it so. */
		k->fallback = 1;
		send_call(k);
		return;
	}
	record(p, status, msg, latency);
	count_call(k, status, latency);
	if (status == GRPC_UNAVAILABLE && retry_later(k)) {
		next_queued(p);
		return;
	}
	if (k->health) {
		p->health_at = wall_ms();
		p->latency_ms = latency;
		p->health = status != GRPC_OK ? "unhealthy" : latency > DEGRADED_MS ?
		    "degraded" : "healthy";
		publish_health(p);
	}
	if (status != GRPC_OK) {
		det = status_details(details, dlen);
		pcall_end(k, NULL, grpc_code_name(status), msg, det);
		json_object_put(det);
	} else if ((o = pb_decode(k->rpc->resp, resp, len, why, sizeof(why))) == NULL) {
		record(p, GRPC_INTERNAL, why, latency);
		pcall_end(k, NULL, "INTERNAL", why, NULL);
	} else {
		if (k->cache)
			pcache_put(p->e.name, k->rpc->name, k->req.p, k->req.len, o);
		pcall_end(k, o, NULL, NULL, NULL);
		json_object_put(o);
	}
	next_queued(p);
}

static void
send_call(struct pcall *k)
{
	struct plugin *p = k->p;
	int64_t left = k->deadline - now_ms();
	char path[160];

	if (k->qtimer != NULL) {
		event_free(k->qtimer);
		k->qtimer = NULL;
	}
	if (left <= 0) {
		pcall_end(k, NULL, "DEADLINE_EXCEEDED", "the deadline passed while"
		    " waiting for a free call slot (plugins.max_concurrent)", NULL);
		return;
	}
	if (p->conn == NULL && (p->conn = grpc_connect(P.base, "127.0.0.1", p->port,
	    on_conn_closed, p)) == NULL) {
		pcall_end(k, NULL, "UNAVAILABLE", "cannot connect to the plugin", NULL);
		return;
	}
	snprintf(path, sizeof(path), "/%s.CostSourceService/%s", k->fallback ?
	    "pulumicost.v1" : p->package, k->rpc->name);
	k->started = now_ms();
	if (grpc_call(p->conn, path, k->req.p, k->req.len, left, on_call_done, k) == -1) {
		pcall_end(k, NULL, "UNAVAILABLE", "cannot start the call", NULL);
		return;
	}
	p->inflight++;
}

static void
next_queued(struct plugin *p)
{
	struct pcall *k;

	while (p->state == P_READY && p->inflight < P.conf->plugin_max_concurrent &&
	    (k = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, k, entry);
		p->queued--;
		send_call(k);
	}
}

static void
on_queued_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pcall *k = arg;
	struct plugin *p = k->p;
	char msg[400];

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&p->queue, k, entry);
	p->queued--;
	snprintf(msg, sizeof(msg), "plugin %s did not become ready within the"
	    " deadline (%s%s%s)", p->e.name, state_names[p->state],
	    p->last_error[0] ? ": " : "", p->last_error);
	pcall_end(k, NULL, "DEADLINE_EXCEEDED", msg, NULL);
}

static void
submit(struct plugin *p, const struct cs_rpc *rpc, struct json_object *req,
    int64_t timeout_ms, int flags, plugin_done done, void *arg)
{
	int health = (flags & CALL_HEALTH) != 0;
	struct json_object *cached;
	struct pcall *k;
	char why[300], msg[400];

	if (p->state == P_FAILED || p->state == P_STOPPED) {
		snprintf(msg, sizeof(msg), "plugin %s is %s: %s", p->e.name,
		    state_names[p->state], p->last_error);
		done(NULL, "UNAVAILABLE", msg, NULL, 0, arg);
		return;
	}
	if (!health && p->breaker_until != 0 && now_ms() < p->breaker_until) {
		snprintf(msg, sizeof(msg), "plugin %s: circuit open after %d failures in a"
		    " row (last: %s)", p->e.name, p->failures, p->last_error);
		done(NULL, "UNAVAILABLE", msg, NULL, 0, arg);
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		done(NULL, "INTERNAL", "out of memory", NULL, 0, arg);
		return;
	}
	k->p = p;
	k->rpc = rpc;
	k->done = done;
	k->arg = arg;
	k->health = health;
	if (trace_current() != NULL) {
		char name[128];

		k->traced = 1;
		snprintf(name, sizeof(name), "%s.CostSourceService/%s", p->package,
		    rpc->name);
		span_start(&k->span, trace_current(), name, SPAN_CLIENT);
		span_attr_str(&k->span, "rpc.system", "grpc");
		span_attr_str(&k->span, "rpc.service", p->package);
		span_attr_str(&k->span, "rpc.method", rpc->name);
		span_attr_str(&k->span, "pulumicost.plugin", p->e.name);
		span_attr_str(&k->span, "server.address", "127.0.0.1");
		span_attr_int(&k->span, "server.port", p->port);
	}
	k->deadline = now_ms() + timeout_ms;
	why[0] = '\0';
	if (pb_encode(rpc->req, req, &k->req, why, sizeof(why)) == -1) {
		snprintf(msg, sizeof(msg), "%s request: %s", rpc->name, why);
		pcall_end(k, NULL, "INVALID_ARGUMENT", msg, NULL);
		return;
	}
	k->cache = (flags & CALL_CACHED) != 0;
	if (k->cache && (cached = pcache_get(p->e.name, rpc->name, k->req.p,
	    k->req.len)) != NULL) {
		span_attr_str(&k->span, "pulumicost.cache", "hit");
		pcall_end(k, cached, NULL, NULL, NULL);
		json_object_put(cached);
		return;
	}
	dispatch(k);
}

/* Send now, or wait (starting, restarting, busy) within the deadline. */
static void
dispatch(struct pcall *k)
{
	struct plugin *p = k->p;
	int64_t left = k->deadline - now_ms();

	if (p->state == P_READY && p->inflight < P.conf->plugin_max_concurrent) {
		send_call(k);
		return;
	}
	if (p->queued >= MAX_QUEUE) {
		pcall_end(k, NULL, "RESOURCE_EXHAUSTED", "too many calls waiting for this"
		    " plugin", NULL);
		return;
	}
	TAILQ_INSERT_TAIL(&p->queue, k, entry);
	p->queued++;
	if ((k->qtimer = evtimer_new(P.base, on_queued_deadline, k)) != NULL) {
		struct timeval tv = tv_ms(left > 0 ? left : 0);

		evtimer_add(k->qtimer, &tv);
	}
}

void
plugins_call(const char *plugin, const char *rpc, struct json_object *req,
    int64_t timeout_ms, plugin_done done, void *arg)
{
	struct plugin *p = find(plugin);
	const struct cs_rpc *r = cs_rpc(rpc != NULL ? rpc : "");
	char msg[300];

	if (p == NULL) {
		snprintf(msg, sizeof(msg), "no plugin \"%s\" (%zu discovered)",
		    plugin ? plugin : "", P.n);
		done(NULL, "not_found", msg, NULL, 0, arg);
		return;
	}
	if (r == NULL) {
		snprintf(msg, sizeof(msg), "no RPC \"%s\" in CostSourceService", rpc ? rpc : "");
		done(NULL, "INVALID_ARGUMENT", msg, NULL, 0, arg);
		return;
	}
	if (timeout_ms <= 0 || timeout_ms > P.conf->plugin_timeout)
		timeout_ms = P.conf->plugin_timeout;
	submit(p, r, req, timeout_ms, 0, done, arg);
}

void
plugins_check(const char *plugin, plugin_done done, void *arg)
{
	struct plugin *p = find(plugin);
	char msg[300];

	if (p == NULL) {
		snprintf(msg, sizeof(msg), "no plugin \"%s\"", plugin ? plugin : "");
		done(NULL, "not_found", msg, NULL, 0, arg);
		return;
	}
	submit(p, cs_rpc("Name"), NULL, P.conf->plugin_timeout, CALL_HEALTH, done, arg);
}

/* --- projected prices, plugin by plugin ----------------------------------- */

struct price_job {
	const char		*key;		/* "prices" or "actual" */
	struct json_object	*prices, *errors;
	size_t			 pending;
	int64_t			 timeout;
	plugin_done		 done;
	void			*arg;
};

struct price_item {
	struct price_job	*job;
	struct json_object	*desc;		/* the ResourceDescriptor */
	char			*urn;
	struct plugin		*cand[32];
	size_t			 ncand, at;
};

static void	price_next(struct price_item *);

static int
declares(const struct plugin *p, const char *provider)
{
	struct json_object *pr;
	size_t i;

	if (p->info == NULL || !json_object_object_get_ex(p->info, "providers", &pr) ||
	    json_object_array_length(pr) == 0)
		return 1;	/* says nothing: it may know */
	for (i = 0; i < json_object_array_length(pr); i++) {
		const char *v = json_object_get_string(json_object_array_get_idx(pr, i));

		if (strcmp(v, provider) == 0 || strcmp(v, "*") == 0)
			return 1;
	}
	return 0;
}

static int
priority_of(const struct plugin *p)
{
	size_t i;

	for (i = 0; i < P.conf->plugin_priority.n; i++)
		if (strcmp(P.conf->plugin_priority.v[i], p->e.name) == 0)
			return (int)i;
	return (int)P.conf->plugin_priority.n;
}

/*
 * A job over many plugin calls: its answers under key (an object by URN,
 * or an array), held (pending 1) until every call is out.  NULL after
 * answering done when out of memory.
 */
static struct price_job *
job_new(const char *key, int array, int64_t timeout_ms, plugin_done done, void *arg)
{
	struct price_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		done(NULL, "INTERNAL", "out of memory", NULL, 0, arg);
		return NULL;
	}
	j->key = key;
	j->prices = array ? json_object_new_array() : json_object_new_object();
	j->errors = json_object_new_array();
	j->timeout = timeout_ms > 0 && timeout_ms < P.conf->plugin_timeout ? timeout_ms :
	    P.conf->plugin_timeout;
	j->done = done;
	j->arg = arg;
	j->pending = 1;
	return j;
}

static void
job_release(struct price_job *j)
{
	struct json_object *r;

	if (--j->pending > 0)
		return;
	r = json_object_new_object();
	json_object_object_add(r, j->key, j->prices);
	json_object_object_add(r, "errors", j->errors);
	json_object_object_add(r, "plugins", json_object_new_int64((int64_t)P.n));
	j->done(r, NULL, NULL, NULL, 0, j->arg);
	json_object_put(r);
	free(j);
}

static void
price_item_end(struct price_item *it)
{
	struct price_job *j = it->job;

	json_object_put(it->desc);
	free(it->urn);
	free(it);
	job_release(j);
}

/* A plugin's failure for a job's answer: {urn?, plugin, rpc, code, message}. */
static void
job_error(struct price_job *j, const char *urn, const struct plugin *p,
    const char *rpc, const char *code, const char *msg)
{
	struct json_object *e = json_object_new_object();

	if (urn != NULL)
		json_object_object_add(e, "urn", json_object_new_string(urn));
	json_object_object_add(e, "plugin", json_object_new_string(p->e.name));
	json_object_object_add(e, "rpc", json_object_new_string(rpc));
	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg ? msg : ""));
	json_object_array_add(j->errors, e);
}

static void
price_error(struct price_item *it, const char *rpc, const char *code, const char *msg)
{
	job_error(it->job, it->urn, it->cand[it->at], rpc, code, msg);
}

/* A $0 that says the plugin does not price it is no answer. */
static int
says_unsupported(struct json_object *r)
{
	const char *d = str_member(r, "billing_detail", "");
	struct json_object *v;
	double m = json_object_object_get_ex(r, "cost_per_month", &v) ?
	    json_object_get_double(v) : 0;

	return m == 0 && (strcasestr(d, "not supported") != NULL ||
	    strcasestr(d, "unsupported") != NULL || strcasestr(d, "not priced") != NULL ||
	    strcasestr(d, "not implemented") != NULL);
}

static void
on_projected(struct json_object *r, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct price_item *it = arg;
	struct json_object *a;

	(void)details;
	(void)latency;
	if (code != NULL)
		price_error(it, "GetProjectedCost", code, msg);
	else if (!says_unsupported(r) && *str_member(r, "currency", "") != '\0') {
		a = json_object_new_object();
		json_object_object_add(a, "plugin", json_object_new_string(
		    it->cand[it->at]->e.name));
		json_object_object_add(a, "cost_per_month", json_object_new_double(
		    json_object_get_double(json_object_object_get(r, "cost_per_month"))));
		json_object_object_add(a, "currency", json_object_new_string(
		    str_member(r, "currency", "")));
		if (json_object_object_get_ex(r, "unit_price", NULL))
			json_object_object_add(a, "unit_price", json_object_get(
			    json_object_object_get(r, "unit_price")));
		json_object_object_add(a, "billing_detail", json_object_new_string(
		    str_member(r, "billing_detail", "")));
		json_object_object_add(it->job->prices, it->urn, a);
		price_item_end(it);
		return;
	}
	it->at++;
	price_next(it);
}

static void
on_supports(struct json_object *r, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct price_item *it = arg;
	struct json_object *req, *v;

	(void)details;
	(void)latency;
	/* No Supports (UNIMPLEMENTED): ask for the price all the same. */
	if (code != NULL && strcmp(code, "UNIMPLEMENTED") != 0) {
		price_error(it, "Supports", code, msg);
		it->at++;
		price_next(it);
		return;
	}
	if (code == NULL && (!json_object_object_get_ex(r, "supported", &v) ||
	    !json_object_get_boolean(v))) {
		it->at++;
		price_next(it);
		return;
	}
	req = json_object_new_object();
	json_object_object_add(req, "resource", json_object_get(it->desc));
	submit(it->cand[it->at], cs_rpc("GetProjectedCost"), req, it->job->timeout, CALL_CACHED,
	    on_projected, it);
	json_object_put(req);
}

static void
price_next(struct price_item *it)
{
	struct json_object *req;

	if (it->at >= it->ncand) {
		price_item_end(it);	/* no plugin prices it: the engine will */
		return;
	}
	req = json_object_new_object();
	json_object_object_add(req, "resource", json_object_get(it->desc));
	submit(it->cand[it->at], cs_rpc("Supports"), req, it->job->timeout, CALL_CACHED,
	    on_supports, it);
	json_object_put(req);
}

void
plugins_price(struct json_object *resources, int64_t timeout_ms, plugin_done done,
    void *arg)
{
	struct price_job *j = job_new("prices", 0, timeout_ms, done, arg);
	size_t i, n = json_object_array_length(resources), k, m;

	if (j == NULL)
		return;
	for (i = 0; i < n && P.n > 0; i++) {
		struct json_object *d = json_object_array_get_idx(resources, i), *desc;
		struct price_item *it = calloc(1, sizeof(*it));
		const char *prov = str_member(d, "provider", "");

		if (it == NULL)
			break;
		it->job = j;
		it->urn = strdup(str_member(d, "urn", ""));
		desc = NULL;
		json_object_deep_copy(d, &desc, NULL);
		json_object_object_del(desc, "urn");
		it->desc = desc;
		for (k = 0; k < P.n && it->ncand < nitems(it->cand); k++)
			if (P.v[k].state == P_READY && declares(&P.v[k], prov))
				it->cand[it->ncand++] = &P.v[k];
		/* By priority, then by name (discovery order). */
		for (k = 1; k < it->ncand; k++)
			for (m = k; m > 0 && priority_of(it->cand[m]) <
			    priority_of(it->cand[m - 1]); m--) {
				struct plugin *tmp = it->cand[m];

				it->cand[m] = it->cand[m - 1];
				it->cand[m - 1] = tmp;
			}
		j->pending++;
		price_next(it);
	}
	job_release(j);	/* the hold: answers now if nothing was asked */
}

/* --- actual costs, resource by resource ---------------------------------- */

#define MAX_ACTUAL_PAGES	100

struct actual_item {
	struct price_job	*job;		/* the same bookkeeping as prices */
	struct json_object	*req;		/* GetActualCostRequest */
	struct json_object	*results;
	char			*urn;
	struct plugin		*cand[32];
	size_t			 ncand, at;
	int			 pages;
};

static void	actual_next(struct actual_item *);

static int
reports_actual(const struct plugin *p)
{
	struct json_object *caps;
	size_t i;

	if (p->info == NULL || !json_object_object_get_ex(p->info, "capabilities", &caps))
		return 0;
	for (i = 0; i < json_object_array_length(caps); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(caps, i)),
		    "PLUGIN_CAPABILITY_ACTUAL_COSTS") == 0)
			return 1;
	return 0;
}

static void
actual_item_end(struct actual_item *it)
{
	struct price_job *j = it->job;

	json_object_put(it->req);
	json_object_put(it->results);
	free(it->urn);
	free(it);
	job_release(j);
}

static void
on_actual(struct json_object *r, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct actual_item *it = arg;
	struct json_object *list, *a;
	const char *next;
	size_t i;

	(void)details;
	(void)latency;
	if (code != NULL) {
		if (strcmp(code, "UNIMPLEMENTED") != 0 && strcmp(code, "NOT_FOUND") != 0)
			job_error(it->job, it->urn, it->cand[it->at], "GetActualCost", code, msg);
		json_object_put(it->results);
		it->results = json_object_new_array();
		it->at++;
		it->pages = 0;
		actual_next(it);
		return;
	}
	if (json_object_object_get_ex(r, "results", &list))
		for (i = 0; i < json_object_array_length(list); i++)
			json_object_array_add(it->results, json_object_get(
			    json_object_array_get_idx(list, i)));
	next = str_member(r, "next_page_token", "");
	if (*next != '\0' && ++it->pages < MAX_ACTUAL_PAGES) {
		json_object_object_add(it->req, "page_token", json_object_new_string(next));
		submit(it->cand[it->at], cs_rpc("GetActualCost"), it->req, it->job->timeout,
		    CALL_CACHED, on_actual, it);
		return;
	}
	if (json_object_array_length(it->results) == 0) {
		it->at++;	/* nothing for it here: the next plugin */
		it->pages = 0;
		actual_next(it);
		return;
	}
	a = json_object_new_object();
	json_object_object_add(a, "plugin", json_object_new_string(it->cand[it->at]->e.name));
	json_object_object_add(a, "results", json_object_get(it->results));
	json_object_object_add(it->job->prices, it->urn, a);
	actual_item_end(it);
}

static void
actual_next(struct actual_item *it)
{
	if (it->at >= it->ncand) {
		actual_item_end(it);
		return;
	}
	json_object_object_del(it->req, "page_token");
	submit(it->cand[it->at], cs_rpc("GetActualCost"), it->req, it->job->timeout, CALL_CACHED,
	    on_actual, it);
}

/* The candidates for a job item, by priority then name. */
static size_t
candidates(struct plugin **cand, size_t max, int (*want)(const struct plugin *, const char *),
    const char *arg)
{
	size_t k, m, n = 0;

	for (k = 0; k < P.n && n < max; k++)
		if (P.v[k].state == P_READY && want(&P.v[k], arg))
			cand[n++] = &P.v[k];
	for (k = 1; k < n; k++)
		for (m = k; m > 0 && priority_of(cand[m]) < priority_of(cand[m - 1]); m--) {
			struct plugin *tmp = cand[m];

			cand[m] = cand[m - 1];
			cand[m - 1] = tmp;
		}
	return n;
}

static int
want_actual(const struct plugin *p, const char *unused)
{
	(void)unused;
	return reports_actual(p);
}

void
plugins_actual(struct json_object *resources, const char *start, const char *end,
    int64_t timeout_ms, plugin_done done, void *arg)
{
	struct price_job *j = job_new("actual", 0, timeout_ms, done, arg);
	size_t i, n = json_object_array_length(resources);

	if (j == NULL)
		return;
	start = start != NULL ? start : "";
	end = end != NULL ? end : "";
	for (i = 0; i < n && P.n > 0; i++) {
		struct json_object *d = json_object_array_get_idx(resources, i), *v;
		struct actual_item *it = calloc(1, sizeof(*it));

		if (it == NULL)
			break;
		it->job = j;
		it->urn = strdup(str_member(d, "urn", ""));
		it->results = json_object_new_array();
		it->req = json_object_new_object();
		json_object_object_add(it->req, "resource_id", json_object_new_string(
		    str_member(d, "resource_id", "")));
		if (*str_member(d, "arn", "") != '\0')
			json_object_object_add(it->req, "arn", json_object_new_string(
			    str_member(d, "arn", "")));
		if (json_object_object_get_ex(d, "tags", &v))
			json_object_object_add(it->req, "tags", json_object_get(v));
		json_object_object_add(it->req, "start", json_object_new_string(start));
		json_object_object_add(it->req, "end", json_object_new_string(end));
		json_object_object_add(it->req, "page_size", json_object_new_int(1000));
		it->ncand = candidates(it->cand, nitems(it->cand), want_actual, NULL);
		j->pending++;
		actual_next(it);
	}
	job_release(j);
}

/* --- recommendations from every plugin ----------------------------------- */

#define MAX_REC_PAGES	10

/* What every ready plugin lists: recommendations, budgets. */
struct collect {
	const char		*rpc;		/* GetRecommendations, GetBudgets */
	const char		*list;		/* the response's repeated field */
	int			 paged;
};

static const struct collect collect_recs = { "GetRecommendations",
	"recommendations", 1 };
static const struct collect collect_budgets = { "GetBudgets", "budgets", 0 };

struct collect_item {
	struct price_job	*job;	/* prices: the array collected */
	const struct collect	*what;
	struct plugin		*p;
	int			 pages;
};

static void	collect_page(struct collect_item *, const char *token);

static void
on_collect(struct json_object *r, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct collect_item *it = arg;
	struct json_object *list;
	const char *next;
	size_t i;

	(void)details;
	(void)latency;
	if (code != NULL) {
		if (strcmp(code, "UNIMPLEMENTED") != 0)
			job_error(it->job, NULL, it->p, it->what->rpc, code, msg);
	} else {
		if (json_object_object_get_ex(r, it->what->list, &list))
			for (i = 0; i < json_object_array_length(list); i++) {
				struct json_object *e = NULL;

				json_object_deep_copy(json_object_array_get_idx(list, i), &e, NULL);
				json_object_object_add(e, "plugin",
				    json_object_new_string(it->p->e.name));
				json_object_array_add(it->job->prices, e);
			}
		next = str_member(r, "next_page_token", "");
		if (it->what->paged && *next != '\0' && ++it->pages < MAX_REC_PAGES) {
			collect_page(it, next);
			return;
		}
	}
	job_release(it->job);
	free(it);
}

static void
collect_page(struct collect_item *it, const char *token)
{
	struct json_object *req = json_object_new_object();

	if (it->what->paged)
		json_object_object_add(req, "page_size", json_object_new_int(100));
	else
		json_object_object_add(req, "include_status", json_object_new_boolean(1));
	if (token != NULL)
		json_object_object_add(req, "page_token", json_object_new_string(token));
	submit(it->p, cs_rpc(it->what->rpc), req, it->job->timeout, CALL_CACHED, on_collect, it);
	json_object_put(req);
}

static void
collect_all(const struct collect *what, int64_t timeout_ms, plugin_done done, void *arg)
{
	struct price_job *j = job_new(what->list, 1, timeout_ms, done, arg);
	struct collect_item *it;
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < P.n; i++) {
		if (P.v[i].state != P_READY || (it = calloc(1, sizeof(*it))) == NULL)
			continue;
		it->job = j;
		it->what = what;
		it->p = &P.v[i];
		j->pending++;
		collect_page(it, NULL);
	}
	job_release(j);
}

void
plugins_recommendations(int64_t timeout_ms, plugin_done done, void *arg)
{
	collect_all(&collect_recs, timeout_ms, done, arg);
}

void
plugins_budgets(int64_t timeout_ms, plugin_done done, void *arg)
{
	collect_all(&collect_budgets, timeout_ms, done, arg);
}

/* --- periodic health checks ------------------------------------------------- */

static void
health_done(struct json_object *r, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct plugin *p = arg;

	(void)r;
	(void)details;
	(void)latency;
	if (code != NULL && strcmp(p->health ? p->health : "", "unhealthy") == 0)
		logmsg(LOG_WARN, "plugin %s: health check: %s: %s", p->e.name, code, msg);
}

static void
on_health(evutil_socket_t fd, short what, void *arg)
{
	size_t i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < P.n; i++) {
		publish_health(&P.v[i]);
		if (P.v[i].state == P_READY)
			submit(&P.v[i], cs_rpc("Name"), NULL, P.conf->plugin_timeout, CALL_HEALTH,
			    health_done, &P.v[i]);
	}
}

/* --- listing --------------------------------------------------------------- */

/* Configuration values whose key says they are secret: never shown. */
static int
secret_key(const char *k)
{
	static const char *const words[] = { "key", "token", "secret", "password",
	    "credential", "auth" };
	size_t i;

	for (i = 0; i < nitems(words); i++)
		if (strcasestr(k, words[i]) != NULL)
			return 1;
	return 0;
}

static struct json_object *
redacted(struct json_object *o)
{
	struct json_object *c = NULL;

	if (o == NULL || json_object_deep_copy(o, &c, NULL) != 0)
		return NULL;
	if (json_object_is_type(c, json_type_object)) {
		json_object_object_foreach(c, k, v) {
			if (secret_key(k) && json_object_is_type(v, json_type_string))
				json_object_object_add(c, k, json_object_new_string("(redacted)"));
			else if (json_object_is_type(v, json_type_object)) {
				struct json_object *inner = redacted(v);

				json_object_object_add(c, k, inner);
			}
		}
	}
	return c;
}

static struct json_object *
plugin_json(const struct plugin *p)
{
	struct json_object *o = json_object_new_object(), *h;

	json_object_object_add(o, "name", json_object_new_string(p->e.name));
	json_object_object_add(o, "version", json_object_new_string(p->e.version));
	json_object_object_add(o, "binary", json_object_new_string(p->e.binary));
	json_object_object_add(o, "directory", json_object_new_string(p->e.dir));
	json_object_object_add(o, "state", json_object_new_string(state_names[p->state]));
	if (p->pid > 0)
		json_object_object_add(o, "pid", json_object_new_int((int)p->pid));
	json_object_object_add(o, "port", json_object_new_int(p->port));
	json_object_object_add(o, "package", json_object_new_string(p->package ?
	    p->package : "finfocus.v1"));
	if (p->rpc_name != NULL)
		json_object_object_add(o, "reported_name", json_object_new_string(p->rpc_name));
	json_object_object_add(o, "legacy", json_object_new_boolean(p->state == P_READY &&
	    p->info == NULL));
	if (p->info != NULL)
		json_object_object_add(o, "plugin_info", redacted(p->info));
	if (p->e.manifest != NULL)
		json_object_object_add(o, "manifest", redacted(p->e.manifest));
	h = json_object_new_object();
	json_object_object_add(h, "status", json_object_new_string(p->state != P_READY ?
	    "unhealthy" : p->breaker_until != 0 ? "degraded" : p->health ? p->health :
	    "healthy"));
	json_object_object_add(h, "latency_ms", json_object_new_int64(p->latency_ms));
	if (p->health_at > 0)
		json_object_object_add(h, "last_check_ms", json_object_new_int64(p->health_at));
	if (p->last_error[0])
		json_object_object_add(h, "error", json_object_new_string(p->last_error));
	json_object_object_add(o, "health", h);
	json_object_object_add(o, "restarts", json_object_new_int(p->restarts));
	if (p->last_exit[0])
		json_object_object_add(o, "last_exit", json_object_new_string(p->last_exit));
	json_object_object_add(o, "circuit", json_object_new_string(p->breaker_until != 0 &&
	    now_ms() < p->breaker_until ? "open" : "closed"));
	return o;
}

struct json_object *
plugins_list(void)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < P.n; i++)
		json_object_array_add(arr, plugin_json(&P.v[i]));
	json_object_object_add(o, "plugins", arr);
	json_object_object_add(o, "skipped", json_object_get(P.skipped));
	json_object_object_add(o, "directories", json_object_get(P.dirs));
	return o;
}

/* --- start and stop -------------------------------------------------------- */

/*
 * Where plugins live: the configured directory, then the FinFocus home
 * ($FINFOCUS_HOME, else $PULUMI_HOME/finfocus, else ~/.finfocus) and the
 * PulumiCost one under $PULUMI_HOME, each with its plugins/ directory.
 */
static size_t
plugin_dirs(const struct conf *c, char bufs[3][4096], const char *dirs[4])
{
	const char *fh = getenv("FINFOCUS_HOME"), *ph = getenv("PULUMI_HOME");
	const char *home = getenv("HOME");
	size_t n = 0;

	dirs[n++] = c->plugin_dir;
	if (fh != NULL && *fh)
		snprintf(bufs[0], sizeof(bufs[0]), "%s/plugins", fh);
	else if (ph != NULL && *ph)
		snprintf(bufs[0], sizeof(bufs[0]), "%s/finfocus/plugins", ph);
	else if (home != NULL && *home)
		snprintf(bufs[0], sizeof(bufs[0]), "%s/.finfocus/plugins", home);
	else
		bufs[0][0] = '\0';
	if (bufs[0][0] && strcmp(bufs[0], c->plugin_dir) != 0)
		dirs[n++] = bufs[0];
	if (ph != NULL && *ph) {
		snprintf(bufs[1], sizeof(bufs[1]), "%s/pulumicost/plugins", ph);
		if (strcmp(bufs[1], c->plugin_dir) != 0)
			dirs[n++] = bufs[1];
	}
	return n;
}

void
plugins_start(struct event_base *base, const struct conf *c)
{
	const char *dirs[4];
	char bufs[3][4096];
	size_t ndirs;

	ndirs = plugin_dirs(c, bufs, dirs);
	/* Said once, so "why is my plugin not listed?" has an answer in the log. */
	if (access(c->plugin_dir, F_OK) == -1)
		logmsg(LOG_INFO, "plugin directory %s: %s: no plugins from it",
		    c->plugin_dir, strerror(errno));
	plugins_start_from(base, c, discover_plugins(dirs, ndirs, 1));
}

void
plugins_start_from(struct event_base *base, const struct conf *c, struct discovery *d)
{
	struct timeval tv;
	size_t i;

	memset(&P, 0, sizeof(P));
	P.base = base;
	P.conf = c;
	if (master_fd < 0)
		plugproc_init(base, from_plugproc);
	pcache_init(c);
	if (d == NULL)
		return;
	P.skipped = json_object_get(d->skipped);
	P.dirs = json_object_get(d->dirs);
	for (i = 0; i < json_object_array_length(d->skipped); i++) {
		struct json_object *s = json_object_array_get_idx(d->skipped, i);

		logmsg(LOG_INFO, "plugin directory: skipped %s: %s",
		    str_member(s, "path", ""), str_member(s, "reason", ""));
	}
	if (d->n > 0 && (P.v = calloc(d->n, sizeof(*P.v))) != NULL) {
		for (i = 0; i < d->n; i++) {
			struct plugin *p = &P.v[i];

			p->e = d->v[i];	/* take the strings */
			memset(&d->v[i], 0, sizeof(d->v[i]));
			TAILQ_INIT(&p->queue);
			TAILQ_INIT(&p->retrying);
			p->probe_ev = evtimer_new(base, on_probe, p);
			p->restart_ev = evtimer_new(base, on_restart, p);
			p->deadline_ev = evtimer_new(base, on_deadline, p);
			P.n++;
			spawn(p);
		}
	}
	discovery_free(d);
	if (P.n > 0) {
		P.health_ev = event_new(base, -1, EV_PERSIST, on_health, NULL);
		tv = tv_ms(c->plugin_health_interval);
		event_add(P.health_ev, &tv);
	}
}

void
plugins_stop(void)
{
	struct pcall *k;
	size_t i;

	P.stopping = 1;
	for (i = 0; i < P.n; i++) {
		struct plugin *p = &P.v[i];

		while ((k = TAILQ_FIRST(&p->queue)) != NULL) {
			TAILQ_REMOVE(&p->queue, k, entry);
			pcall_end(k, NULL, "UNAVAILABLE", "the broker is stopping", NULL);
		}
		while ((k = TAILQ_FIRST(&p->retrying)) != NULL) {
			TAILQ_REMOVE(&p->retrying, k, entry);
			pcall_end(k, NULL, "UNAVAILABLE", "the broker is stopping", NULL);
		}
		/* Nothing may start again while the loop runs below: a probe
		 * firing there opened a connection nobody closed. */
		stop_events(p);
		event_del(p->restart_ev);
		drop_conn(p);
		p->pid = 0;	/* let go: the owner stops what no one uses */
	}
	/* The closed connections are freed from the loop: run it once more. */
	event_base_loop(P.base, EVLOOP_NONBLOCK);
	/* The command line owns its plugins: stop them before it exits. */
	if (master_fd < 0)
		plugproc_stop_now(getpid(), STOP_GRACE_MS);
	for (i = 0; i < P.n; i++) {
		struct plugin *p = &P.v[i];

		event_free(p->probe_ev);
		event_free(p->restart_ev);
		event_free(p->deadline_ev);
		json_object_put(p->info);
		json_object_put(p->e.manifest);
		free(p->rpc_name);
		free(p->e.name);
		free(p->e.version);
		free(p->e.dir);
		free(p->e.binary);
	}
	if (P.health_ev != NULL)
		event_free(P.health_ev);
	free(P.v);
	json_object_put(P.skipped);
	json_object_put(P.dirs);
	pcache_clear();
	memset(&P, 0, sizeof(P));
}
