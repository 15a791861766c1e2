/*
 * A worker: accepts on the inherited listeners, serves HTTP, and runs
 * inside the seccomp sandbox once initialised.  Everything that needs a
 * file or the outside world is asked of the broker.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>
#include <json-c/json.h>
#include <openssl/rand.h>

#include "../net/http.h"
#include "../cost/cost_tools.h"
#include "../plugin/plugin_tools.h"
#include "../net/auth.h"
#include "../net/cors.h"
#include "../net/ratelimit.h"
#include "../net/realip.h"
#include "../mcp/conformance.h"
#include "../mcp/http_transport.h"
#include "../mcp/mcp.h"
#include "../mcp/stream.h"
#include "../mcp/test_tools.h"
#include "../net/tls.h"
#include "../plugin/broker.h"
#include "chan.h"
#include "child.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"
#include "worker.h"

#define READY_PROBE_MS	1000
#define SPAN_BATCH	64
#define SPAN_BATCH_MS	100

static struct {
	struct child_ctx	 cx;
	struct http_server	*http;
	struct broker_client	*broker;
	SSL_CTX			*tls;
	int			 draining;
	int			 stopping;	/* the server is shutting down */
	struct json_object	*spans;		/* ended, not yet sent */
	struct event		*span_timer;
} W;

/* --- /health and /ready --------------------------------------------------- */

static void
serve_health(struct http_request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("healthy"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	http_reply_json(r, 200, o);
}

static void
not_ready(struct http_request *r, const char *reason)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string("not ready"));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	http_add_header(r, "Retry-After", "1");
	http_reply_json(r, 503, o);
}

