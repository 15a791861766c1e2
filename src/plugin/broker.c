/*
 * The broker process.  In this release it serves workers' file reads:
 * the worker names a path, the broker checks it against the directories
 * and files the configuration names, opens it, and passes the open
 * descriptor back (SCM_RIGHTS).  Workers never call open(2) themselves.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "../core/chan.h"
#include "../core/child.h"
#include "../core/log.h"
#include "../core/otlp.h"
#include "../core/proc.h"
#include "../core/sandbox.h"
#include "../core/trace.h"
#include "../core/util.h"
#include "../cost/billing.h"
#include "broker.h"
#include "plugins.h"

/* --- file policy ---------------------------------------------------------- */

struct broker_roots {
	struct strlist	 dirs;		/* resolved directories */
	struct strlist	 files;		/* resolved single files */
};

static void
add_root(struct broker_roots *r, const char *p)
{
	char real[PATH_MAX];
	struct stat st;
	struct strlist *l;
	char **nv;

	if (p == NULL || *p == '\0' || realpath(p, real) == NULL ||
	    stat(real, &st) == -1)
		return;		/* absent now: nothing to serve from it */
	l = S_ISDIR(st.st_mode) ? &r->dirs : &r->files;
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return;
	l->v = nv;
	if ((l->v[l->n] = strdup(real)) != NULL)
		l->n++;
}

struct broker_roots *
broker_roots_new(const struct conf *c)
{
	struct broker_roots *r = calloc(1, sizeof(*r));
	size_t i;

	if (r == NULL)
		return NULL;
	for (i = 0; i < c->nstacks; i++) {
		add_root(r, c->stacks[i].state);
		add_root(r, c->stacks[i].preview);
	}
	add_root(r, c->plugin_dir);
	add_root(r, c->spec_dir);
	add_root(r, c->pricing_spec_dir);
	for (i = 0; i < c->billing_focus.n; i++)
		add_root(r, c->billing_focus.v[i]);
	if (strncmp(c->pulumi_backend_url, "file://", 7) == 0)
		add_root(r, c->pulumi_backend_url + 7);
	return r;
}

void
broker_roots_free(struct broker_roots *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->dirs.n; i++)
		free(r->dirs.v[i]);
	for (i = 0; i < r->files.n; i++)
		free(r->files.v[i]);
	free(r->dirs.v);
	free(r->files.v);
	free(r);
}

static int
allowed(const struct broker_roots *r, const char *real)
{
	size_t i, n;

	for (i = 0; i < r->files.n; i++)
		if (strcmp(real, r->files.v[i]) == 0)
			return 1;
	for (i = 0; i < r->dirs.n; i++) {
		n = strlen(r->dirs.v[i]);
		if (strncmp(real, r->dirs.v[i], n) == 0 &&
		    (real[n] == '/' || (n == 1 && r->dirs.v[i][0] == '/')))
			return 1;
	}
	return 0;
}

int
broker_open_file(const struct broker_roots *r, const char *path,
    int64_t max_bytes, int64_t *size, const char **code, char *why,
    size_t whylen)
{
	char real[PATH_MAX];
	struct stat st;
	int fd;

	if (path == NULL || *path != '/') {
		*code = "invalid";
		snprintf(why, whylen, "path must be absolute");
		return -1;
	}
	if (realpath(path, real) == NULL) {
		*code = errno == ENOENT ? "not_found" : "io";
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* Checked after resolution: a symlink cannot lead outside. */
	if (!allowed(r, real)) {
		*code = "forbidden";
		snprintf(why, whylen, "%s is outside the configured stack, spec,"
		    " plugin and billing paths", path);
		return -1;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1) {
		*code = errno == EACCES ? "forbidden" : "io";
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		*code = "not_regular";
		snprintf(why, whylen, "%s is not a regular file", path);
		return -1;
	}
	if (max_bytes <= 0 || max_bytes > BROKER_HARD_MAX_FILE)
		max_bytes = max_bytes <= 0 ? BROKER_DEFAULT_MAX_FILE :
		    BROKER_HARD_MAX_FILE;
	if (st.st_size > max_bytes) {
		close(fd);
		*code = "too_large";
		snprintf(why, whylen, "%s is %lld bytes, over the limit of %lld",
		    path, (long long)st.st_size, (long long)max_bytes);
		return -1;
	}
	set_nonblock(fd, 0);
	*size = st.st_size;
	return fd;
}

/* --- serving workers ------------------------------------------------------ */

struct link {
	TAILQ_ENTRY(link)	 entry;
	uint64_t		 serial;	/* found again by async answers */
	int			 fd;
	int			 wslot;
	struct event		*ev;
};
TAILQ_HEAD(linkq, link);

static struct {
	struct child_ctx	 cx;
	struct broker_roots	*roots;
	struct linkq		 links;
	int			 quitting;
	char			*buf;
	uint64_t		 serials;
} B;

/* An answer: result (consumed), or an error code, message and details
 * (borrowed), with an fd to pass along. */
static void
reply_ext(struct link *l, struct json_object *id, struct json_object *result,
    const char *code, const char *msg, struct json_object *details, int fd)
{
	struct json_object *o = json_object_new_object();
	const char *s;

	json_object_object_add(o, "id", json_object_get(id));
	if (code != NULL) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_string(code));
		json_object_object_add(e, "message", json_object_new_string(msg));
		if (details != NULL)
			json_object_object_add(e, "details", json_object_get(details));
		json_object_object_add(o, "error", e);
	} else
		json_object_object_add(o, "result", result);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (chan_send(l->fd, MSG_RESPONSE, B.cx.args->gen, l->wslot, s,
	    strlen(s), fd) == -1)
		logmsg(LOG_WARN, "cannot answer worker %d: %s", l->wslot,
		    strerror(errno));
	json_object_put(o);
}

