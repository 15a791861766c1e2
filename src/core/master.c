/*
 * The master: owns the configuration, the listeners, the shared segment
 * and the log; spawns the broker and the workers as generations and
 * supervises them.  It never parses network input.
 *
 * A generation is one validated configuration with its broker and
 * workers.  A reload builds generation G+1 beside G; only when every
 * G+1 process has said READY is G told to drain.  If any G+1 process dies
 * or the barrier times out, G+1 is killed and G keeps serving.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../net/listen.h"
#include "../cost/cost_tools.h"
#include "../net/auth.h"
#include "../net/tls.h"
#include "chan.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "master.h"
#include "notify.h"
#include "plugproc.h"
#include "proc.h"
#include "sandbox.h"
#include "shm.h"
#include "util.h"

#define MAX_LSOCKS		64
#define SESSION_SHM_SIZE	(8 * 1024 * 1024)
#define MIN_UPTIME_MS		5000
#define MAX_BACKOFF_MS		60000
#define MAX_DRAINING		3
#define VIOLATION_LIMIT		3
#define VIOLATION_WINDOW_MS	60000

enum role { ROLE_WORKER = 1, ROLE_BROKER = 2 };
enum cstate { CH_STARTING, CH_READY, CH_DRAINING };
enum gstate { G_STARTING, G_ACTIVE, G_DRAINING };

struct gen;

struct child {
	TAILQ_ENTRY(child) entry;
	struct gen	*g;
	int		 role;
	int		 wslot;		/* worker index, or -1 for the broker */
	int		 sb;		/* scoreboard slot */
	pid_t		 pid;
	int		 chan;
	struct event	*ev;
	int		 state;
	int64_t		 started_ms;
	int		 violation;	/* syscall reported by trap, or -1 */
};
TAILQ_HEAD(childq, child);

struct slotstate {			/* respawn policy of one slot */
	int64_t		 backoff_ms;
	int		 quick_deaths;	/* in a row, each before MIN_UPTIME_MS */
	struct event	*timer;
	int		 no_respawn;
	int64_t		 violations[VIOLATION_LIMIT + 1];
};

struct gen {
	TAILQ_ENTRY(gen) entry;
	uint32_t	 id;
	struct conf	*conf;
	char		*buf;		/* the validated YAML bytes */
	size_t		 len;
	int		 conf_fd;	/* sealed memfd of buf */
	struct shm	*shm;
	int		 state;
	int		 nworkers;
	struct child	**w;		/* [nworkers], NULL while down */
	struct child	*broker;
	struct slotstate *ss;		/* [nworkers + 1]; last is the broker */
	int		*lsock;		/* index into lsocks per conf->listen */
	struct event	*timer;		/* reload barrier or drain deadline */
};
TAILQ_HEAD(genq, gen);

struct lsock {
	struct conf_listen l;		/* shallow copy; strings owned here */
	int		 fd;
	ino_t		 ino;
	int		 refs;
};

static struct {
	const struct master_opts *opts;
	struct event_base *base;
	struct genq	 gens;
	struct childq	 children;
	struct gen	*active;
	struct gen	*starting;
	uint32_t	 next_gen;
	struct lsock	 ls[MAX_LSOCKS];
	int		 exe_fd;
	int		 sb_used[SHM_MAX_SLOTS];
	int		 reload_pending;
	int		 stopping;	/* 0, SIGQUIT or SIGTERM */
	int		 ready_fd;	/* daemon start: tell the parent */
	int		 exit_code;
	int64_t		 last_tick;
	struct event	*tick;
	struct event	*stop_timer;
	char		*pid_file;
	struct shm	*shm_keep;	/* segment of the active generation */
	struct shm	*sess;		/* MCP sessions: one for all generations */
	int		 metrics_fd;	/* the metrics segment: lives as long as we do */
} M;

static struct {
	struct shm	*s;
	int		 refs;
} shms[8];

static void	 gen_spawn_slot(struct gen *, int wslot);
static void	 on_gen_timer(evutil_socket_t, short, void *);
static void	 begin_stop(int);
static void	 shm_unref(struct shm *);
static void	 start_reload(void);
static void	 maybe_finish(void);

/* --- listeners ------------------------------------------------------------ */

static int
lsock_find(const struct conf_listen *l)
{
	int i;

	for (i = 0; i < MAX_LSOCKS; i++)
		if (M.ls[i].fd >= 0 && conf_listen_same(&M.ls[i].l, l))
			return i;
	return -1;
}

static void
lsock_copy(struct lsock *s, const struct conf_listen *l)
{
	s->l = *l;
	s->l.address = strdup(l->address);
	s->l.host = l->host ? strdup(l->host) : NULL;
	s->l.path = l->path ? strdup(l->path) : NULL;
	s->l.owner = s->l.group = NULL;
}

static void
lsock_release(int i)
{
	struct lsock *s = &M.ls[i];

	if (--s->refs > 0)
		return;
	listen_unlink(&s->l, s->ino);
	close(s->fd);
	s->fd = -1;
	free(s->l.address);
	free(s->l.host);
	free(s->l.path);
	memset(&s->l, 0, sizeof(s->l));
}

/*
 * Give the generation a socket for each listener: the kernel socket of a
 * matching address is kept (no connection refused during a reload), a
 * new address is opened.  On failure everything this call took is given
 * back.
 */
