#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cost/jget.h"
#include "chan.h"
#include "conf.h"
#include "log.h"
#include "plugproc.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"

#define MAX_PROCS	64	/* a broker cannot make the master fork without bound */
#define MAX_USERS	8	/* brokers sharing one process: generations draining + 1 */
#define STOP_GRACE_MS	2000
#define KEY_MAX		64

struct plugproc {
	TAILQ_ENTRY(plugproc)	 entry;
	char			 key[KEY_MAX + 1];
	char			 name[128];
	pid_t			 pid;
	int			 port;
	pid_t			 users[MAX_USERS];
	int			 fds[2];		/* its stdout, stderr */
	struct event		*evs[2];
	char			 bufs[2][4096];
	size_t			 lens[2];
	struct event		*kill_ev;		/* SIGKILL after SIGTERM */
	int			 stopping;
};

static struct {
	struct event_base	*base;
	plugproc_send_fn	 send;
	TAILQ_HEAD(, plugproc)	 list;
	size_t			 n;
} PP = { .list = TAILQ_HEAD_INITIALIZER(PP.list) };

void
plugproc_init(struct event_base *base, plugproc_send_fn send)
{
	PP.base = base;
	PP.send = send;
}

size_t
plugproc_count(void)
{
	return PP.n;
}

static struct plugproc *
find_key(const char *key)
{
	struct plugproc *p;

	TAILQ_FOREACH(p, &PP.list, entry)
		if (!p->stopping && strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

static int
uses(const struct plugproc *p, pid_t broker)
{
	size_t i;

	for (i = 0; i < MAX_USERS; i++)
		if (p->users[i] == broker)
			return 1;
	return 0;
}

static int
add_user(struct plugproc *p, pid_t broker)
{
	size_t i;

	if (uses(p, broker))
		return 0;
	for (i = 0; i < MAX_USERS; i++)
		if (p->users[i] == 0) {
			p->users[i] = broker;
			return 0;
		}
	return -1;
}

static size_t
nusers(const struct plugproc *p)
{
	size_t i, n = 0;

	for (i = 0; i < MAX_USERS; i++)
		n += p->users[i] != 0;
	return n;
}

/* A JSON message to one broker; the object is consumed. */
static void
tell(pid_t broker, uint32_t type, struct json_object *o)
{
	(void)PP.send(broker, type, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void
tell_users(const struct plugproc *p, uint32_t type, struct json_object *o)
{
	size_t i;

	for (i = 0; i < MAX_USERS; i++)
		if (p->users[i] != 0)
			(void)PP.send(p->users[i], type, json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

struct json_object *
plugproc_message(const char *key)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "key", json_object_new_string(key));
	return o;
}

/* --- its output, into the log ------------------------------------------------ */

static void
on_line(struct plugproc *p, int is_out, const char *line)
{
	struct json_object *o;
	int port;

	if (is_out && sscanf(line, "PORT=%d", &port) == 1 && port > 0 && port < 65536) {
		if (port != p->port) {
			logmsg(LOG_INFO, "plugin %s announced port %d (asked %d)",
			    p->name, port, p->port);
			p->port = port;
			o = plugproc_message(p->key);
			json_object_object_add(o, "port", json_object_new_int(port));
			tell_users(p, MSG_PLUGIN_PORT, o);
		}
		return;
	}
	logmsg(LOG_INFO, "plugin %s: %s", p->name, line);
}

/* Read what is there: 1 read some, 0 nothing yet, -1 at EOF or error. */
static int
read_output(struct plugproc *p, int i)
{
	char *buf = p->bufs[i], *nl;
	size_t *len = &p->lens[i];
	ssize_t n;

	n = read(p->fds[i], buf + *len, sizeof(p->bufs[i]) - 1 - *len);
	if (n <= 0)
		return n == -1 && errno == EAGAIN ? 0 : -1;
	*len += (size_t)n;
	buf[*len] = '\0';
	while ((nl = strchr(buf, '\n')) != NULL) {
		*nl = '\0';
		if (nl > buf && nl[-1] == '\r')
			nl[-1] = '\0';
		on_line(p, i == 0, buf);
		*len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len + 1);
	}
	if (*len == sizeof(p->bufs[i]) - 1) {
		on_line(p, i == 0, buf);	/* a line that long: log it in parts */
		*len = 0;
	}
	return 1;
}

static void
close_output(struct plugproc *p, int i)
{
	if (p->evs[i] != NULL) {
		event_free(p->evs[i]);
		p->evs[i] = NULL;
	}
	if (p->fds[i] >= 0) {
		close(p->fds[i]);
		p->fds[i] = -1;
	}
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	struct plugproc *p = arg;
	int i = fd == p->fds[0] ? 0 : 1;

	(void)what;
	if (read_output(p, i) == -1)
		close_output(p, i);
}

/* --- starting ------------------------------------------------------------------ */

static void
child_exec(const struct conf *c, pid_t master, int out, int err, const char *dir,
    const char *binary, int port)
{
	char why[256], arg[32], portstr[16];
	int devnull;

	/* The user the configuration names, no way back up, and die with us. */
	if (sandbox_drop_privileges(c, why, sizeof(why)) == -1) {
		dprintf(err, "cannot start %s: %s\n", binary, why);
		_exit(126);
	}
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	sandbox_rlimits(c, 0);
	proc_reset_signals();
	if ((devnull = open("/dev/null", O_RDONLY)) == -1 || dup2(devnull, 0) == -1 ||
	    dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(126);
	/* Nothing of the master's (listeners, segments, channels) goes along. */
	close_range(3, ~0U, 0);
	snprintf(arg, sizeof(arg), "--port=%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	setenv("FINFOCUS_PLUGIN_PORT", portstr, 1);
	setenv("PULUMICOST_PLUGIN_PORT", portstr, 1);
	if (chdir(dir) == -1) {
		dprintf(2, "cannot enter %s: %s\n", dir, strerror(errno));
		_exit(126);
	}
	execl(binary, binary, arg, (char *)NULL);
	dprintf(2, "cannot run %s: %s\n", binary, strerror(errno));
	_exit(127);
}

static struct plugproc *
spawn(const struct conf *c, const char *key, const char *name, const char *dir,
    const char *binary, int port, char *why, size_t whylen)
{
	struct plugproc *p;
	int out[2], err[2], i;
	pid_t master = getpid();

	out[0] = out[1] = err[0] = err[1] = -1;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    (p->pid = fork()) == -1) {
		snprintf(why, whylen, "%s: %s", out[0] == -1 || err[0] == -1 ? "pipe" :
		    "fork", strerror(errno));
		for (i = 0; i < 2; i++) {
			if (out[i] != -1)
				close(out[i]);
			if (err[i] != -1)
				close(err[i]);
		}
		free(p);
		return NULL;
	}
	if (p->pid == 0)
		child_exec(c, master, out[1], err[1], dir, binary, port);
	close(out[1]);
	close(err[1]);
	p->fds[0] = out[0];
	p->fds[1] = err[0];
	strlcpy_(p->key, key, sizeof(p->key));
	strlcpy_(p->name, name, sizeof(p->name));
	p->port = port;
	for (i = 0; i < 2; i++) {
		set_nonblock(p->fds[i], 1);
		p->evs[i] = event_new(PP.base, p->fds[i], EV_READ | EV_PERSIST, on_output, p);
		event_add(p->evs[i], NULL);
	}
	TAILQ_INSERT_TAIL(&PP.list, p, entry);
	PP.n++;
	return p;
}

/*
 * The process a broker's request names: the one already running with its
 * key (*adopted), or a new one.  NULL with why when there can be none.
 */
static struct plugproc *
obtain(pid_t broker, const struct conf *c, struct json_object *o, const char *key,
    int *adopted, char *why, size_t whylen)
{
	const char *name = jstr(o, "name"), *dir = jstr(o, "dir"), *binary = jstr(o, "binary");
	int port = (int)jnum(o, "port");
	struct plugproc *p;
	struct stat st;

	if (strlen(key) != KEY_MAX || name == NULL || dir == NULL || binary == NULL ||
	    *binary != '/' || *dir != '/' || !(port > 0 && port <= 65535)) {
		logmsg(LOG_ERROR, "broker pid %d: a malformed plugin start request",
		    (int)broker);
		snprintf(why, whylen, "malformed request");
		return NULL;
	}
	if ((p = find_key(key)) != NULL) {
		if (add_user(p, broker) == -1) {
			snprintf(why, whylen, "too many generations share plugin %s", name);
			return NULL;
		}
		*adopted = 1;
		return p;
	}
	if (PP.n >= MAX_PROCS) {
		snprintf(why, whylen, "%d plugin processes run already", MAX_PROCS);
		return NULL;
	}
	if (stat(binary, &st) == -1) {
		snprintf(why, whylen, "%s: %s", binary, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "%s: not a regular file", binary);
		return NULL;
	}
	if ((p = spawn(c, key, name, dir, binary, port, why, whylen)) != NULL)
		(void)add_user(p, broker);
	return p;
}

void
plugproc_start(pid_t broker, const struct conf *c, const char *json)
{
	struct json_object *o = json_tokener_parse(json), *up;
	const char *key = jstr(o, "key");
	struct plugproc *p;
	char why[300];
	int adopted = 0;

	up = plugproc_message(key ? key : "");
	if (key == NULL || (p = obtain(broker, c, o, key, &adopted, why, sizeof(why))) == NULL) {
		if (key == NULL)
			logmsg(LOG_ERROR, "broker pid %d: a plugin start request without a key",
			    (int)broker);
		json_object_object_add(up, "error", json_object_new_string(key ? why :
		    "malformed request"));
	} else {
		json_object_object_add(up, "pid", json_object_new_int((int)p->pid));
		json_object_object_add(up, "port", json_object_new_int(p->port));
		json_object_object_add(up, "adopted", json_object_new_boolean(adopted));
	}
	tell(broker, MSG_PLUGIN_UP, up);
	json_object_put(o);
}

/* --- stopping ------------------------------------------------------------------ */

static void
on_kill_timer(evutil_socket_t fd, short what, void *arg)
{
	struct plugproc *p = arg;

	(void)fd;
	(void)what;
	logmsg(LOG_WARN, "plugin %s (pid %d): still running %d ms after SIGTERM: SIGKILL",
	    p->name, (int)p->pid, STOP_GRACE_MS);
	kill(p->pid, SIGKILL);
}

static void
stop(struct plugproc *p)
{
	struct timeval tv = tv_ms(STOP_GRACE_MS);

	if (p->stopping)
		return;
	p->stopping = 1;
	kill(p->pid, SIGTERM);
	p->kill_ev = evtimer_new(PP.base, on_kill_timer, p);
	evtimer_add(p->kill_ev, &tv);
}

void
plugproc_kill(pid_t broker, const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	const char *key = jstr(o, "key");
	struct plugproc *p;

	/* Only a broker using it may restart it. */
	if (key != NULL && (p = find_key(key)) != NULL && uses(p, broker))
		kill(p->pid, SIGKILL);
	json_object_put(o);
}

void
plugproc_broker_gone(pid_t broker)
{
	struct plugproc *p;
	size_t i;

	TAILQ_FOREACH(p, &PP.list, entry) {
		for (i = 0; i < MAX_USERS; i++)
			if (p->users[i] == broker)
				p->users[i] = 0;
		if (nusers(p) == 0 && !p->stopping) {
			logmsg(LOG_INFO, "plugin %s (pid %d): no generation uses it; stopping it",
			    p->name, (int)p->pid);
			stop(p);
		}
	}
}

void
plugproc_stop_all(void)
{
	struct plugproc *p;

	TAILQ_FOREACH(p, &PP.list, entry)
		stop(p);
}

void
plugproc_stop_now(pid_t user, int64_t grace_ms)
{
	int64_t until = now_ms() + grace_ms;
	struct plugproc *p;
	pid_t pid;
	int st;

	plugproc_broker_gone(user);
	while (PP.n > 0 && now_ms() < until) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			(void)plugproc_reaped(pid, st);
		if (PP.n > 0)
			usleep(20000);
	}
	TAILQ_FOREACH(p, &PP.list, entry) {
		logmsg(LOG_WARN, "plugin %s: still running after %lld ms: SIGKILL",
		    p->name, (long long)grace_ms);
		kill(p->pid, SIGKILL);
	}
	while (PP.n > 0 && (pid = waitpid(-1, &st, 0)) > 0)
		(void)plugproc_reaped(pid, st);
}

int
plugproc_reaped(pid_t pid, int status)
{
	struct plugproc *p;
	struct json_object *o;
	char exit_text[120];
	int i;

	TAILQ_FOREACH(p, &PP.list, entry)
		if (p->pid == pid)
			break;
	if (p == NULL)
		return 0;
	proc_describe_exit(status, exit_text, sizeof(exit_text));
	/* Its last words first, then the news. */
	for (i = 0; i < 2; i++) {
		while (p->fds[i] >= 0 && read_output(p, i) == 1)
			;
		if (p->lens[i] > 0)
			on_line(p, i == 0, p->bufs[i]);
		close_output(p, i);
	}
	if (!p->stopping) {
		o = plugproc_message(p->key);
		json_object_object_add(o, "pid", json_object_new_int((int)pid));
		json_object_object_add(o, "exit", json_object_new_string(exit_text));
		tell_users(p, MSG_PLUGIN_EXIT, o);
	} else
		logmsg(LOG_INFO, "plugin %s (pid %d) %s", p->name, (int)pid, exit_text);
	if (p->kill_ev != NULL)
		event_free(p->kill_ev);
	TAILQ_REMOVE(&PP.list, p, entry);
	PP.n--;
	free(p);
	return 1;
}