static void
reply(struct link *l, struct json_object *id, struct json_object *result,
    const char *code, const char *msg, int fd)
{
	reply_ext(l, id, result, code, msg, NULL, fd);
}

/* --- plugin calls: answered when the plugin answers ----------------------- */

struct later {
	uint64_t		 serial;
	struct json_object	*id;
};

static struct link *
link_by_serial(uint64_t serial)
{
	struct link *l;

	TAILQ_FOREACH(l, &B.links, entry)
		if (l->serial == serial)
			return l;
	return NULL;
}

static void
answer_later(struct json_object *result, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct later *w = arg;
	struct link *l = link_by_serial(w->serial);
	struct json_object *r = NULL;

	/* The worker may have gone meanwhile: then nobody is waiting. */
	if (l != NULL && code == NULL) {
		r = json_object_new_object();
		json_object_object_add(r, "response", json_object_get(result));
		json_object_object_add(r, "latency_ms", json_object_new_int64(latency));
	}
	if (l != NULL)
		reply_ext(l, w->id, r, code, msg, details, -1);
	json_object_put(w->id);
	free(w);
}

/* Prices come back as they are, without the latency wrapper. */
static void
answer_price(struct json_object *result, const char *code, const char *msg,
    struct json_object *details, int64_t latency, void *arg)
{
	struct later *w = arg;
	struct link *l = link_by_serial(w->serial);

	(void)latency;
	if (l != NULL)
		reply_ext(l, w->id, result ? json_object_get(result) : NULL, code, msg,
		    details, -1);
	json_object_put(w->id);
	free(w);
}

static void
answer_billing(int fd, int64_t rows, int64_t bad, const char *why, void *arg)
{
	struct later *w = arg;
	struct link *l = link_by_serial(w->serial);
	struct json_object *res;

	if (fd == -1)
		logmsg(LOG_WARN, "billing data: %s", why);
	/* The worker may have gone meanwhile: then nobody is waiting. */
	if (l != NULL && fd == -1)
		reply(l, w->id, NULL, "billing", why, -1);
	else if (l != NULL) {
		res = json_object_new_object();
		json_object_object_add(res, "rows", json_object_new_int64(rows));
		json_object_object_add(res, "bad_rows", json_object_new_int64(bad));
		reply(l, w->id, res, NULL, NULL, fd);
	}
	if (fd != -1)
		close(fd);
	json_object_put(w->id);
	free(w);
}

static struct later *
later_new(struct link *l, struct json_object *id)
{
	struct later *w = calloc(1, sizeof(*w));

	if (w != NULL) {
		w->serial = l->serial;
		w->id = json_object_get(id);
	}
	return w;
}

static void
plugin_request(struct link *l, struct json_object *id, const char *method,
    struct json_object *p)
{
	struct json_object *v, *req = NULL;
	struct json_object *res = NULL;
	struct later *w;
	int64_t timeout = 0;

	if ((w = later_new(l, id)) == NULL) {
		reply(l, id, NULL, "INTERNAL", "out of memory", -1);
		return;
	}
	if (p && json_object_object_get_ex(p, "timeout_ms", &v))
		timeout = json_object_get_int64(v);
	if (p)
		json_object_object_get_ex(p, "resources", &res);
	if (strcmp(method, "plugin_price") == 0) {
		plugins_price(res, timeout, answer_price, w);
		return;
	}
	if (strcmp(method, "plugin_actual") == 0) {
		plugins_actual(res, p ? json_object_get_string(json_object_object_get(p,
		    "start")) : "", p ? json_object_get_string(json_object_object_get(p,
		    "end")) : "", timeout, answer_price, w);
		return;
	}
	if (strcmp(method, "plugin_recommendations") == 0 ||
	    strcmp(method, "plugin_budgets") == 0) {
		(strcmp(method, "plugin_budgets") == 0 ? plugins_budgets :
		    plugins_recommendations)(timeout, answer_price, w);
		return;
	}
	if (strcmp(method, "plugin_health") == 0) {
		plugins_check(p ? json_object_get_string(json_object_object_get(p,
		    "plugin")) : NULL, answer_later, w);
		return;
	}
	if (p)
		json_object_object_get_ex(p, "request", &req);
	plugins_call(p ? json_object_get_string(json_object_object_get(p, "plugin")) :
	    NULL, p ? json_object_get_string(json_object_object_get(p, "rpc")) : NULL,
	    req, timeout, answer_later, w);
}

