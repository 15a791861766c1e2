/*
 * Channels between the master, the broker and the workers:
 * AF_UNIX SOCK_SEQPACKET socketpairs, so message boundaries are kept by the
 * kernel.  A message is a fixed header, a payload of at most CHAN_MAX_PAYLOAD
 * bytes and at most one file descriptor (SCM_RIGHTS).
 */
#ifndef PCM_CHAN_H
#define PCM_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHAN_MAX_PAYLOAD	(64 * 1024)
#define CHAN_PROTO_VERSION	1

enum msg_type {
	MSG_HELLO = 1,		/* child -> master: proto version, pid */
	MSG_READY,		/* child -> master: initialised, serving */
	MSG_QUIT,		/* master -> child: drain and exit */
	MSG_TERM,		/* master -> child: exit now */
	MSG_LOG,		/* child -> master: one formatted log line */
	MSG_VIOLATION,		/* child -> master: seccomp trap, syscall nr */
	MSG_BROKER_FD,		/* master -> worker/broker: a worker<->broker channel */
	MSG_REQUEST,		/* worker -> broker: JSON request */
	MSG_RESPONSE,		/* broker -> worker: JSON response (+ fd) */
	MSG_PLUGIN_START,	/* broker -> master: start or adopt a plugin (plugproc.h) */
	MSG_PLUGIN_KILL,	/* broker -> master: kill it, to restart it */
	MSG_PLUGIN_UP,		/* master -> broker: its pid and port, or why not */
	MSG_PLUGIN_PORT,	/* master -> broker: it announced another port */
	MSG_PLUGIN_EXIT,	/* master -> broker: it exited */
	MSG_MAX
};

struct msg_hdr {
	uint32_t	type;
	uint32_t	len;
	uint32_t	gen;
	int32_t		slot;
};

int	 chan_pair(int fds[2]);
int	 chan_send(int fd, uint32_t type, uint32_t gen, int32_t slot,
	    const void *data, size_t len, int passfd);
/*
 * Receive one message without blocking.  Returns the payload length,
 * 0 with h->type == 0 on EOF, -1 with errno (EAGAIN when empty).
 * buf must hold CHAN_MAX_PAYLOAD + 1 bytes; the payload is NUL-terminated.
 * A passed descriptor is stored in *passfd (else -1).
 */
ssize_t	 chan_recv(int fd, struct msg_hdr *h, char *buf, int *passfd);
const char *msg_type_name(uint32_t);

#endif