static void
on_ready_probe(struct json_object *res, struct json_object *err, int fd,
    void *arg)
{
	struct http_request *r = arg;
	struct json_object *o, *m;
	char reason[256];

	(void)res;
	if (fd >= 0)
		close(fd);
	if (err != NULL) {
		json_object_object_get_ex(err, "message", &m);
		snprintf(reason, sizeof(reason), "broker unreachable: %s",
		    m ? json_object_get_string(m) : "error");
		not_ready(r, reason);
		return;
	}
	if (W.stopping) {
		not_ready(r, "shutting down");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ready"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "generation", json_object_new_int64(W.cx.args->gen));
	http_reply_json(r, 200, o);
}

static void
serve_ready(struct http_request *r)
{
	if (W.stopping) {
		not_ready(r, "shutting down");
		return;
	}
	/* Ready means every dependency answers now, not that it once did. */
	broker_call(W.broker, "ping", NULL, READY_PROBE_MS, on_ready_probe, r);
}

#ifdef PCM_TEST_HOOKS
/* --- test hooks: compiled only with --enable-test-hooks ------------------- */

static const char *
query_arg(const struct http_request *r, const char *name, char *buf, size_t len)
{
	const char *q = r->query;
	size_t n = strlen(name);

	while (q != NULL && *q) {
		if (strncmp(q, name, n) == 0 && q[n] == '=') {
			const char *v = q + n + 1, *e = strchr(v, '&');
			size_t l = e ? (size_t)(e - v) : strlen(v);

			if (l >= len)
				l = len - 1;
			memcpy(buf, v, l);
			buf[l] = '\0';
			return buf;
		}
		q = strchr(q, '&');
		if (q)
			q++;
	}
	return NULL;
}

static void
on_debug_read(struct json_object *res, struct json_object *err, int fd,
    void *arg)
{
	struct http_request *r = arg;
	struct json_object *o = json_object_new_object();
	char *data;
	size_t len;

	if (err != NULL) {
		json_object_object_add(o, "error", json_object_get(err));
		http_reply_json(r, 422, o);
		return;
	}
	if (read_all_fd(fd, &data, 1 << 30, &len) < 0) {
		close(fd);
		json_object_object_add(o, "error", json_object_new_string("read"));
		http_reply_json(r, 500, o);
		return;
	}
	close(fd);
	json_object_object_add(o, "result", json_object_get(res));
	json_object_object_add(o, "bytes_read", json_object_new_int64((int64_t)len));
	json_object_object_add(o, "head", json_object_new_string_len(data,
	    len < 64 ? (int)len : 64));
	free(data);
	http_reply_json(r, 200, o);
}

static int
serve_debug(struct http_request *r)
{
	struct json_object *o;
	char a[1024], b[1024];
	char *val;
	size_t vlen;
	int rc;

	if (strcmp(r->path, "/debug/spin") == 0) {
		for (;;)
			;	/* a stuck worker, for the watchdog */
	}
	if (strcmp(r->path, "/debug/fork") == 0) {
		(void)fork();	/* a forbidden syscall, for the sandbox */
		http_reply_error(r, 500, "fork was allowed");
		return 1;
	}
	if (strcmp(r->path, "/debug/exit") == 0) {
		exit(query_arg(r, "code", a, sizeof(a)) ? atoi(a) : 1);
	}
	if (strcmp(r->path, "/debug/shm-lock") == 0) {
		rc = shm_lock_shard_forever(W.cx.shm,
		    (unsigned)atoi(query_arg(r, "shard", a, sizeof(a)) ? a : "0"));
		o = json_object_new_object();
		json_object_object_add(o, "locked", json_object_new_boolean(rc == 0));
		json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
		http_reply_json(r, 200, o);
		return 1;
	}
	if (strcmp(r->path, "/debug/shm") == 0) {
		if (!query_arg(r, "key", a, sizeof(a))) {
			http_reply_error(r, 400, "key= is required");
			return 1;
		}
		o = json_object_new_object();
		if (query_arg(r, "put", b, sizeof(b))) {
			rc = shm_put(W.cx.shm, a, strlen(a), b, strlen(b), 0);
			json_object_object_add(o, "stored", json_object_new_boolean(rc == 0));
		} else {
			rc = shm_get(W.cx.shm, a, strlen(a), &val, &vlen);
			json_object_object_add(o, "found", json_object_new_boolean(rc == 1));
			if (rc == 1) {
				json_object_object_add(o, "value",
				    json_object_new_string_len(val, (int)vlen));
				free(val);
			}
		}
		json_object_object_add(o, "shard", json_object_new_int(
		    (int)shm_shard_of(W.cx.shm, a, strlen(a))));
		json_object_object_add(o, "recoveries", json_object_new_int64(
		    (int64_t)atomic_load(&shm_hdr(W.cx.shm)->stats[ST_RECOVERIES])));
		json_object_object_add(o, "hits", json_object_new_int64(
		    (int64_t)atomic_load(&shm_hdr(W.cx.shm)->stats[ST_HITS])));
		json_object_object_add(o, "misses", json_object_new_int64(
		    (int64_t)atomic_load(&shm_hdr(W.cx.shm)->stats[ST_MISSES])));
		json_object_object_add(o, "inserts", json_object_new_int64(
		    (int64_t)atomic_load(&shm_hdr(W.cx.shm)->stats[ST_INSERTS])));
		json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
		http_reply_json(r, 200, o);
		return 1;
	}
	if (strcmp(r->path, "/debug/read") == 0) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "path", json_object_new_string(
		    query_arg(r, "path", a, sizeof(a)) ? a : ""));
		if (query_arg(r, "max", b, sizeof(b)))
			json_object_object_add(p, "max_bytes",
			    json_object_new_int64(atoll(b)));
		broker_call(W.broker, "read_file", p, 5000, on_debug_read, r);
		return 1;
	}
	if (strcmp(r->path, "/debug/big") == 0) {
		/* A large response, for write-timeout tests. */
		size_t n = query_arg(r, "n", a, sizeof(a)) ? (size_t)atoll(a) : 0;
		char *big;

		if (n > 256 * 1024 * 1024 || (big = malloc(n + 1)) == NULL) {
			http_reply_error(r, 400, "n out of range");
			return 1;
		}
		memset(big, 'x', n);
		http_reply(r, 200, "text/plain", big, n);
		free(big);
		return 1;
	}
	if (strcmp(r->path, "/debug/pid") == 0) {
		o = json_object_new_object();
		json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
		json_object_object_add(o, "generation",
		    json_object_new_int64(W.cx.args->gen));
		http_reply_json(r, 200, o);
		return 1;
	}
	return 0;
}
#endif

/* --- /metrics -------------------------------------------------------------- */

static void
serve_metrics(struct http_request *r)
{
	char *page;
	size_t len;

	if ((page = metrics_render(W.cx.shm, &len)) == NULL) {
		http_reply_error(r, 500, "cannot render the metrics page: out of memory");
		return;
	}
	http_reply(r, 200, METRICS_CONTENT_TYPE, page, len);
	free(page);
}

/* --- routing -------------------------------------------------------------- */

/* rate_limiting: per identity when authenticated, else per address. */
static int
within_limit(struct http_request *r)
{
	char client[160], after[32], msg[160];
	int64_t wait;

	snprintf(client, sizeof(client), "%s:%s", r->user[0] ? "id" : "addr",
	    r->user[0] ? r->user : r->remote);
	if (ratelimit_allow(client, &wait))
		return 1;
	snprintf(after, sizeof(after), "%lld", (long long)(wait + 999) / 1000);
	http_add_header(r, "Retry-After", after);
	snprintf(msg, sizeof(msg), "too many requests: the limit is %lld a minute"
	    " with a burst of %lld; retry after %s s",
	    (long long)W.cx.conf->rl_per_minute, (long long)W.cx.conf->rl_burst, after);
	http_reply_error(r, 429, msg);
	return 0;
}

