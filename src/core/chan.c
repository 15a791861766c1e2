#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "util.h"

/*
 * Each end decides its own blocking mode: the master keeps its ends
 * non-blocking so a stuck child never stalls it; children keep theirs
 * blocking so a burst of log lines waits for the master instead of being
 * dropped.  Receives always use MSG_DONTWAIT.
 */
int
chan_pair(int fds[2])
{
	int sz = 1024 * 1024;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == -1)
		return -1;
	(void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

int
chan_send(int fd, uint32_t type, uint32_t gen, int32_t slot, const void *data,
    size_t len, int passfd)
{
	struct msg_hdr h = { type, (uint32_t)len, gen, slot };
	struct iovec iov[2];
	struct msghdr m;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	if (len > CHAN_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	m.msg_iov = iov;
	m.msg_iovlen = len > 0 ? 2 : 1;
	if (passfd >= 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

ssize_t
chan_recv(int fd, struct msg_hdr *h, char *buf, int *passfd)
{
	struct iovec iov[2];
	struct msghdr m;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr *c;
	ssize_t n;

	*passfd = -1;
	memset(&m, 0, sizeof(m));
	memset(h, 0, sizeof(*h));
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(*h);
	iov[1].iov_base = buf;
	iov[1].iov_len = CHAN_MAX_PAYLOAD;
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	m.msg_control = cm.buf;
	m.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(passfd, CMSG_DATA(c), sizeof(int));
	if (n == 0) {
		h->type = 0;
		return 0;
	}
	if ((size_t)n < sizeof(*h) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    h->len != (size_t)n - sizeof(*h) || h->type == 0 ||
	    h->type >= MSG_MAX) {
		if (*passfd >= 0)
			close(*passfd);
		*passfd = -1;
		errno = EBADMSG;
		return -1;
	}
	buf[h->len] = '\0';
	return (ssize_t)h->len;
}

const char *
msg_type_name(uint32_t t)
{
	static const char *const names[] = {
		"none", "HELLO", "READY", "QUIT", "TERM", "LOG", "VIOLATION",
		"BROKER_FD", "REQUEST", "RESPONSE", "PLUGIN_START", "PLUGIN_KILL",
		"PLUGIN_UP", "PLUGIN_PORT", "PLUGIN_EXIT",
	};

	return t < nitems(names) ? names[t] : "?";
}
