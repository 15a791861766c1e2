#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../core/log.h"
#include "../core/util.h"
#include "jsonrpc.h"
#include "mcp.h"
#include "stream.h"

struct sconn {
	TAILQ_ENTRY(sconn)	 entry;
	struct bufferevent	*bev;
	struct event		*timer;		/* a line started but not ended */
	struct mcp_session	 session;
	char			 remote[64];
	int			 inflight;	/* responses still due */
	int			 closing;	/* close once nothing is due */
	int			 gone;		/* the peer left; free when idle */
	struct json_object	*batch;		/* collecting a batch's answers */
	int			 batch_due;
};
TAILQ_HEAD(sconnq, sconn);

static struct {
	struct event_base	*base;
	struct http_server	*srv;
	const struct conf	*conf;
	struct sconnq		 conns;
	int			 draining;
} S = { .conns = TAILQ_HEAD_INITIALIZER(S.conns) };

void
stream_init(struct event_base *base, struct http_server *srv,
    const struct conf *c)
{
	S.base = base;
	S.srv = srv;
	S.conf = c;
}

static void
sconn_free(struct sconn *c)
{
	TAILQ_REMOVE(&S.conns, c, entry);
	bufferevent_free(c->bev);
	event_free(c->timer);
	json_object_put(c->batch);
	free(c);
	http_server_raw_closed(S.srv);
}

static void
send_line(struct sconn *c, struct json_object *o)
{
	size_t len;
	const char *s = rpc_string_len(o, &len);

	if (!c->gone) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_add(out, s, len);
		evbuffer_add(out, "\n", 1);
	}
	json_object_put(o);
}

/* An error found before dispatch (framing, parsing): counted, sent. */
static void
send_error(struct sconn *c, struct json_object *err)
{
	struct json_object *e, *code;

	if (json_object_object_get_ex(err, "error", &e) &&
	    json_object_object_get_ex(e, "code", &code))
		mcp_count_error("socket", json_object_get_int(code));
	send_line(c, err);
}

/* Close when asked and nothing is due; the write callback finishes it. */
static void
maybe_close(struct sconn *c)
{
	if (c->inflight > 0)
		return;
	if (c->gone) {
		sconn_free(c);
		return;
	}
	if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		sconn_free(c);
}

static void
on_notify(void *arg, struct json_object *note)
{
	send_line(arg, note);
}

static void
on_respond(void *arg, struct json_object *resp)
{
	struct sconn *c = arg;

	c->inflight--;
	if (resp == NULL) {
		/* A cancelled request: nothing to send. */
		if (c->batch != NULL)
			c->batch_due--;
		maybe_close(c);
		return;
	}
	if (c->batch != NULL) {
		json_object_array_add(c->batch, resp);
		if (--c->batch_due == 0) {
			struct json_object *b = c->batch;

			c->batch = NULL;
			send_line(c, b);
		}
	} else
		send_line(c, resp);
	maybe_close(c);
}

static void
dispatch(struct sconn *c, struct json_object *o)
{
	struct mcp_io io = { on_notify, on_respond, c, "socket", NULL, NULL, NULL };
	struct rpc_msg m;
	char why[256];
	int code;

	c->inflight++;
	if (rpc_classify(o, &m, &code, why, sizeof(why)) == -1) {
		mcp_count_error("socket", code);
		on_respond(c, rpc_error(NULL, code, why, NULL));
		return;
	}
	if (mcp_dispatch(&c->session, MCP_STATEFUL, &m, &io) == 0) {
		c->inflight--;
		if (c->batch != NULL)
			c->batch_due--;
	}
}