/* A message without an id wants no answer: finished spans of a worker. */
static void
notification(struct json_object *req)
{
	struct json_object *m, *p, *spans;
	size_t i;

	if (!json_object_object_get_ex(req, "method", &m) ||
	    strcmp(json_object_get_string(m), "spans") != 0 ||
	    !json_object_object_get_ex(req, "params", &p) ||
	    !json_object_object_get_ex(p, "spans", &spans) ||
	    !json_object_is_type(spans, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(spans); i++)
		otlp_enqueue(json_object_get(json_object_array_get_idx(spans, i)));
}

static void
handle_request(struct link *l, const char *buf, size_t len)
{
	struct json_object *req, *id = NULL, *m, *p, *v, *res;
	const char *method, *code = NULL;
	struct trace_ctx tctx;
	struct span sp;
	char why[512];
	int64_t size, max = 0;
	int fd;

	req = json_tokener_parse(buf);
	(void)len;
	if (req == NULL || !json_object_is_type(req, json_type_object)) {
		logmsg(LOG_WARN, "worker %d sent a malformed request", l->wslot);
		json_object_put(req);
		return;
	}
	if (!json_object_object_get_ex(req, "id", &id)) {
		notification(req);
		json_object_put(req);
		return;
	}
	/* The worker's trace: what is done for it here belongs to it. */
	if (json_object_object_get_ex(req, "traceparent", &v) &&
	    trace_parse(json_object_get_string(v), &tctx) == 0)
		trace_set_current(&tctx);
	if (!json_object_object_get_ex(req, "method", &m) ||
	    (method = json_object_get_string(m)) == NULL) {
		reply(l, id, NULL, "invalid", "missing method", -1);
		json_object_put(req);
		return;
	}
	json_object_object_get_ex(req, "params", &p);
	if (strcmp(method, "ping") == 0) {
		res = json_object_new_object();
		json_object_object_add(res, "pid", json_object_new_int((int)getpid()));
		json_object_object_add(res, "generation",
		    json_object_new_int64(B.cx.args->gen));
		reply(l, id, res, NULL, NULL, -1);
	} else if (strcmp(method, "read_file") == 0) {
		const char *path = NULL;

		if (p && json_object_object_get_ex(p, "path", &v))
			path = json_object_get_string(v);
		if (p && json_object_object_get_ex(p, "max_bytes", &v))
			max = json_object_get_int64(v);
		/* A span only within a worker's trace (unsampled ones are no-ops). */
		memset(&sp, 0, sizeof(sp));
		if (trace_current() != NULL)
			span_start(&sp, trace_current(), "broker read_file", SPAN_SERVER);
		span_attr_str(&sp, "file.path", path);
		fd = broker_open_file(B.roots, path, max, &size, &code, why,
		    sizeof(why));
		if (fd == -1)
			span_fail(&sp, why);
		else
			span_attr_int(&sp, "file.size", size);
		span_end(&sp);
		if (fd == -1) {
			logmsg(LOG_INFO, "read_file refused: %s", why);
			reply(l, id, NULL, code, why, -1);
		} else {
			res = json_object_new_object();
			json_object_object_add(res, "path", json_object_new_string(path));
			json_object_object_add(res, "size", json_object_new_int64(size));
			reply(l, id, res, NULL, NULL, fd);
			close(fd);
		}
	} else if (strcmp(method, "plugins") == 0) {
		reply(l, id, plugins_list(), NULL, NULL, -1);
	} else if (strcmp(method, "plugin_call") == 0 ||
	    strcmp(method, "plugin_health") == 0 || strcmp(method, "plugin_price") == 0 ||
	    strcmp(method, "plugin_recommendations") == 0 ||
	    strcmp(method, "plugin_budgets") == 0 || strcmp(method, "plugin_actual") == 0) {
		plugin_request(l, id, method, p);
	} else if (strcmp(method, "billing_image") == 0) {
		struct later *w = later_new(l, id);

		/* The FOCUS store, built once by a child, mapped by every worker. */
		if (w == NULL)
			reply(l, id, NULL, "billing", "out of memory", -1);
		else
			billing_image(B.cx.base, B.cx.conf, answer_billing, w);
	} else {
		snprintf(why, sizeof(why), "unknown broker method \"%s\"", method);
		reply(l, id, NULL, "unknown_method", why, -1);
	}
	trace_set_current(NULL);
	json_object_put(req);
}

static void	maybe_exit(void);

static void
link_free(struct link *l)
{
	TAILQ_REMOVE(&B.links, l, entry);
	event_free(l->ev);
	close(l->fd);
	free(l);
	maybe_exit();
}

static void
on_link(evutil_socket_t fd, short what, void *arg)
{
	struct link *l = arg;
	struct msg_hdr h;
	ssize_t n;
	int pfd, i;

	(void)what;
	for (i = 0; i < 64; i++) {
		n = chan_recv(fd, &h, B.buf, &pfd);
		if (pfd >= 0)
			close(pfd);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1 || (n == 0 && h.type == 0)) {
			link_free(l);	/* the worker went away */
			return;
		}
		if (h.type == MSG_REQUEST)
			handle_request(l, B.buf, (size_t)n);
		else
			logmsg(LOG_WARN, "unexpected %s from worker %d",
			    msg_type_name(h.type), l->wslot);
	}
}