/* GET and HEAD only: 405 with Allow otherwise. */
static int
get_only(struct http_request *r)
{
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return 1;
	http_add_header(r, "Allow", "GET, HEAD");
	http_reply_error(r, 405, "method not allowed");
	return 0;
}

static void
handle(struct http_request *r, void *arg)
{
	const struct conf *c = W.cx.conf;
	int metrics_port = r->listener >= 0 && (size_t)r->listener < c->nlisten &&
	    c->listen[r->listener].proto == PROTO_METRICS;

	(void)arg;
	atomic_fetch_add(&child_sb(&W.cx)->requests, 1);
	realip_apply(c, r);
	if (!metrics_port && cors_handle(c, r))
		return;		/* a preflight, answered */
	if (auth_metadata(r))
		return;		/* OAuth protected resource metadata: public */
	if (!auth_request(r))
		return;		/* 401 sent */
	if (strcmp(r->path, "/health") == 0 || strcmp(r->path, "/ready") == 0) {
		r->route = r->path[1] == 'h' ? "/health" : "/ready";
		if (!get_only(r))
			return;
		if (r->path[1] == 'h')
			serve_health(r);
		else
			serve_ready(r);
		return;
	}
	if (c->metrics_enabled && strcmp(r->path, c->metrics_path) == 0) {
		r->route = "/metrics";
		if (get_only(r))
			serve_metrics(r);
		return;
	}
	if (metrics_port) {
		http_reply_error(r, 404, "this port serves the metrics and the"
		    " probes only");
		return;
	}
	if (!within_limit(r))
		return;		/* 429 sent */
	if (strcmp(r->path, "/mcp") == 0) {
		r->route = "/mcp";
		mcp_http_endpoint(r);
		return;
	}
	if (strcmp(r->path, "/rpc") == 0) {
		r->route = "/rpc";
		mcp_http_rpc(r);
		return;
	}
#ifdef PCM_TEST_HOOKS
	if (strncmp(r->path, "/debug/", 7) == 0 && serve_debug(r))
		return;
#endif
	http_reply_error(r, 404, "no such endpoint");
}

/* --- lifecycle ------------------------------------------------------------ */

/*
 * Workers have no network: their spans go to the broker, which exports,
 * SPAN_BATCH to a message or those of the last SPAN_BATCH_MS, not one
 * message each.
 */
static void
spans_flush(evutil_socket_t fd, short what, void *arg)
{
	struct json_object *p;

	(void)fd;
	(void)what;
	(void)arg;
	if (W.spans == NULL || W.broker == NULL)
		return;
	evtimer_del(W.span_timer);
	p = json_object_new_object();
	json_object_object_add(p, "spans", W.spans);
	W.spans = NULL;
	(void)broker_notify(W.broker, "spans", p);	/* lost if none runs */
}

static void
span_to_broker(struct json_object *span)
{
	struct timeval tv = tv_ms(SPAN_BATCH_MS);

	if (W.spans == NULL) {
		W.spans = json_object_new_array();
		evtimer_add(W.span_timer, &tv);
	}
	json_object_array_add(W.spans, span);
	if (json_object_array_length(W.spans) >= SPAN_BATCH)
		spans_flush(-1, 0, NULL);
}

static void
on_conn_closed(void *arg)
{
	(void)arg;
	atomic_store(&child_sb(&W.cx)->connections,
	    (uint64_t)http_server_connections(W.http));
	if (W.draining && http_server_connections(W.http) == 0)
		event_base_loopexit(W.cx.base, NULL);
}

static void
begin_drain(void)
{
	struct timeval tv;

	if (W.draining)
		return;
	W.draining = 1;
	atomic_store(&child_sb(&W.cx)->draining, 1);
	http_server_drain(W.http);
	stream_drain();
	tv = tv_ms(W.cx.conf->shutdown_timeout);
	event_base_loopexit(W.cx.base, &tv);	/* the bound on draining */
	if (http_server_connections(W.http) == 0)
		event_base_loopexit(W.cx.base, NULL);
}

static void
on_quit(int shutdown)
{
	if (shutdown)
		W.stopping = 1;
	begin_drain();
}

static void
on_broker_fd(int fd, int slot)
{
	(void)slot;
	broker_client_set_fd(W.broker, fd);
}

static const struct child_ops worker_ops = { on_quit, on_broker_fd, NULL };

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGQUIT) {
		W.stopping = 1;
		begin_drain();
	}
	else
		event_base_loopbreak(W.cx.base);
}