static void
handle_line(struct sconn *c, const char *line, size_t len)
{
	struct json_object *o;
	char why[256];
	size_t i, n;

	if ((o = rpc_parse(line, len, why, sizeof(why))) == NULL) {
		send_error(c, rpc_error(NULL, RPC_PARSE_ERROR, why, NULL));
		return;
	}
	if (!json_object_is_type(o, json_type_array)) {
		dispatch(c, o);
		json_object_put(o);
		return;
	}
	n = json_object_array_length(o);
	if (strcmp(c->session.version, "2025-03-26") != 0 || n == 0 || n > 100) {
		send_error(c, rpc_error(NULL, RPC_INVALID_REQUEST, n == 0 ?
		    "empty batch" : "batches are only allowed in protocol"
		    " version 2025-03-26", NULL));
		json_object_put(o);
		return;
	}
	c->batch = json_object_new_array();
	c->batch_due = (int)n;
	for (i = 0; i < n; i++)
		dispatch(c, json_object_array_get_idx(o, i));
	if (c->batch != NULL && c->batch_due == 0) {
		/* Notifications only: nothing to answer. */
		json_object_put(c->batch);
		c->batch = NULL;
	}
	json_object_put(o);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t max = (size_t)S.conf->max_message_size, len;
	struct evbuffer_ptr eol;
	char *line;

	http_read_pending(bev, max + 65536);

	while (!c->closing) {
		eol = evbuffer_search_eol(in, NULL, &len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) > max) {
				send_error(c, rpc_error(NULL, RPC_INVALID_REQUEST,
				    "message longer than mcp.max_message_size",
				    NULL));
				c->closing = 1;
				break;
			}
			/* A line has started: it must end within read_timeout. */
			if (evbuffer_get_length(in) > 0 && !evtimer_pending(c->timer, NULL)) {
				struct timeval tv = tv_ms(S.conf->read_timeout);

				evtimer_add(c->timer, &tv);
			}
			return;
		}
		evtimer_del(c->timer);
		if ((size_t)eol.pos > max) {
			evbuffer_drain(in, (size_t)eol.pos + len);
			send_error(c, rpc_error(NULL, RPC_INVALID_REQUEST,
			    "message longer than mcp.max_message_size", NULL));
			continue;
		}
		line = malloc((size_t)eol.pos + 1);
		if (line == NULL) {
			c->closing = 1;
			break;
		}
		evbuffer_remove(in, line, (size_t)eol.pos);
		evbuffer_drain(in, len);
		line[eol.pos] = '\0';
		/* Blank lines (and a lone CR) are tolerated between messages. */
		if (strspn(line, " \t\r") != (size_t)eol.pos)
			handle_line(c, line, (size_t)eol.pos);
		free(line);
	}
	maybe_close(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	maybe_close(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	(void)bev;
	(void)what;
	/* EOF or error: answers still due are dropped with the connection. */
	c->gone = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	maybe_close(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sconn *c = arg;

	(void)fd;
	(void)what;
	logmsg(LOG_INFO, "closing stream connection from %s: a message was not"
	    " completed within the read timeout", c->remote);
	send_error(c, rpc_error(NULL, RPC_PARSE_ERROR, "incomplete message:"
	    " no newline within server.read_timeout", NULL));
	c->closing = 1;
	maybe_close(c);
}

void
stream_accept(struct bufferevent *bev, const char *remote, void *arg)
{
	struct sconn *c = calloc(1, sizeof(*c));
	struct timeval wtv;

	(void)arg;
	if (c == NULL) {
		bufferevent_free(bev);
		http_server_raw_closed(S.srv);
		return;
	}
	c->bev = bev;
	c->timer = evtimer_new(S.base, on_timer, c);
	strlcpy_(c->remote, remote, sizeof(c->remote));
	mcp_session_init(&c->session);
	TAILQ_INSERT_TAIL(&S.conns, c, entry);
	wtv = tv_ms(S.conf->write_timeout);
	bufferevent_set_timeouts(bev, NULL, &wtv);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	logmsg(LOG_DEBUG, "stream session from %s", remote);
	if (S.draining)
		stream_drain();
}

/*
 * A session cannot move to another process: it is closed at a message
 * boundary, and pulumicost-mcp bridge reconnects and replays the
 * handshake to the new generation.
 */
void
stream_drain(void)
{
	struct sconn *c, *next;

	S.draining = 1;
	for (c = TAILQ_FIRST(&S.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->closing = 1;
		maybe_close(c);
	}
}

void
stream_free_all(void)
{
	while (!TAILQ_EMPTY(&S.conns))
		sconn_free(TAILQ_FIRST(&S.conns));
}