static void
add_link(int fd, int wslot)
{
	struct link *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		close(fd);
		return;
	}
	l->fd = fd;
	l->wslot = wslot;
	l->serial = ++B.serials;
	set_nonblock(fd, 1);
	l->ev = event_new(B.cx.base, fd, EV_READ | EV_PERSIST, on_link, l);
	event_add(l->ev, NULL);
	TAILQ_INSERT_TAIL(&B.links, l, entry);
}

static void
maybe_exit(void)
{
	if (B.quitting && TAILQ_EMPTY(&B.links))
		event_base_loopexit(B.cx.base, NULL);
}

static void
begin_quit(void)
{
	struct timeval tv;

	if (B.quitting)
		return;
	B.quitting = 1;
	/* Draining workers may still ask for files; wait for them to go. */
	tv = tv_ms(B.cx.conf->shutdown_timeout);
	event_base_loopexit(B.cx.base, &tv);
	maybe_exit();
}

static void
on_quit_cmd(int shutdown)
{
	(void)shutdown;
	begin_quit();
}

static const struct child_ops broker_ops = { on_quit_cmd, add_link,
	plugins_master_msg };

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(B.cx.base);
}

static void
on_quit(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	begin_quit();
}

int
broker_main(const struct child_args *a)
{
	struct event *sterm, *sint, *squit;
	char err[512];

	memset(&B, 0, sizeof(B));
	TAILQ_INIT(&B.links);
	child_init(&B.cx, a);
	if ((B.buf = malloc(CHAN_MAX_PAYLOAD + 1)) == NULL)
		exit(1);
	if (sandbox_drop_privileges(B.cx.conf, err, sizeof(err)) == -1 ||
	    sandbox_enter_broker(err, sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "broker sandbox: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	sandbox_rlimits(B.cx.conf, 0);
	child_watch_parent();
	B.roots = broker_roots_new(B.cx.conf);
	child_listen_master(&B.cx, &broker_ops);
	sterm = evsignal_new(B.cx.base, SIGTERM, on_term, NULL);
	sint = evsignal_new(B.cx.base, SIGINT, on_term, NULL);
	squit = evsignal_new(B.cx.base, SIGQUIT, on_quit, NULL);
	event_add(sterm, NULL);
	event_add(sint, NULL);
	event_add(squit, NULL);
	/* Spans: the broker's own, and the workers' (it alone has the network). */
	trace_init(B.cx.conf, otlp_enqueue);
	if (trace_enabled() && otlp_start(B.cx.base, B.cx.conf, err, sizeof(err)) == -1) {
		logmsg(LOG_ERROR, "%s: tracing is off", err);
		trace_init(B.cx.conf, NULL);
	}
	/* Plugin processes are the master's, so a reload can carry them over;
	 * the broker discovers, probes, health-checks and calls them. */
	plugins_via_master(FD_MASTER);
	plugins_start(B.cx.base, B.cx.conf);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	child_start_heartbeat(&B.cx);
	child_send_ready(&B.cx);
	logmsg(LOG_DEBUG, "broker ready");
	event_base_dispatch(B.cx.base);

	while (!TAILQ_EMPTY(&B.links)) {
		struct link *l = TAILQ_FIRST(&B.links);

		TAILQ_REMOVE(&B.links, l, entry);
		event_free(l->ev);
		close(l->fd);
		free(l);
	}
	billing_stop();
	plugins_stop();
	otlp_stop();
	event_free(sterm);
	event_free(sint);
	event_free(squit);
	broker_roots_free(B.roots);
	free(B.buf);
	child_free(&B.cx);
	return 0;
}
