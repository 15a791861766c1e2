/*
 * pulumicost-mcp bridge: what a Claude Desktop entry runs.  It relays
 * newline-delimited JSON-RPC between stdin/stdout and a stream-protocol
 * socket, writes nothing but protocol on stdout (diagnostics go to
 * stderr), and exits on stdin EOF.
 *
 * A server reload closes stream sessions at a message boundary (a session
 * cannot move between processes).  The bridge then reconnects and replays
 * the client's initialize and notifications/initialized, swallowing the
 * duplicate answer, and sends again the requests that had no answer (the
 * server closes a session only when it owes nothing, so those were never
 * read; every tool is read-only, so a resend after a crash is safe too).
 * The client never notices.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../core/util.h"
#include "bridge.h"
#include "jsonrpc.h"

#define MAX_LINE	(64 * 1024 * 1024)
#define REPLAY_ID	"pulumicost-mcp-bridge-replay"
#define MAX_INFLIGHT	1024

struct linebuf {
	char	*p;
	size_t	 len, cap;
};

static struct {
	const char	*path;
	int		 sock;
	char		*init_line;		/* the client's initialize */
	char		*init_id;		/* its id, as JSON text */
	int		 init_answered;
	int		 initialized_sent;	/* notifications/initialized seen */
	char		*inflight[MAX_INFLIGHT];	/* ids as JSON text */
	char		*inflight_line[MAX_INFLIGHT];	/* the request */
	int		 replaying;		/* swallow the replayed answer */
} B = { .sock = -1 };