static int
gen_listeners(struct gen *g, char *err, size_t errlen)
{
	struct conf *c = g->conf;
	size_t i;
	int idx, j, fd;
	ino_t ino;

	if ((g->lsock = calloc(c->nlisten, sizeof(int))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->nlisten; i++) {
		if ((idx = lsock_find(&c->listen[i])) >= 0) {
			if (M.ls[idx].l.backlog != c->listen[i].backlog)
				(void)listen_set_backlog(M.ls[idx].fd, &c->listen[i]);
			M.ls[idx].refs++;
			g->lsock[i] = idx;
			continue;
		}
		for (j = 0; j < MAX_LSOCKS && M.ls[j].fd >= 0; j++)
			;
		if (j == MAX_LSOCKS) {
			snprintf(err, errlen, "too many listeners");
			goto fail;
		}
		if ((fd = listen_open(&c->listen[i], &ino, err, errlen)) == -1)
			goto fail;
		M.ls[j].fd = fd;
		M.ls[j].ino = ino;
		M.ls[j].refs = 1;
		lsock_copy(&M.ls[j], &c->listen[i]);
		g->lsock[i] = j;
		logmsg(LOG_INFO, "listening on %s%s (%s%s)",
		    c->listen[i].family == AF_UNIX ? "unix:" : "",
		    c->listen[i].family == AF_UNIX ? c->listen[i].path :
		    c->listen[i].address,
		    c->listen[i].proto == PROTO_STREAM ? "stream" : "http",
		    c->listen[i].tls ? ", tls" : "");
	}
	return 0;
fail:
	while (i-- > 0)
		lsock_release(g->lsock[i]);
	free(g->lsock);
	g->lsock = NULL;
	return -1;
}

/* --- scoreboard ----------------------------------------------------------- */

static int
sb_alloc(void)
{
	int i;

	for (i = 0; i < SHM_MAX_SLOTS; i++) {
		if (!M.sb_used[i]) {
			M.sb_used[i] = 1;
			return i;
		}
	}
	return -1;
}

static struct shm_sb *
sb_of(struct child *ch)
{
	return &shm_hdr(ch->g->shm)->sb[ch->sb];
}

/* --- children ------------------------------------------------------------- */

static const char *
role_name(const struct child *ch)
{
	return ch->role == ROLE_BROKER ? "broker" : "worker";
}

/*
 * QUIT carries why: "reload" (the server goes on in a new generation, so
 * a draining worker still reports ready) or "shutdown".
 */
static void
child_send(struct child *ch, uint32_t type)
{
	const char *why = type == MSG_QUIT ? (M.stopping ? "shutdown" : "reload") :
	    NULL;

	if (ch->chan >= 0 &&
	    chan_send(ch->chan, type, ch->g->id, ch->wslot, why,
	    why ? strlen(why) : 0, -1) == -1 &&
	    errno != EPIPE)
		logmsg(LOG_WARN, "cannot send %s to %s pid %d: %s",
		    msg_type_name(type), role_name(ch), (int)ch->pid,
		    strerror(errno));
}

static void
child_close_chan(struct child *ch)
{
	if (ch->ev != NULL) {
		event_free(ch->ev);
		ch->ev = NULL;
	}
	if (ch->chan >= 0) {
		close(ch->chan);
		ch->chan = -1;
	}
}

static void	 on_child_msg(evutil_socket_t, short, void *);

/*
 * Logging follows the generation that serves: level and format, and the
 * output when a reload names another one (the old stays on failure).
 */
static void
apply_logging(const struct conf *c)
{
	static char current[4096];

	log_set_level(c->log_level);
	log_set_format(c->log_format == 1);
	if (current[0] != '\0' && strcmp(current, c->log_output) != 0) {
		logmsg(LOG_INFO, "log output moves to %s", c->log_output);
		if (log_open(c->log_output) == -1) {
			logmsg(LOG_ERROR, "cannot open log output %s: %s; keeping"
			    " %s", c->log_output, strerror(errno), current);
			return;
		}
	}
	strlcpy_(current, c->log_output, sizeof(current));
}

static void
gen_check_ready(struct gen *g)
{
	int i;

	if (g->broker == NULL || g->broker->state != CH_READY)
		return;
	for (i = 0; i < g->nworkers; i++)
		if (g->w[i] == NULL || g->w[i]->state != CH_READY)
			return;
	if (g->state != G_STARTING)
		return;
	if (g->timer != NULL) {
		event_free(g->timer);
		g->timer = NULL;
	}
	g->state = G_ACTIVE;
	M.starting = NULL;
	apply_logging(g->conf);
	if (M.active != NULL) {
		struct gen *old = M.active;
		struct child *ch;
		int draining = 0;
		struct gen *og;

		old->state = G_DRAINING;
		TAILQ_FOREACH(ch, &M.children, entry) {
			if (ch->g == old) {
				ch->state = CH_DRAINING;
				child_send(ch, MSG_QUIT);
			}
		}
		for (i = 0; i <= old->nworkers; i++)
			if (old->ss[i].timer)
				evtimer_del(old->ss[i].timer);
		/* Children drain by themselves within shutdown_timeout; the
		 * master kills what is left 2 s later (a draining worker is no
		 * longer watched for heartbeats). */
		{
			struct timeval tv = tv_ms(old->conf->shutdown_timeout + 2000);

			if (old->timer == NULL)
				old->timer = evtimer_new(M.base, on_gen_timer, old);
			evtimer_add(old->timer, &tv);
		}
		/* Bound the number of draining generations. */
		TAILQ_FOREACH(og, &M.gens, entry)
			if (og->state == G_DRAINING)
				draining++;
		TAILQ_FOREACH(og, &M.gens, entry) {
			if (draining <= MAX_DRAINING)
				break;
			if (og->state != G_DRAINING)
				continue;
			TAILQ_FOREACH(ch, &M.children, entry)
				if (ch->g == og)
					kill(ch->pid, SIGTERM);
			draining--;
		}
		shm_stat_add(g->shm, ST_RELOADS, 1);
		logmsg(LOG_INFO, "reload complete: generation %u serving,"
		    " generation %u draining", g->id, old->id);
		notify_send("READY=1\nSTATUS=Serving generation %u", g->id);
	} else {
		logmsg(LOG_INFO, "generation %u ready: %d workers and the broker"
		    " serving", g->id, g->nworkers);
		notify_send("READY=1\nSTATUS=Serving generation %u", g->id);
		if (M.ready_fd >= 0) {
			(void)write_all(M.ready_fd, "ok", 2);
			close(M.ready_fd);
			M.ready_fd = -1;
		}
	}
	M.active = g;
	M.shm_keep = g->shm;
	if (M.reload_pending && !M.stopping) {
		M.reload_pending = 0;
		start_reload();
	}
}

static void
on_child_msg(evutil_socket_t fd, short what, void *arg)
{
	static char buf[CHAN_MAX_PAYLOAD + 1];
	struct child *ch = arg;
	struct msg_hdr h;
	ssize_t n;
	int pfd, i;

	(void)what;
	/* Bounded: a chatty child cannot starve the master's other work. */
	for (i = 0; i < 256; i++) {
		n = chan_recv(fd, &h, buf, &pfd);
		if (pfd >= 0)
			close(pfd);	/* children never send us fds */
		if (n == -1) {
			if (errno == EAGAIN)
				break;
			logmsg(LOG_ERROR, "channel from %s pid %d: %s; closing it",
			    role_name(ch), (int)ch->pid, strerror(errno));
			child_close_chan(ch);
			break;
		}
		if (n == 0 && h.type == 0) {
			child_close_chan(ch);	/* it died; SIGCHLD follows */
			break;
		}
		switch (h.type) {
		case MSG_LOG:
			log_write_line(buf, (size_t)n);
			break;
		case MSG_HELLO:
			if (n < (ssize_t)sizeof(uint32_t) ||
			    *(uint32_t *)buf != CHAN_PROTO_VERSION) {
				logmsg(LOG_ALERT, "%s pid %d speaks another channel"
				    " protocol; killing it", role_name(ch),
				    (int)ch->pid);
				kill(ch->pid, SIGKILL);
			}
			break;
		case MSG_READY:
			if (ch->state == CH_STARTING) {
				ch->state = CH_READY;
				logmsg(LOG_DEBUG, "%s pid %d ready (generation %u)",
				    role_name(ch), (int)ch->pid, ch->g->id);
				gen_check_ready(ch->g);
			}
			break;
		case MSG_VIOLATION:
			if (n >= (ssize_t)sizeof(int))
				memcpy(&ch->violation, buf, sizeof(int));
			break;
		case MSG_PLUGIN_START:
		case MSG_PLUGIN_KILL:
			if (ch->role != ROLE_BROKER)
				goto unexpected;
			if (h.type == MSG_PLUGIN_START)
				plugproc_start(ch->pid, ch->g->conf, buf);
			else
				plugproc_kill(ch->pid, buf);
			break;
		default:
		unexpected:
			logmsg(LOG_ERROR, "unexpected %s from %s pid %d; killing it",
			    msg_type_name(h.type), role_name(ch), (int)ch->pid);
			kill(ch->pid, SIGKILL);
			break;
		}
		if (ch->chan < 0)
			break;
	}
}

static struct child *
spawn_child(struct gen *g, int role, int wslot, int broker_end)
{
	struct child *ch;
	char a_gen[16], a_slot[16], a_sb[16];
	char *argv[16];
	int fds[FD_LISTEN0 - 3 + MAX_LSOCKS];
	int mc[2], sb, nfds, i;
	size_t k;

	if ((sb = sb_alloc()) == -1) {
		logmsg(LOG_ALERT, "scoreboard full: cannot start a %s",
		    role == ROLE_BROKER ? "broker" : "worker");
		return NULL;
	}
	if (chan_pair(mc) == -1) {
		logmsg(LOG_ALERT, "socketpair: %s", strerror(errno));
		M.sb_used[sb] = 0;
		return NULL;
	}
	snprintf(a_gen, sizeof(a_gen), "%u", g->id);
	snprintf(a_slot, sizeof(a_slot), "%d", wslot);
	snprintf(a_sb, sizeof(a_sb), "%d", sb);
	i = 0;
	argv[i++] = (char *)PCM_NAME;
	argv[i++] = (char *)"--role";
	argv[i++] = (char *)(role == ROLE_BROKER ? "broker" : "worker");
	argv[i++] = (char *)"--gen";
	argv[i++] = a_gen;
	argv[i++] = (char *)"--slot";
	argv[i++] = a_slot;
	argv[i++] = (char *)"--sb";
	argv[i++] = a_sb;
	argv[i++] = (char *)"-p";
	argv[i++] = g->conf->prefix;
	argv[i++] = (char *)"--conf-name";
	argv[i++] = g->conf->file;
	argv[i] = NULL;

	fds[FD_MASTER - 3] = mc[1];
	fds[FD_BROKER - 3] = broker_end;
	fds[FD_SHM - 3] = shm_fd(g->shm);
	fds[FD_CONF - 3] = g->conf_fd;
	fds[FD_SESS - 3] = shm_fd(M.sess);
	fds[FD_METRICS - 3] = M.metrics_fd;
	nfds = FD_LISTEN0 - 3;
	if (role == ROLE_WORKER)
		for (k = 0; k < g->conf->nlisten; k++)
			fds[nfds++] = M.ls[g->lsock[k]].fd;

	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		close(mc[0]);
		close(mc[1]);
		M.sb_used[sb] = 0;
		return NULL;
	}
	ch->g = g;
	ch->role = role;
	ch->wslot = wslot;
	ch->sb = sb;
	ch->violation = -1;
	ch->started_ms = now_ms();
	ch->pid = proc_spawn(M.exe_fd, argv, fds, nfds);
	close(mc[1]);
	if (ch->pid == -1) {
		logmsg(LOG_ALERT, "fork: %s", strerror(errno));
		close(mc[0]);
		M.sb_used[sb] = 0;
		free(ch);
		return NULL;
	}
	ch->chan = mc[0];
	set_nonblock(ch->chan, 1);
	ch->ev = event_new(M.base, ch->chan, EV_READ | EV_PERSIST, on_child_msg, ch);
	event_add(ch->ev, NULL);
	memset(sb_of(ch), 0, sizeof(struct shm_sb));
	sb_of(ch)->gen = g->id;
	sb_of(ch)->role = role;
	sb_of(ch)->wslot = wslot;
	atomic_store(&sb_of(ch)->heartbeat_ms, now_ms());
	atomic_store(&sb_of(ch)->pid, ch->pid);
	TAILQ_INSERT_TAIL(&M.children, ch, entry);
	logmsg(LOG_DEBUG, "started %s pid %d (generation %u, slot %d)",
	    role_name(ch), (int)ch->pid, g->id, wslot);
	return ch;
}