static void
setup_listeners(void)
{
	struct conf *c = W.cx.conf;
	char err[512];
	size_t i;

	if (tls_in_use(c) && (W.tls = tls_server_ctx(c, err, sizeof(err))) == NULL) {
		logmsg(LOG_ALERT, "TLS: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	stream_init(W.cx.base, W.http, c);
	for (i = 0; i < c->nlisten; i++) {
		if (http_server_listen_raw(W.http, FD_LISTEN0 + (int)i,
		    c->listen[i].tls && c->listen[i].proto != PROTO_METRICS ? W.tls : NULL,
		    c->listen[i].proto == PROTO_STREAM ? stream_accept : NULL,
		    NULL) == -1) {
			logmsg(LOG_ALERT, "cannot listen on %s", c->listen[i].address);
			exit(EXIT_FATAL_CONFIG);
		}
	}
}

#ifdef PCM_TEST_HOOKS
static void
test_failpoint_start(void)
{
	const char *f = getenv("PCM_TEST_CRASH_FILE");

	if (f != NULL && access(f, F_OK) == 0) {
		logmsg(LOG_ERROR, "test failpoint: exiting at start-up");
		exit(1);
	}
}
#endif

int
worker_main(const struct child_args *a)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT };
	struct event *sev[3];
	struct http_limits lim;
	unsigned char seed[32];
	char err[512];
	size_t i;

	memset(&W, 0, sizeof(W));
	child_init(&W.cx, a);
#ifdef PCM_TEST_HOOKS
	test_failpoint_start();
	test_tools_register();
#endif

	lim.max_header = (size_t)W.cx.conf->max_header_size;
	lim.max_body = (size_t)W.cx.conf->max_message_size;
	lim.read_timeout_ms = W.cx.conf->read_timeout;
	lim.write_timeout_ms = W.cx.conf->write_timeout;
	lim.keepalive_ms = W.cx.conf->keepalive_timeout;
	lim.handshake_ms = W.cx.conf->tls_handshake_timeout;
	lim.max_connections = (int)W.cx.conf->max_connections;
	if ((W.http = http_server_new(W.cx.base, &lim, handle, NULL)) == NULL)
		exit(1);
	http_server_on_close(W.http, on_conn_closed, NULL);
	setup_listeners();
	mcp_http_init(W.cx.conf, W.cx.sess);
	mcp_init(W.cx.base, W.cx.sess);
	mcp_set_cache(W.cx.shm, W.cx.args->gen, W.cx.conf->cache_enabled,
	    W.cx.conf->ttl_cost_data, W.cx.conf->ttl_pulumi_state);
	mcp_set_page_size((size_t)W.cx.conf->page_size);
	if (W.cx.conf->mcp_conformance) {
		mcp_set_conformance(1);
		conformance_register(W.cx.base);
	}
	W.broker = broker_client_new(W.cx.base, FD_BROKER);
	if (cost_tools_init(W.cx.conf, W.broker, W.cx.shm, err, sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "pricing catalogue: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	plugin_tools_init(W.broker);
	if ((W.span_timer = evtimer_new(W.cx.base, spans_flush, NULL)) == NULL)
		exit(1);
	trace_init(W.cx.conf, span_to_broker);
	ratelimit_init(W.cx.conf, W.cx.sess);
	if (auth_init(W.cx.conf, err, sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "%s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	child_listen_master(&W.cx, &worker_ops);
	for (i = 0; i < nitems(sigs); i++) {
		sev[i] = evsignal_new(W.cx.base, sigs[i], on_signal, NULL);
		event_add(sev[i], NULL);
	}
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	child_start_heartbeat(&W.cx);

	/* Warm up everything that would need a file or a new syscall later. */
	tzset();
	if (RAND_bytes(seed, sizeof(seed)) != 1 || evutil_secure_rng_init() == -1) {
		logmsg(LOG_ALERT, "cannot seed the random generators");
		exit(1);
	}
	{
		struct json_object *o = json_object_new_double(1.5);

		(void)json_object_to_json_string(o);	/* locale data */
		json_object_put(o);
	}

	sandbox_rlimits(W.cx.conf, 1);
	if (sandbox_drop_privileges(W.cx.conf, err, sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "worker: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	child_watch_parent();
	if (sandbox_enter_worker(W.cx.conf->sandbox, FD_MASTER, err,
	    sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "worker sandbox: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	child_send_ready(&W.cx);
	event_base_dispatch(W.cx.base);

	/*
	 * Leaving.  Broker calls still pending answer their requests first
	 * (with "unavailable"), while those requests' connections exist.
	 */
	spans_flush(-1, 0, NULL);
	broker_client_free(W.broker);
	W.broker = NULL;	/* spans ended from here on are dropped */
	stream_free_all();
	http_server_free(W.http);
	for (i = 0; i < nitems(sigs); i++)
		event_free(sev[i]);
	if (W.tls)
		SSL_CTX_free(W.tls);
	json_object_put(W.spans);
	event_free(W.span_timer);
	child_free(&W.cx);
	return 0;
}