static int
lb_append(struct linebuf *b, const char *p, size_t n)
{
	char *np;

	if (b->len + n > MAX_LINE)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Take the next complete line (without its newline), or NULL. */
static char *
lb_take(struct linebuf *b)
{
	char *nl, *line;
	size_t n;

	if (b->len == 0 || (nl = memchr(b->p, '\n', b->len)) == NULL)
		return NULL;
	n = (size_t)(nl - b->p);
	if ((line = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(line, b->p, n);
	line[n] = '\0';
	memmove(b->p, nl + 1, b->len - n - 1);
	b->len -= n + 1;
	return line;
}

static void
inflight_add(const char *id, const char *line)
{
	int i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (B.inflight[i] == NULL) {
			B.inflight[i] = strdup(id);
			B.inflight_line[i] = strdup(line);
			return;
		}
}

static void
inflight_del(const char *id)
{
	int i;

	for (i = 0; i < MAX_INFLIGHT; i++)
		if (B.inflight[i] && strcmp(B.inflight[i], id) == 0) {
			free(B.inflight[i]);
			free(B.inflight_line[i]);
			B.inflight[i] = NULL;
			B.inflight_line[i] = NULL;
		}
}

/* Look at what the client sends: remember the handshake and open requests. */
static void
note_client_line(const char *line)
{
	struct json_object *o = json_tokener_parse(line), *m, *id;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return;
	}
	if (json_object_object_get_ex(o, "method", &m)) {
		const char *meth = json_object_get_string(m);

		if (json_object_object_get_ex(o, "id", &id)) {
			if (strcmp(meth, "initialize") != 0)
				inflight_add(json_object_to_json_string(id), line);
			if (strcmp(meth, "initialize") == 0) {
				free(B.init_line);
				free(B.init_id);
				B.init_line = strdup(line);
				B.init_id = strdup(json_object_to_json_string(id));
				B.init_answered = 0;
			}
		} else if (strcmp(meth, "notifications/initialized") == 0)
			B.initialized_sent = 1;
	}
	json_object_put(o);
}

/* Look at what the server sends.  Returns 0 to swallow the line. */
static int
note_server_line(const char *line)
{
	struct json_object *o = json_tokener_parse(line), *id;
	int pass = 1;

	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    !json_object_object_get_ex(o, "method", NULL) &&
	    json_object_object_get_ex(o, "id", &id)) {
		if (json_object_is_type(id, json_type_string) &&
		    strcmp(json_object_get_string(id), REPLAY_ID) == 0) {
			B.replaying = 0;
			pass = 0;
		} else {
			const char *t = json_object_to_json_string(id);

			if (B.init_id != NULL && strcmp(t, B.init_id) == 0)
				B.init_answered = 1;
			inflight_del(t);
		}
	}
	json_object_put(o);
	return pass;
}

/* Requests the old session never read go to the new one. */
static int
resend_inflight(void)
{
	int i;

	for (i = 0; i < MAX_INFLIGHT; i++) {
		if (B.inflight_line[i] == NULL)
			continue;
		if (write_all(B.sock, B.inflight_line[i],
		    strlen(B.inflight_line[i])) == -1 ||
		    write_all(B.sock, "\n", 1) == -1)
			return -1;
	}
	return 0;
}

/* Reconnect and replay the handshake; bounded in time. */
static int
reconnect(void)
{
	struct json_object *o, *id;
	const char *s;
	int64_t deadline = now_ms() + 30000;
	struct timespec ts = { 0, 100000000 };

	close(B.sock);
	B.sock = -1;
	while ((B.sock = unix_connect(B.path)) == -1) {
		if (now_ms() > deadline) {
			fprintf(stderr, "pulumicost-mcp bridge: lost %s and could"
			    " not reconnect within 30s: %s\n", B.path, strerror(errno));
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	if (B.init_line == NULL || (o = json_tokener_parse(B.init_line)) == NULL)
		return resend_inflight();
	if (!B.init_answered) {
		/* The client still waits for this answer: send it as it was. */
		json_object_put(o);
		if (write_all(B.sock, B.init_line, strlen(B.init_line)) == -1 ||
		    write_all(B.sock, "\n", 1) == -1)
			return -1;
		return resend_inflight();
	}
	id = json_object_new_string(REPLAY_ID);
	json_object_object_add(o, "id", id);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	B.replaying = 1;
	if (write_all(B.sock, s, strlen(s)) == -1 || write_all(B.sock, "\n", 1) == -1) {
		json_object_put(o);
		return -1;
	}
	json_object_put(o);
	if (B.initialized_sent) {
		s = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
		if (write_all(B.sock, s, strlen(s)) == -1)
			return -1;
	}
	return resend_inflight();
}

static void
usage(void)
{
	fprintf(stderr, "usage: pulumicost-mcp bridge --socket PATH | --url URL\n"
	    "  relays MCP between stdin/stdout and a protocol: stream socket,\n"
	    "  or a server's Streamable HTTP endpoint (http:// or https://)\n");
}

static int	relay(struct linebuf *, struct linebuf *);

static void
bridge_free(struct linebuf *in, struct linebuf *out)
{
	int i;

	free(in->p);
	free(out->p);
	free(B.init_line);
	free(B.init_id);
	for (i = 0; i < MAX_INFLIGHT; i++) {
		free(B.inflight[i]);
		free(B.inflight_line[i]);
	}
	if (B.sock >= 0)
		close(B.sock);
}

int
bridge_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "url", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct linebuf in = { 0 }, out = { 0 };
	const char *url = NULL;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:u:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			B.path = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 1;
		}
	}
	if ((B.path == NULL) == (url == NULL)) {
		usage();
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (url != NULL)
		return bridge_http(url);
	if ((B.sock = unix_connect(B.path)) == -1) {
		fprintf(stderr, "pulumicost-mcp bridge: cannot connect to %s: %s"
		    " (is the server running, with a protocol: stream listener"
		    " there?)\n", B.path, strerror(errno));
		return 1;
	}
	rc = relay(&in, &out);
	bridge_free(&in, &out);
	return rc;
}

/* Copy lines both ways until the client is done (0) or it fails (1). */
static int
relay(struct linebuf *in, struct linebuf *out)
{
	struct pollfd pf[2];
	char buf[65536], *line;
	int stdin_open = 1;
	ssize_t n;

	for (;;) {
		pf[0].fd = stdin_open ? 0 : -1;
		pf[0].events = POLLIN;
		pf[1].fd = B.sock;
		pf[1].events = POLLIN;
		if (poll(pf, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* The client is done: let the server finish, then go. */
				stdin_open = 0;
				shutdown(B.sock, SHUT_WR);
			} else {
				if (lb_append(in, buf, (size_t)n) == -1) {
					fprintf(stderr, "pulumicost-mcp bridge: a message"
					    " from the client is larger than 64MB\n");
					return 1;
				}
				while ((line = lb_take(in)) != NULL) {
					note_client_line(line);
					if (write_all(B.sock, line, strlen(line)) == -1 ||
					    write_all(B.sock, "\n", 1) == -1) {
						free(line);
						if (reconnect() == -1)
							return 1;
						continue;
					}
					free(line);
				}
			}
		}
		if (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(B.sock, buf, sizeof(buf));
			if (n <= 0) {
				if (!stdin_open)
					return 0;
				if (reconnect() == -1)
					return 1;
				out->len = 0;
				continue;
			}
			if (lb_append(out, buf, (size_t)n) == -1)
				return 1;
			while ((line = lb_take(out)) != NULL) {
				if (note_server_line(line) &&
				    (write_all(1, line, strlen(line)) == -1 ||
				    write_all(1, "\n", 1) == -1)) {
					free(line);
					return 1;
				}
				free(line);
			}
		}
	}
}