/* A fresh worker<->broker channel; the broker end goes to the broker. */
static int
broker_link(struct gen *g, int wslot)
{
	int bc[2];

	if (chan_pair(bc) == -1)
		return -1;
	if (g->broker == NULL || g->broker->chan < 0 ||
	    chan_send(g->broker->chan, MSG_BROKER_FD, g->id, wslot, NULL, 0,
	    bc[0]) == -1) {
		/* No broker now: the worker sees EOF until one is sent. */
		close(bc[0]);
		return bc[1];
	}
	close(bc[0]);
	return bc[1];
}

static void
gen_spawn_slot(struct gen *g, int wslot)
{
	int bend, i;

	if (wslot == g->nworkers) {
		g->broker = spawn_child(g, ROLE_BROKER, -1, -1);
		if (g->broker == NULL)
			return;
		/* A new broker: give every live worker a new link to it. */
		for (i = 0; i < g->nworkers; i++) {
			if (g->w[i] == NULL || g->w[i]->chan < 0)
				continue;
			if ((bend = broker_link(g, i)) == -1)
				continue;
			(void)chan_send(g->w[i]->chan, MSG_BROKER_FD, g->id, i,
			    NULL, 0, bend);
			close(bend);
		}
		return;
	}
	bend = broker_link(g, wslot);
	g->w[wslot] = spawn_child(g, ROLE_WORKER, wslot, bend);
	if (bend >= 0)
		close(bend);
}

