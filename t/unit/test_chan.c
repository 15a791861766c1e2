#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/chan.h"
#include "tap.h"

int
main(void)
{
	static char buf[CHAN_MAX_PAYLOAD + 1];
	static char big[CHAN_MAX_PAYLOAD + 1];
	struct msg_hdr h;
	int sp[2], p[2], fd;
	ssize_t n;

	ok(chan_pair(sp) == 0, "socketpair");
	ok(chan_send(sp[0], MSG_LOG, 7, 3, "hello", 5, -1) == 0, "send");
	n = chan_recv(sp[1], &h, buf, &fd);
	is_int(n, 5, "payload length");
	is_int(h.type, MSG_LOG, "type");
	is_int(h.gen, 7, "generation");
	is_int(h.slot, 3, "slot");
	is_str(buf, "hello", "payload");
	is_int(fd, -1, "no fd");

	ok(chan_send(sp[0], MSG_READY, 1, 0, NULL, 0, -1) == 0, "empty message");
	n = chan_recv(sp[1], &h, buf, &fd);
	ok(n == 0 && h.type == MSG_READY, "empty payload is not EOF");

	ok(pipe(p) == 0, "pipe");
	ok(chan_send(sp[0], MSG_BROKER_FD, 1, 2, NULL, 0, p[1]) == 0, "pass fd");
	n = chan_recv(sp[1], &h, buf, &fd);
	ok(n == 0 && fd >= 0 && fd != p[1], "received a new fd");
	ok(write(fd, "x", 1) == 1 && read(p[0], buf, 1) == 1 && buf[0] == 'x',
	    "passed fd is the same pipe");
	ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "received fd is close-on-exec");
	close(fd);

	n = chan_recv(sp[1], &h, buf, &fd);
	ok(n == -1 && errno == EAGAIN, "empty channel: EAGAIN");

	memset(big, 'a', sizeof(big));
	ok(chan_send(sp[0], MSG_LOG, 0, 0, big, sizeof(big), -1) == -1 &&
	    errno == EMSGSIZE, "oversized payload refused");
	ok(chan_send(sp[0], MSG_LOG, 0, 0, big, CHAN_MAX_PAYLOAD, -1) == 0,
	    "maximum payload");
	n = chan_recv(sp[1], &h, buf, &fd);
	is_int(n, CHAN_MAX_PAYLOAD, "maximum payload received whole");

	{
		uint32_t bad[4] = { 999, 0, 0, 0 };

		ok(write(sp[0], bad, sizeof(bad)) == sizeof(bad), "raw bad frame");
		n = chan_recv(sp[1], &h, buf, &fd);
		ok(n == -1 && errno == EBADMSG, "unknown type rejected");
	}
	close(sp[0]);
	n = chan_recv(sp[1], &h, buf, &fd);
	ok(n == 0 && h.type == 0, "EOF");
	return done_testing();
}
