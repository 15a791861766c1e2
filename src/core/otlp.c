#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "otlp.h"
#include "util.h"

#define EXPORT_TIMEOUT_S	10
#define MAX_BACKOFF_MS		60000

static struct {
	struct event_base	*base;
	struct evdns_base	*dns;
	SSL_CTX			*tls;
	struct evhttp_uri	*uri;
	char			 url[1024];
	char			 path[1024];
	struct json_object	*resource;	/* service.name and attributes */
	struct json_object	*queue;		/* spans waiting */
	struct json_object	*inflight;	/* the batch being sent, or NULL */
	struct event		*timer;
	int64_t			 delay_ms, max_queue, max_batch;
	int64_t			 backoff_ms;
	char			*headers;	/* OTEL_EXPORTER_OTLP_HEADERS */
	int			 warned;
} X;

static void	schedule(int64_t ms);

static int64_t
env_int(const char *name, int64_t def, int64_t min, int64_t max)
{
	const char *v = getenv(name);
	int64_t n;

	if (v == NULL || parse_int64(v, &n) == -1 || n < min || n > max)
		return def;
	return n;
}

static void
count(const char *result, size_t n)
{
	char l[64];

	metrics_add(MET_TRACE_SPANS, metrics_labels(l, sizeof(l), "result", result,
	    NULL), n);
}

static void
attr_str(struct json_object *arr, const char *k, const char *v)
{
	struct json_object *a = json_object_new_object(), *val = json_object_new_object();

	json_object_object_add(val, "stringValue", json_object_new_string(v));
	json_object_object_add(a, "key", json_object_new_string(k));
	json_object_object_add(a, "value", val);
	json_object_array_add(arr, a);
}

/* service.name (OTEL_SERVICE_NAME), the version, OTEL_RESOURCE_ATTRIBUTES. */
static struct json_object *
make_resource(void)
{
	struct json_object *r = json_object_new_object(), *attrs = json_object_new_array();
	const char *name = getenv("OTEL_SERVICE_NAME"), *extra = getenv("OTEL_RESOURCE_ATTRIBUTES");
	char buf[1024], *save = NULL, *kv, *eq;

	attr_str(attrs, "service.name", name && *name ? name : PCM_NAME);
	attr_str(attrs, "service.version", PACKAGE_VERSION);
	if (extra != NULL && strlcpy_(buf, extra, sizeof(buf)) < sizeof(buf))
		for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
			if ((eq = strchr(kv, '=')) != NULL && eq != kv &&
			    strncmp(kv, "service.name=", 13) != 0) {
				*eq = '\0';
				attr_str(attrs, kv, eq + 1);
			}
	json_object_object_add(r, "attributes", attrs);
	return r;
}