static void
on_respawn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct slotstate *ss = arg;
	struct gen *g;
	int i;

	(void)fd;
	(void)what;
	TAILQ_FOREACH(g, &M.gens, entry) {
		for (i = 0; i <= g->nworkers; i++) {
			if (&g->ss[i] != ss)
				continue;
			if (g->state == G_DRAINING || M.stopping)
				return;
			gen_spawn_slot(g, i);
			return;
		}
	}
}

/* --- generations ---------------------------------------------------------- */

static void
gen_free(struct gen *g)
{
	size_t i;
	int k;

	TAILQ_REMOVE(&M.gens, g, entry);
	if (g->lsock != NULL)
		for (i = 0; i < g->conf->nlisten; i++)
			lsock_release(g->lsock[i]);
	for (k = 0; k <= g->nworkers; k++)
		if (g->ss[k].timer)
			event_free(g->ss[k].timer);
	if (g->timer)
		event_free(g->timer);
	if (g->shm != NULL)
		shm_unref(g->shm);
	if (g->conf_fd >= 0)
		close(g->conf_fd);
	free(g->lsock);
	free(g->ss);
	free(g->w);
	free(g->buf);
	conf_free(g->conf);
	free(g);
}

static int
gen_alive(const struct gen *g)
{
	struct child *ch;

	TAILQ_FOREACH(ch, &M.children, entry)
		if (ch->g == g)
			return 1;
	return 0;
}

static void
on_gen_timer(evutil_socket_t fd, short what, void *arg)
{
	struct gen *g = arg;
	struct child *ch;

	(void)fd;
	(void)what;
	if (g->state == G_STARTING && M.active == NULL) {
		logmsg(LOG_ALERT, "cannot start: generation %u not ready within"
		    " %llds", g->id, (long long)g->conf->reload_timeout / 1000);
		M.exit_code = 1;
		begin_stop(SIGTERM);
		return;
	}
	if (g->state == G_STARTING) {
		logmsg(LOG_ERROR, "reload failed: generation %u not ready within"
		    " %llds; keeping generation %u", g->id,
		    (long long)g->conf->reload_timeout / 1000,
		    M.active ? M.active->id : 0);
		shm_stat_add(g->shm, ST_RELOAD_FAILURES, 1);
		g->state = G_DRAINING;
		M.starting = NULL;
	}
	/* Drain deadline passed, or an aborted start: no more waiting. */
	TAILQ_FOREACH(ch, &M.children, entry)
		if (ch->g == g)
			kill(ch->pid, SIGKILL);
}

