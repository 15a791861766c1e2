#include "config.h"

#include <sys/prctl.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "child.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"

static pid_t	master_pid;

void
child_init(struct child_ctx *cx, const struct child_args *a)
{
	char err[1024], *buf;
	size_t len;
	uint32_t v = CHAN_PROTO_VERSION;

	memset(cx, 0, sizeof(*cx));
	cx->args = a;
	master_pid = getppid();
	log_init(a->role, a->slot, a->gen);
	log_set_channel(FD_MASTER);
	(void)chan_send(FD_MASTER, MSG_HELLO, a->gen, a->slot, &v, sizeof(v), -1);
	if (read_all_at(FD_CONF, 0, &buf, 16 * 1024 * 1024, &len) < 0) {
		logmsg(LOG_ALERT, "cannot read the configuration snapshot: %s",
		    strerror(errno));
		exit(EXIT_FATAL_CONFIG);
	}
	close(FD_CONF);
	cx->conf = conf_load_buffer(buf, len, a->conf_name, a->prefix, err,
	    sizeof(err));
	free(buf);
	if (cx->conf == NULL) {
		logmsg(LOG_ALERT, "configuration snapshot rejected: %s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	log_set_level(cx->conf->log_level);
	log_set_format(cx->conf->log_format == 1);
	if ((cx->shm = shm_attach(FD_SHM, err, sizeof(err))) == NULL ||
	    (cx->sess = shm_attach(FD_SESS, err, sizeof(err))) == NULL) {
		logmsg(LOG_ALERT, "%s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	if (metrics_attach(FD_METRICS, err, sizeof(err)) == -1) {
		logmsg(LOG_ALERT, "%s", err);
		exit(EXIT_FATAL_CONFIG);
	}
	if (a->sb < 0 || a->sb >= SHM_MAX_SLOTS) {
		logmsg(LOG_ALERT, "bad scoreboard slot %d", a->sb);
		exit(EXIT_FATAL_CONFIG);
	}
	if ((cx->base = event_base_new()) == NULL) {
		logmsg(LOG_ALERT, "event_base_new failed");
		exit(1);
	}
	signal(SIGPIPE, SIG_IGN);
}

void
child_watch_parent(void)
{
	/* Set after any uid change: a credential change clears it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master_pid) {
		logmsg(LOG_ERROR, "the master is gone; exiting");
		exit(1);
	}
}

struct shm_sb *
child_sb(struct child_ctx *cx)
{
	return &shm_hdr(cx->shm)->sb[cx->args->sb];
}

static void
on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct child_ctx *cx = arg;

	(void)fd;
	(void)what;
	atomic_store(&child_sb(cx)->heartbeat_ms, now_ms());
}

/*
 * Beats four to a watchdog period, at most a second apart: once a second
 * under a one-second watchdog, a beat a few milliseconds late against the
 * master's tick looked like a stuck process and got it killed.
 */
void
child_start_heartbeat(struct child_ctx *cx)
{
	int64_t ms = cx->conf->worker_watchdog / 4;
	struct timeval tv = tv_ms(ms > 1000 ? 1000 : ms < 100 ? 100 : ms);

	cx->heartbeat = event_new(cx->base, -1, EV_PERSIST, on_heartbeat, cx);
	event_add(cx->heartbeat, &tv);
	atomic_store(&child_sb(cx)->heartbeat_ms, now_ms());
}

void
child_send_ready(struct child_ctx *cx)
{
	if (chan_send(FD_MASTER, MSG_READY, cx->args->gen, cx->args->slot,
	    NULL, 0, -1) == -1) {
		logmsg(LOG_ERROR, "cannot report ready: %s", strerror(errno));
		exit(1);
	}
}

static void
on_master(evutil_socket_t fd, short what, void *arg)
{
	struct child_ctx *cx = arg;
	struct msg_hdr h;
	ssize_t n;
	int pfd;

	(void)what;
	for (;;) {
		n = chan_recv(fd, &h, cx->buf, &pfd);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1 || (n == 0 && h.type == 0)) {
			/* The master died: stop now, nobody supervises us. */
			event_base_loopbreak(cx->base);
			return;
		}
		switch (h.type) {
		case MSG_QUIT:
			cx->ops->quit(strcmp(cx->buf, "reload") != 0);
			break;
		case MSG_TERM:
			event_base_loopbreak(cx->base);
			break;
		case MSG_BROKER_FD:
			if (pfd >= 0 && cx->ops->broker_fd != NULL) {
				cx->ops->broker_fd(pfd, h.slot);
				pfd = -1;
			}
			break;
		default:
			if (cx->ops->message != NULL)
				cx->ops->message(h.type, cx->buf, (size_t)n);
			else
				logmsg(LOG_ERROR, "unexpected %s from the master",
				    msg_type_name(h.type));
			break;
		}
		if (pfd >= 0)
			close(pfd);
	}
}

void
child_listen_master(struct child_ctx *cx, const struct child_ops *ops)
{
	cx->ops = ops;
	if ((cx->buf = malloc(CHAN_MAX_PAYLOAD + 1)) == NULL) {
		logmsg(LOG_ALERT, "out of memory");
		exit(1);
	}
	cx->master_ev = event_new(cx->base, FD_MASTER, EV_READ | EV_PERSIST,
	    on_master, cx);
	event_add(cx->master_ev, NULL);
}

void
child_free(struct child_ctx *cx)
{
	if (cx->master_ev)
		event_free(cx->master_ev);
	if (cx->heartbeat)
		event_free(cx->heartbeat);
	free(cx->buf);
	shm_detach(cx->shm);
	shm_detach(cx->sess);
	conf_free(cx->conf);
	event_base_free(cx->base);
}
