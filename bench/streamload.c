/*
 * A load generator for the newline-delimited socket protocol, which wrk
 * cannot speak: C connections to a unix socket, each sending one request
 * line and waiting for its answer line, for D seconds, after the MCP
 * handshake (initialize, notifications/initialized) on each connection.  Prints requests/s,
 * p50 and p99 in milliseconds and the count of error answers (a line with
 * "error" at the top level).  Built and run by bench/peers.pl:
 *
 *   streamload SOCKET CONNECTIONS SECONDS REQUEST_FILE
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	256
#define MAX_SAMPLES	(1 << 22)

struct conn {
	int	 fd;
	size_t	 sent;
	double	 t0;
	char	*in;
	size_t	 inlen, incap;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* initialize and notifications/initialized, before the clock starts. */
static int
handshake(int fd)
{
	static const char init[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\","
	    "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
	    "\"clientInfo\":{\"name\":\"streamload\",\"version\":\"1\"}}}\n";
	static const char done[] = "{\"jsonrpc\":\"2.0\","
	    "\"method\":\"notifications/initialized\"}\n";
	char c;

	if (write(fd, init, sizeof(init) - 1) != (ssize_t)sizeof(init) - 1)
		return -1;
	do {
		if (read(fd, &c, 1) != 1)
			return -1;
	} while (c != '\n');
	return write(fd, done, sizeof(done) - 1) == (ssize_t)sizeof(done) - 1 ? 0 : -1;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static struct conn c[MAX_CONNS];
	static struct pollfd pf[MAX_CONNS];
	struct sockaddr_un sun;
	double *lat, end, t;
	size_t nlat = 0, reqlen, errors = 0;
	char *req;
	int n, i, secs;
	FILE *f;

	if (argc != 5 || (n = atoi(argv[2])) < 1 || n > MAX_CONNS ||
	    (secs = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: streamload SOCKET CONNECTIONS(1-%d) SECONDS FILE\n",
		    MAX_CONNS);
		return 2;
	}
	if ((f = fopen(argv[4], "r")) == NULL || (req = malloc(1 << 24)) == NULL) {
		perror(argv[4]);
		return 2;
	}
	reqlen = fread(req, 1, (1 << 24) - 2, f);
	fclose(f);
	while (reqlen > 0 && (req[reqlen - 1] == '\n' || req[reqlen - 1] == '\r'))
		reqlen--;
	req[reqlen++] = '\n';
	if ((lat = malloc(sizeof(*lat) * MAX_SAMPLES)) == NULL)
		return 2;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	for (i = 0; i < n; i++) {
		if ((c[i].fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(c[i].fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    handshake(c[i].fd) == -1) {
			perror(argv[1]);
			return 1;
		}
		c[i].t0 = now();
	}
	end = now() + secs;
	while ((t = now()) < end) {
		for (i = 0; i < n; i++) {
			pf[i].fd = c[i].fd;
			pf[i].events = c[i].sent < reqlen ? POLLOUT : POLLIN;
		}
		if (poll(pf, n, 100) == -1 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			struct conn *k = &c[i];
			ssize_t r;
			char *nl;

			if (pf[i].revents & POLLOUT) {
				if ((r = write(k->fd, req + k->sent, reqlen - k->sent)) > 0)
					k->sent += (size_t)r;
				continue;
			}
			if (!(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (k->incap - k->inlen < 65536) {
				k->incap = k->incap ? k->incap * 2 : 1 << 20;
				if ((k->in = realloc(k->in, k->incap)) == NULL)
					return 1;
			}
			if ((r = read(k->fd, k->in + k->inlen, k->incap - k->inlen)) <= 0) {
				fprintf(stderr, "connection %d closed by the server\n", i);
				return 1;
			}
			k->inlen += (size_t)r;
			while ((nl = memchr(k->in, '\n', k->inlen)) != NULL) {
				size_t line = (size_t)(nl - k->in) + 1;

				/* An answer: the top-level "result" or "error" member. */
				if (memmem(k->in, line, "\"error\":{", 9) != NULL &&
				    memmem(k->in, line, "\"result\":", 9) == NULL)
					errors++;
				if (nlat < MAX_SAMPLES)
					lat[nlat++] = (now() - k->t0) * 1000;
				memmove(k->in, nl + 1, k->inlen - line);
				k->inlen -= line;
				k->sent = 0;
				k->t0 = now();
			}
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp);
	printf("requests=%zu rps=%.1f p50=%.3f p99=%.3f errors=%zu\n", nlat,
	    nlat / (double)secs, nlat ? lat[nlat / 2] : 0,
	    nlat ? lat[(size_t)(nlat * 0.99)] : 0, errors);
	return 0;
}
