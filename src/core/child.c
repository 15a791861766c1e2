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
	if ((cx->shm = shm_attach(FD_SHM, err, sizeof(err))) == NULL) {
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

void
child_start_heartbeat(struct child_ctx *cx)
{
	struct timeval tv = { 1, 0 };

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