/* Segments are shared by generations while their geometry is unchanged. */
static void
shm_ref(struct shm *s)
{
	size_t i;

	for (i = 0; i < nitems(shms); i++)
		if (shms[i].s == s) {
			shms[i].refs++;
			return;
		}
	for (i = 0; i < nitems(shms); i++)
		if (shms[i].s == NULL) {
			shms[i].s = s;
			shms[i].refs = 1;
			return;
		}
}

static void
shm_unref(struct shm *s)
{
	size_t i;

	for (i = 0; i < nitems(shms); i++)
		if (shms[i].s == s && --shms[i].refs == 0) {
			shm_detach(s);
			shms[i].s = NULL;
			if (M.shm_keep == s)
				M.shm_keep = NULL;
		}
}

static struct shm *
shm_for(const struct conf *c, char *err, size_t errlen)
{
	unsigned n = 16;
	struct shm *s;
	size_t i;

	while (n < 4 * (unsigned)conf_workers(c) && n < 1024)
		n <<= 1;
	if (M.shm_keep != NULL && shm_size(M.shm_keep) == (size_t)c->cache_size &&
	    shm_nshards(M.shm_keep) == n) {
		shm_ref(M.shm_keep);
		return M.shm_keep;
	}
	for (i = 0; i < nitems(shms) && shms[i].s != NULL; i++)
		;
	if (i == nitems(shms)) {
		snprintf(err, errlen, "too many shared segments in use; wait"
		    " for draining generations to finish");
		return NULL;
	}
	if ((s = shm_create((size_t)c->cache_size, n, err, errlen)) == NULL)
		return NULL;
	shm_ref(s);
	if (M.shm_keep != NULL) {
		/* Counters never go backwards across a new segment. */
		memcpy((void *)shm_hdr(s)->stats, (void *)shm_hdr(M.shm_keep)->stats,
		    sizeof(shm_hdr(s)->stats));
	}
	return s;
}

static struct gen *
gen_new(struct conf *c, char *buf, size_t len, char *err, size_t errlen)
{
	struct gen *g;
	int i;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->id = ++M.next_gen;
	g->conf = c;
	g->buf = buf;
	g->len = len;
	g->nworkers = conf_workers(c);
	g->conf_fd = proc_memfd_of("pulumicost-mcp-conf", buf, len);
	g->w = calloc((size_t)g->nworkers, sizeof(*g->w));
	g->ss = calloc((size_t)g->nworkers + 1, sizeof(*g->ss));
	TAILQ_INSERT_TAIL(&M.gens, g, entry);
	if (g->conf_fd == -1 || g->w == NULL || g->ss == NULL) {
		snprintf(err, errlen, "cannot prepare generation: %s",
		    strerror(errno));
		gen_free(g);
		return NULL;
	}
	if ((g->shm = shm_for(c, err, errlen)) == NULL) {
		gen_free(g);
		return NULL;
	}
	for (i = 0; i <= g->nworkers; i++)
		g->ss[i].timer = evtimer_new(M.base, on_respawn_timer, &g->ss[i]);
	if (gen_listeners(g, err, errlen) == -1) {
		gen_free(g);
		return NULL;
	}
	g->state = G_STARTING;
	return g;
}

static void
gen_start(struct gen *g)
{
	struct timeval tv;
	int i;

	gen_spawn_slot(g, g->nworkers);		/* broker first */
	for (i = 0; i < g->nworkers; i++)
		gen_spawn_slot(g, i);
	g->timer = evtimer_new(M.base, on_gen_timer, g);
	tv = tv_ms(g->conf->reload_timeout);
	evtimer_add(g->timer, &tv);
}

/* Abort a generation that never became ready. */
static void
gen_abort(struct gen *g, const char *why)
{
	struct child *ch;

	if (g != M.starting)
		return;
	if (M.active != NULL) {
		logmsg(LOG_ERROR, "reload failed: %s; keeping generation %u", why,
		    M.active->id);
		shm_stat_add(g->shm, ST_RELOAD_FAILURES, 1);
		notify_send("READY=1\nSTATUS=Reload failed; serving generation %u",
		    M.active->id);
	}
	g->state = G_DRAINING;
	M.starting = NULL;
	TAILQ_FOREACH(ch, &M.children, entry)
		if (ch->g == g)
			kill(ch->pid, SIGKILL);
	if (M.active != NULL && M.reload_pending && !M.stopping) {
		M.reload_pending = 0;
		start_reload();
	}
}

static void
start_reload(void)
{
	struct conf *c;
	struct gen *g;
	char err[1024], *buf;
	size_t len;

	if (M.starting != NULL) {
		M.reload_pending = 1;	/* storms collapse into one more */
		return;
	}
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)mono_usec());
	logmsg(LOG_INFO, "reloading configuration from %s",
	    M.opts->conf_path ? M.opts->conf_path : "(embedded defaults)");
	c = conf_load(M.opts->conf_path, M.opts->prefix, &buf, &len, err,
	    sizeof(err));
	if (c != NULL && (tls_check(c, err, sizeof(err)) == -1 ||
	    (cost_check_config(c, err, sizeof(err)) == -1 ||
	    auth_check_config(c, err, sizeof(err)) == -1))) {
		conf_free(c);
		free(buf);
		c = NULL;
	}
	if (c == NULL) {
		logmsg(LOG_ERROR, "reload failed: %s; keeping generation %u", err,
		    M.active ? M.active->id : 0);
		shm_stat_add(M.active->shm, ST_RELOAD_FAILURES, 1);
		notify_send("READY=1\nSTATUS=Reload failed: bad configuration");
		return;
	}
	if ((g = gen_new(c, buf, len, err, sizeof(err))) == NULL) {
		logmsg(LOG_ERROR, "reload failed: %s; keeping generation %u", err,
		    M.active ? M.active->id : 0);
		shm_stat_add(M.active->shm, ST_RELOAD_FAILURES, 1);
		notify_send("READY=1\nSTATUS=Reload failed");
		return;
	}
	M.starting = g;
	gen_start(g);
}