static const char *
endpoint(const struct conf *c, char *buf, size_t len)
{
	const char *v;

	if ((v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != NULL && *v)
		return v;
	if ((v = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != NULL && *v) {
		snprintf(buf, len, "%s%s", v, v[strlen(v) - 1] == '/' ? "v1/traces" :
		    "/v1/traces");
		return buf;
	}
	return *c->tracing_endpoint ? c->tracing_endpoint : "http://localhost:4318/v1/traces";
}

int
otlp_start(struct event_base *base, const struct conf *c, char *err, size_t errlen)
{
	const char *url, *scheme, *q;
	char buf[1024];

	memset(&X, 0, sizeof(X));
	X.base = base;
	url = endpoint(c, buf, sizeof(buf));
	strlcpy_(X.url, url, sizeof(X.url));
	if ((X.uri = evhttp_uri_parse(url)) == NULL || evhttp_uri_get_host(X.uri) == NULL ||
	    (scheme = evhttp_uri_get_scheme(X.uri)) == NULL ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0))
		return errorf(err, errlen, "tracing endpoint \"%s\": not an http:// or"
		    " https:// URL", url);
	q = evhttp_uri_get_query(X.uri);
	snprintf(X.path, sizeof(X.path), "%s%s%s", evhttp_uri_get_path(X.uri) &&
	    *evhttp_uri_get_path(X.uri) ? evhttp_uri_get_path(X.uri) : "/",
	    q ? "?" : "", q ? q : "");
	if (strcasecmp(scheme, "https") == 0) {
		if ((X.tls = SSL_CTX_new(TLS_client_method())) == NULL ||
		    SSL_CTX_set_default_verify_paths(X.tls) != 1)
			return errorf(err, errlen, "tracing endpoint: cannot set up TLS");
		SSL_CTX_set_min_proto_version(X.tls, TLS1_2_VERSION);
		SSL_CTX_set_verify(X.tls, SSL_VERIFY_PEER, NULL);
	}
	X.dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	X.delay_ms = env_int("OTEL_BSP_SCHEDULE_DELAY", 5000, 10, 3600000);
	X.max_queue = env_int("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1 << 20);
	X.max_batch = env_int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1 << 20);
	if (X.max_batch > X.max_queue)
		X.max_batch = X.max_queue;
	if ((q = getenv("OTEL_EXPORTER_OTLP_HEADERS")) != NULL)
		X.headers = strdup(q);
	X.resource = make_resource();
	X.queue = json_object_new_array();
	schedule(X.delay_ms);
	logmsg(LOG_INFO, "tracing: exporting OTLP/JSON to %s every %lld ms (sample rate"
	    " %g)", X.url, (long long)X.delay_ms, c->tracing_sample_rate);
	return 0;
}

void
otlp_enqueue(struct json_object *span)
{
	if (X.queue == NULL) {
		json_object_put(span);
		return;
	}
	if ((int64_t)json_object_array_length(X.queue) >= X.max_queue) {
		json_object_put(span);
		count("dropped", 1);
		return;
	}
	json_object_array_add(X.queue, span);
	if ((int64_t)json_object_array_length(X.queue) >= X.max_batch && X.inflight == NULL &&
	    X.backoff_ms == 0)
		schedule(0);
}

/* --- export ----------------------------------------------------------------- */

static void
add_headers(struct evkeyvalq *h, size_t len)
{
	char host[300], clen[32], buf[2048], *save = NULL, *kv, *eq;
	int port = evhttp_uri_get_port(X.uri);

	snprintf(host, sizeof(host), port > 0 ? "%s:%d" : "%s",
	    evhttp_uri_get_host(X.uri), port);
	snprintf(clen, sizeof(clen), "%zu", len);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Content-Length", clen);
	evhttp_add_header(h, "User-Agent", PCM_NAME "/" PACKAGE_VERSION);
	if (X.headers == NULL || strlcpy_(buf, X.headers, sizeof(buf)) >= sizeof(buf))
		return;
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save))
		if ((eq = strchr(kv, '=')) != NULL && eq != kv) {
			*eq = '\0';
			evhttp_add_header(h, kv, eq + 1);	/* never logged */
		}
}

/* The batch back at the head of the queue, for a later try. */
static void
requeue(void)
{
	struct json_object *q = json_object_new_array();
	size_t i, n = json_object_array_length(X.inflight);

	for (i = 0; i < n && (int64_t)i < X.max_queue; i++)
		json_object_array_add(q, json_object_get(json_object_array_get_idx(X.inflight, i)));
	for (i = 0; i < json_object_array_length(X.queue); i++) {
		if ((int64_t)json_object_array_length(q) >= X.max_queue) {
			count("dropped", json_object_array_length(X.queue) - i);
			break;
		}
		json_object_array_add(q, json_object_get(json_object_array_get_idx(X.queue, i)));
	}
	json_object_put(X.queue);
	X.queue = q;
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	int code = req ? evhttp_request_get_response_code(req) : 0;
	size_t n = json_object_array_length(X.inflight);
	const char *ra;

	(void)arg;
	if (code >= 200 && code < 300) {
		count("exported", n);
		X.backoff_ms = 0;
		X.warned = 0;
	} else if (code == 0 || code == 429 || code == 502 || code == 503 || code == 504) {
		/* Transient: keep the spans, try again later. */
		ra = req ? evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Retry-After") : NULL;
		X.backoff_ms = ra && atoi(ra) > 0 ? atoi(ra) * 1000LL :
		    X.backoff_ms ? X.backoff_ms * 2 : 1000;
		if (X.backoff_ms > MAX_BACKOFF_MS)
			X.backoff_ms = MAX_BACKOFF_MS;
		if (!X.warned++)
			logmsg(LOG_WARN, "tracing: the collector at %s %s (%d); retrying"
			    " in %lld ms", X.url, code ? "is unavailable" : "could not be"
			    " reached", code, (long long)X.backoff_ms);
		requeue();
	} else {
		count("failed", n);
		if (!X.warned++)	/* once per streak: a wrong endpoint is not news every batch */
			logmsg(LOG_WARN, "tracing: the collector at %s refused %zu spans"
			    " (HTTP %d); dropped (pulumicost_trace_spans_total{result=\"failed\"}"
			    " counts the rest)", X.url, n, code);
	}
	json_object_put(X.inflight);
	X.inflight = NULL;
	schedule(X.backoff_ms ? X.backoff_ms : X.delay_ms);
}

