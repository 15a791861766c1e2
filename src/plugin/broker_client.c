/*
 * The worker's side of the broker channel: numbered requests, replies
 * matched by id, a deadline per call, and a clean error for every pending
 * call when the broker goes away (the master sends a new channel when it
 * has started a new broker).
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/chan.h"
#include "../core/log.h"
#include "../core/trace.h"
#include "../core/util.h"
#include "broker.h"

struct call {
	TAILQ_ENTRY(call)	 entry;
	struct broker_client	*bc;
	int64_t			 id;
	broker_cb		 cb;
	void			*arg;
	struct event		*timer;
	int			 unsent;	/* no broker to send to */
	struct trace_ctx	 trace;		/* current when called: restored */
};
TAILQ_HEAD(callq, call);

struct broker_client {
	struct event_base	*base;
	int			 fd;
	struct event		*ev;
	struct callq		 calls;
	int64_t			 next_id;
	char			*buf;
};

static void
call_finish(struct call *c, struct json_object *res, struct json_object *err,
    int fd)
{
	struct trace_saved saved;

	TAILQ_REMOVE(&c->bc->calls, c, entry);
	event_free(c->timer);
	/* The caller's trace goes on in its callback (and its next calls). */
	trace_push(&c->trace, &saved);
	c->cb(res, err, fd, c->arg);
	trace_pop(&saved);
	free(c);
}

static void
call_fail(struct call *c, const char *code, const char *msg)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	call_finish(c, NULL, e, -1);
	json_object_put(e);
}

static void
disconnect(struct broker_client *bc)
{
	if (bc->ev != NULL) {
		event_free(bc->ev);
		bc->ev = NULL;
	}
	if (bc->fd >= 0) {
		close(bc->fd);
		bc->fd = -1;
	}
	while (!TAILQ_EMPTY(&bc->calls))
		call_fail(TAILQ_FIRST(&bc->calls), "unavailable",
		    "the broker went away; it is being restarted");
}

static void
on_reply(struct broker_client *bc, const char *buf, int fd)
{
	struct json_object *o = json_tokener_parse(buf), *id, *res = NULL,
	    *err = NULL;
	struct call *c;
	int64_t n;

	if (o == NULL || !json_object_object_get_ex(o, "id", &id)) {
		logmsg(LOG_ERROR, "malformed reply from the broker");
		json_object_put(o);
		if (fd >= 0)
			close(fd);
		return;
	}
	n = json_object_get_int64(id);
	TAILQ_FOREACH(c, &bc->calls, entry)
		if (c->id == n)
			break;
	if (c == NULL) {
		/* Its deadline passed already. */
		json_object_put(o);
		if (fd >= 0)
			close(fd);
		return;
	}
	json_object_object_get_ex(o, "result", &res);
	json_object_object_get_ex(o, "error", &err);
	call_finish(c, res, err, fd);
	json_object_put(o);
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct broker_client *bc = arg;
	struct msg_hdr h;
	ssize_t n;
	int pfd, i;

	(void)what;
	for (i = 0; i < 64 && bc->fd == fd; i++) {
		n = chan_recv(fd, &h, bc->buf, &pfd);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1 || (n == 0 && h.type == 0)) {
			logmsg(LOG_WARN, "lost the broker channel");
			disconnect(bc);
			return;
		}
		if (h.type == MSG_RESPONSE)
			on_reply(bc, bc->buf, pfd);
		else if (pfd >= 0)
			close(pfd);
	}
}

struct broker_client *
broker_client_new(struct event_base *base, int fd)
{
	struct broker_client *bc = calloc(1, sizeof(*bc));

	if (bc == NULL)
		return NULL;
	if ((bc->buf = malloc(CHAN_MAX_PAYLOAD + 1)) == NULL) {
		free(bc);
		return NULL;
	}
	bc->base = base;
	bc->fd = -1;
	TAILQ_INIT(&bc->calls);
	broker_client_set_fd(bc, fd);
	return bc;
}

void
broker_client_set_fd(struct broker_client *bc, int fd)
{
	disconnect(bc);
	if (fd < 0)
		return;
	bc->fd = fd;
	bc->ev = event_new(bc->base, fd, EV_READ | EV_PERSIST, on_read, bc);
	event_add(bc->ev, NULL);
}

int
broker_client_connected(const struct broker_client *bc)
{
	return bc->fd >= 0;
}

void
broker_client_free(struct broker_client *bc)
{
	if (bc == NULL)
		return;
	disconnect(bc);
	free(bc->buf);
	free(bc);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;

	(void)fd;
	(void)what;
	if (c->unsent)
		call_fail(c, "unavailable", "the broker is not running; it is"
		    " being restarted");
	else
		call_fail(c, "timeout", "the broker did not answer in time");
}

int
broker_notify(struct broker_client *bc, const char *method, struct json_object *params)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	int r;

	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "params", params ? params : json_object_new_object());
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = bc->fd >= 0 ? chan_send(bc->fd, MSG_REQUEST, 0, -1, s, strlen(s), -1) : -1;
	json_object_put(o);
	return r;
}

int
broker_call(struct broker_client *bc, const char *method,
    struct json_object *params, int64_t timeout_ms, broker_cb cb, void *arg)
{
	struct json_object *o = json_object_new_object();
	struct timeval tv;
	struct call *c;
	const char *s;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_object_put(o);
		json_object_put(params);
		return -1;
	}
	c->bc = bc;
	c->id = ++bc->next_id;
	c->cb = cb;
	c->arg = arg;
	c->timer = evtimer_new(bc->base, on_deadline, c);
	TAILQ_INSERT_TAIL(&bc->calls, c, entry);
	tv = tv_ms(timeout_ms);
	evtimer_add(c->timer, &tv);

	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "params", params ? params : json_object_new_object());
	if (trace_current() != NULL) {
		char tp[64];

		c->trace = *trace_current();
		trace_format(&c->trace, tp, sizeof(tp));
		json_object_object_add(o, "traceparent", json_object_new_string(tp));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	r = bc->fd >= 0 ? chan_send(bc->fd, MSG_REQUEST, 0, -1, s, strlen(s), -1) : -1;
	json_object_put(o);
	if (r == -1) {
		/* Answer through the callback, never re-entrantly here. */
		c->unsent = 1;
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		evtimer_add(c->timer, &tv);
	}
	return 0;
}