/* --- reaping and respawn -------------------------------------------------- */

static int
violation_throttled(struct slotstate *ss)
{
	int64_t now = now_ms();
	int i, n = 0;

	memmove(&ss->violations[1], &ss->violations[0],
	    VIOLATION_LIMIT * sizeof(int64_t));
	ss->violations[0] = now;
	for (i = 0; i <= VIOLATION_LIMIT; i++)
		if (ss->violations[i] != 0 &&
		    now - ss->violations[i] < VIOLATION_WINDOW_MS)
			n++;
	return n > VIOLATION_LIMIT;
}

static void
schedule_respawn(struct gen *g, int wslot, struct child *ch)
{
	struct slotstate *ss = &g->ss[wslot];
	int64_t lived = now_ms() - ch->started_ms;
	struct timeval tv;

	/*
	 * One early death is respawned at once (a kill is not a crash loop);
	 * from the second in a row the delay doubles: 1, 2, 4 ... 60 s.
	 */
	if (lived < MIN_UPTIME_MS)
		ss->quick_deaths++;
	else
		ss->quick_deaths = 0;
	if (ss->quick_deaths <= 1)
		ss->backoff_ms = 0;
	else if (ss->quick_deaths - 2 >= 6)
		ss->backoff_ms = MAX_BACKOFF_MS;
	else
		ss->backoff_ms = 1000LL << (ss->quick_deaths - 2);
	if (ss->backoff_ms > MAX_BACKOFF_MS)
		ss->backoff_ms = MAX_BACKOFF_MS;
	shm_stat_add(g->shm, ST_WORKER_RESTARTS, 1);
	if (ss->backoff_ms == 0) {
		logmsg(LOG_INFO, "respawning %s slot %d of generation %u",
		    role_name(ch), ch->wslot, g->id);
		gen_spawn_slot(g, wslot);
		return;
	}
	logmsg(LOG_WARN, "respawning %s slot %d of generation %u in %llds"
	    " (crash loop back-off)", role_name(ch), ch->wslot, g->id,
	    (long long)ss->backoff_ms / 1000);
	tv = tv_ms(ss->backoff_ms);
	evtimer_add(ss->timer, &tv);
}

static void
child_exited(struct child *ch, int status)
{
	struct gen *g = ch->g;
	int wslot = ch->role == ROLE_BROKER ? g->nworkers : ch->wslot;
	int expected = ch->state == CH_DRAINING || M.stopping ||
	    g->state == G_DRAINING;
	int sys = -1;
	char how[128];

	/* Read what is left on the channel: last log lines, a violation. */
	if (ch->chan >= 0)
		on_child_msg(ch->chan, EV_READ, ch);
	child_close_chan(ch);
	TAILQ_REMOVE(&M.children, ch, entry);
	atomic_store(&sb_of(ch)->pid, 0);
	M.sb_used[ch->sb] = 0;
	if (ch->role == ROLE_BROKER)
		plugproc_broker_gone(ch->pid);
	if (ch->role == ROLE_BROKER && g->broker == ch)
		g->broker = NULL;
	else if (ch->role == ROLE_WORKER && g->w[ch->wslot] == ch)
		g->w[ch->wslot] = NULL;

	proc_describe_exit(status, how, sizeof(how));
	if ((WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) ||
	    (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SANDBOX_TRAP))
		sys = ch->violation >= 0 ? ch->violation : -2;

	if (sys != -1) {
		shm_stat_add(g->shm, ST_SECCOMP_VIOLATIONS, 1);
		if (sys >= 0)
			logmsg(LOG_ALERT, "seccomp violation in %s pid %d (syscall"
			    " %d=%s); it %s", role_name(ch), (int)ch->pid, sys,
			    sandbox_syscall_name(sys), how);
		else
			logmsg(LOG_ALERT, "seccomp violation in %s pid %d (syscall"
			    " unknown); it %s", role_name(ch), (int)ch->pid, how);
	} else if (expected && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		logmsg(LOG_DEBUG, "%s pid %d exited", role_name(ch), (int)ch->pid);
	else if (expected)
		logmsg(LOG_INFO, "%s pid %d (generation %u) %s", role_name(ch),
		    (int)ch->pid, g->id, how);
	else
		logmsg(LOG_ALERT, "%s pid %d (generation %u) %s", role_name(ch),
		    (int)ch->pid, g->id, how);

	if (expected || g->state == G_DRAINING) {
		/* nothing */
	} else if (g->state == G_STARTING) {
		char why[256];

		snprintf(why, sizeof(why), "%s pid %d of generation %u %s before"
		    " it was ready", role_name(ch), (int)ch->pid, g->id, how);
		if (M.active == NULL) {
			logmsg(LOG_ALERT, "cannot start: %s", why);
			M.exit_code = 1;
			begin_stop(SIGTERM);
		} else
			gen_abort(g, why);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_FATAL_CONFIG) {
		logmsg(LOG_ALERT, "%s slot %d exited with code 2 (fatal"
		    " configuration error): not respawning it", role_name(ch),
		    ch->wslot);
		g->ss[wslot].no_respawn = 1;
	} else if (sys != -1 && violation_throttled(&g->ss[wslot])) {
		logmsg(LOG_ALERT, "more than %d seccomp violations in %ds in slot"
		    " %d: not respawning it (the filter does not match this"
		    " system's libraries)", VIOLATION_LIMIT,
		    VIOLATION_WINDOW_MS / 1000, ch->wslot);
		g->ss[wslot].no_respawn = 1;
	} else if (!g->ss[wslot].no_respawn)
		schedule_respawn(g, wslot, ch);

	free(ch);
	if (g->state == G_DRAINING && !gen_alive(g))
		gen_free(g);
	maybe_finish();
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct child *ch;
	pid_t pid;
	int status;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(ch, &M.children, entry)
			if (ch->pid == pid)
				break;
		if (ch != NULL)
			child_exited(ch, status);
		else if (plugproc_reaped(pid, status))
			maybe_finish();
	}
}