static struct evhttp_connection *
connect_collector(void)
{
	const char *host = evhttp_uri_get_host(X.uri);
	int port = evhttp_uri_get_port(X.uri);
	struct bufferevent *bev = NULL;
	SSL *ssl;

	if (X.tls != NULL) {
		if ((ssl = SSL_new(X.tls)) == NULL)
			return NULL;
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set1_host(ssl, host);
		bev = bufferevent_openssl_socket_new(X.base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			return NULL;
		}
	}
	return evhttp_connection_base_bufferevent_new(X.base, X.dns, bev, host,
	    (unsigned short)(port > 0 ? port : X.tls ? 443 : 80));
}

static void
export_batch(void)
{
	struct json_object *doc, *rs, *ss, *scope, *arr;
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	size_t i, n = json_object_array_length(X.queue), take, len;
	const char *body;
	char *esc;

	if (X.inflight != NULL || n == 0)
		return;
	take = (int64_t)n > X.max_batch ? (size_t)X.max_batch : n;
	X.inflight = json_object_new_array();
	for (i = 0; i < take; i++)
		json_object_array_add(X.inflight, json_object_get(json_object_array_get_idx(X.queue, i)));
	json_object_array_del_idx(X.queue, 0, take);

	scope = json_object_new_object();
	json_object_object_add(scope, "name", json_object_new_string(PCM_NAME));
	json_object_object_add(scope, "version", json_object_new_string(PACKAGE_VERSION));
	ss = json_object_new_object();
	json_object_object_add(ss, "scope", scope);
	json_object_object_add(ss, "spans", json_object_get(X.inflight));
	arr = json_object_new_array();
	json_object_array_add(arr, ss);
	rs = json_object_new_object();
	json_object_object_add(rs, "resource", json_object_get(X.resource));
	json_object_object_add(rs, "scopeSpans", arr);
	arr = json_object_new_array();
	json_object_array_add(arr, rs);
	doc = json_object_new_object();
	json_object_object_add(doc, "resourceSpans", arr);
	body = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);

	if ((conn = connect_collector()) == NULL ||
	    (req = evhttp_request_new(on_done, NULL)) == NULL) {
		if (conn)
			evhttp_connection_free(conn);
		json_object_put(doc);
		on_done(NULL, NULL);
		return;
	}
	evhttp_connection_set_timeout(conn, EXPORT_TIMEOUT_S);
	evhttp_connection_free_on_completion(conn);
	/* Attributes (a path, a header) may hold bytes that are not UTF-8. */
	if ((esc = utf8_escape(body, strlen(body), 1, &len)) != NULL)
		body = esc;
	else
		len = strlen(body);
	add_headers(evhttp_request_get_output_headers(req), len);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	free(esc);
	json_object_put(doc);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, X.path) == -1)
		logmsg(LOG_WARN, "tracing: cannot send to %s", X.url);	/* on_done ran */
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	export_batch();
	if (X.inflight == NULL)
		schedule(X.delay_ms);
}

static void
schedule(int64_t ms)
{
	struct timeval tv = tv_ms(ms);

	if (X.timer == NULL)
		X.timer = evtimer_new(X.base, on_timer, NULL);
	evtimer_del(X.timer);
	evtimer_add(X.timer, &tv);
}

void
otlp_stop(void)
{
	size_t n = X.queue ? json_object_array_length(X.queue) : 0;

	if (X.queue == NULL)
		return;
	if (n > 0)
		count("dropped", n);	/* leaving: not worth holding the exit */
	if (X.timer)
		event_free(X.timer);
	json_object_put(X.queue);
	json_object_put(X.inflight);
	json_object_put(X.resource);
	if (X.uri)
		evhttp_uri_free(X.uri);
	if (X.dns)
		evdns_base_free(X.dns, 0);
	if (X.tls)
		SSL_CTX_free(X.tls);
	free(X.headers);
	memset(&X, 0, sizeof(X));
}