/* plugproc's way to a broker, by pid. */
static int
send_to_broker(pid_t pid, uint32_t type, const char *json)
{
	struct child *ch;

	TAILQ_FOREACH(ch, &M.children, entry)
		if (ch->pid == pid && ch->role == ROLE_BROKER && ch->chan >= 0)
			return chan_send(ch->chan, type, ch->g->id, -1, json,
			    strlen(json), -1);
	return -1;
}

/* --- watchdog ------------------------------------------------------------- */

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch;
	int64_t now = now_ms(), hb;

	(void)fd;
	(void)what;
	(void)arg;
	/*
	 * If the master itself was stopped or starved, every heartbeat
	 * looks old: skip this round rather than kill healthy workers.
	 */
	if (now - M.last_tick > 3000) {
		M.last_tick = now;
		TAILQ_FOREACH(ch, &M.children, entry)
			atomic_store(&sb_of(ch)->heartbeat_ms, now);
		return;
	}
	M.last_tick = now;
	TAILQ_FOREACH(ch, &M.children, entry) {
		if (ch->state != CH_READY)
			continue;
		hb = atomic_load(&sb_of(ch)->heartbeat_ms);
		if (now - hb <= ch->g->conf->worker_watchdog)
			continue;
		logmsg(LOG_ALERT, "%s pid %d is stuck: no heartbeat for %llds;"
		    " killing it", role_name(ch), (int)ch->pid,
		    (long long)(now - hb) / 1000);
		kill(ch->pid, SIGKILL);
		/* Do not kill it twice before SIGCHLD arrives. */
		atomic_store(&sb_of(ch)->heartbeat_ms, now + 3600000);
	}
}

/* --- stopping ------------------------------------------------------------- */

static void
cleanup(void)
{
	int i;

	for (i = 0; i < MAX_LSOCKS; i++)
		if (M.ls[i].fd >= 0) {
			M.ls[i].refs = 1;
			lsock_release(i);
		}
	if (M.pid_file != NULL) {
		char buf[32];
		int fd = open(M.pid_file, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (atoi(buf) == (int)getpid())
				unlink(M.pid_file);
		}
	}
}

static void
maybe_finish(void)
{
	/* Plugins stop when their last broker is gone: wait for them too. */
	if (M.stopping && TAILQ_EMPTY(&M.children)) {
		plugproc_stop_all();
		if (plugproc_count() == 0)
			event_base_loopexit(M.base, NULL);
	}
}

static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child *ch;

	(void)fd;
	(void)what;
	(void)arg;
	TAILQ_FOREACH(ch, &M.children, entry) {
		logmsg(LOG_WARN, "%s pid %d did not exit in time; killing it",
		    role_name(ch), (int)ch->pid);
		kill(ch->pid, SIGKILL);
	}
}

static void
begin_stop(int how)
{
	struct child *ch;
	struct timeval tv;
	int64_t ms;

	if (M.stopping == SIGTERM || M.stopping == how)
		return;
	M.stopping = how;
	notify_send("STOPPING=1\nSTATUS=%s", how == SIGQUIT ?
	    "Draining connections" : "Stopping");
	logmsg(LOG_INFO, "%s", how == SIGQUIT ? "graceful shutdown" :
	    "fast shutdown");
	TAILQ_FOREACH(ch, &M.children, entry) {
		if (how == SIGQUIT) {
			ch->state = CH_DRAINING;
			child_send(ch, MSG_QUIT);
		} else
			kill(ch->pid, SIGTERM);
	}
	ms = how == SIGQUIT && M.active ? M.active->conf->shutdown_timeout + 2000 :
	    1000;
	tv = tv_ms(ms);
	if (M.stop_timer == NULL)
		M.stop_timer = evtimer_new(M.base, on_stop_timer, NULL);
	evtimer_add(M.stop_timer, &tv);
	maybe_finish();
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		if (!M.stopping)
			start_reload();
		break;
	case SIGQUIT:
		begin_stop(SIGQUIT);
		break;
	case SIGTERM:
	case SIGINT:
		begin_stop(SIGTERM);
		break;
	case SIGUSR1:
		if (log_reopen() == -1)
			logmsg(LOG_ERROR, "cannot reopen log file: %s",
			    strerror(errno));
		else
			logmsg(LOG_INFO, "log file reopened");
		break;
	}
}

/* --- start-up ------------------------------------------------------------- */

static int
write_pid_file(const char *path)
{
	char buf[32];
	int fd, n;

	(void)ensure_parent_dir(path, 0755);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write_all(fd, buf, (size_t)n) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Without --foreground, detach like any daemon, but let the parent wait
 * until the first generation is ready so that the start command's exit
 * status tells the truth.
 */
static int
daemonize(void)
{
	int p[2], nul;
	pid_t pid;
	char buf[8];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], buf, sizeof(buf));
		while (n == -1 && errno == EINTR);
		_exit(n == 2 && memcmp(buf, "ok", 2) == 0 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		close(nul);
	}
	return p[1];
}

int
master_main(const struct master_opts *o)
{
	static const int sigs[] = { SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1 };
	struct event *sev[nitems(sigs)], *chld;
	struct conf *c;
	struct gen *g;
	struct timeval one = { 1, 0 };
	char err[1024], *buf;
	size_t len, i;
	int j;

	memset(&M, 0, sizeof(M));
	M.opts = o;
	M.ready_fd = -1;
	TAILQ_INIT(&M.gens);
	TAILQ_INIT(&M.children);
	for (j = 0; j < MAX_LSOCKS; j++)
		M.ls[j].fd = -1;
	log_init("master", -1, 0);

	if ((c = conf_load(o->conf_path, o->prefix, &buf, &len, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		return 1;
	}
	if (tls_check(c, err, sizeof(err)) == -1 ||
	    (cost_check_config(c, err, sizeof(err)) == -1 ||
	    auth_check_config(c, err, sizeof(err)) == -1)) {
		fprintf(stderr, "%s: %s\n", PCM_NAME, err);
		conf_free(c);
		free(buf);
		return 1;
	}
	log_set_level(c->log_level);
	log_set_format(c->log_format == 1);
	if (log_open(c->log_output) == -1) {
		fprintf(stderr, "%s: cannot open log %s: %s\n", PCM_NAME,
		    c->log_output, strerror(errno));
		conf_free(c);
		free(buf);
		return 1;
	}
	if ((M.exe_fd = proc_open_self()) == -1) {
		logmsg(LOG_ALERT, "cannot open /proc/self/exe: %s", strerror(errno));
		conf_free(c);
		free(buf);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!o->foreground && (M.ready_fd = daemonize()) == -1) {
		logmsg(LOG_ALERT, "cannot daemonize: %s", strerror(errno));
		return 1;
	}
	if ((M.base = event_base_new()) == NULL) {
		logmsg(LOG_ALERT, "event_base_new failed");
		return 1;
	}
	if ((g = gen_new(c, buf, len, err, sizeof(err))) == NULL) {
		logmsg(LOG_ALERT, "cannot start: %s", err);
		fprintf(stderr, "%s: cannot start: %s\n", PCM_NAME, err);
		cleanup();
		return 1;
	}
	M.shm_keep = g->shm;
	/*
	 * Sessions outlive generations (any worker of any generation serves
	 * any session), so their segment is made once, at a fixed size.
	 */
	if ((M.sess = shm_create(SESSION_SHM_SIZE, 16, err, sizeof(err))) == NULL) {
		logmsg(LOG_ALERT, "cannot start: session segment: %s", err);
		cleanup();
		return 1;
	}
	/* Metrics too: counters must never go backwards on a reload. */
	if ((M.metrics_fd = metrics_create(err, sizeof(err))) == -1) {
		logmsg(LOG_ALERT, "cannot start: %s", err);
		cleanup();
		return 1;
	}
	if ((M.pid_file = strdup(c->pid_file)) == NULL ||
	    write_pid_file(M.pid_file) == -1) {
		logmsg(LOG_ALERT, "cannot write pid file %s: %s", c->pid_file,
		    strerror(errno));
		fprintf(stderr, "%s: cannot write pid file %s: %s\n", PCM_NAME,
		    c->pid_file, strerror(errno));
		free(M.pid_file);
		M.pid_file = NULL;
		cleanup();
		return 1;
	}
	for (i = 0; i < nitems(sigs); i++) {
		sev[i] = evsignal_new(M.base, sigs[i], on_signal, NULL);
		event_add(sev[i], NULL);
	}
	chld = evsignal_new(M.base, SIGCHLD, on_sigchld, NULL);
	event_add(chld, NULL);
	plugproc_init(M.base, send_to_broker);
	M.tick = event_new(M.base, -1, EV_PERSIST, on_tick, NULL);
	event_add(M.tick, &one);
	M.last_tick = now_ms();

	logmsg(LOG_INFO, "%s %s starting: generation %u, %d workers, sandbox %s,"
	    " configuration %s", PCM_NAME, PACKAGE_VERSION, g->id, g->nworkers,
	    sandbox_mode_name(c->sandbox), c->file);
	M.starting = g;
	gen_start(g);
	event_base_dispatch(M.base);

	logmsg(LOG_INFO, "exiting");
	cleanup();
	while (!TAILQ_EMPTY(&M.gens))
		gen_free(TAILQ_FIRST(&M.gens));
	for (i = 0; i < nitems(sigs); i++)
		event_free(sev[i]);
	event_free(chld);
	event_free(M.tick);
	if (M.stop_timer)
		event_free(M.stop_timer);
	shm_detach(M.sess);
	close(M.metrics_fd);
	free(M.pid_file);
	close(M.exe_fd);
	event_base_free(M.base);
	return M.exit_code;
}
