/* systemd's notify protocol, written directly (one datagram, no libsystemd). */
#ifndef PCM_NOTIFY_H
#define PCM_NOTIFY_H

/* 1 sent, 0 not under systemd (no NOTIFY_SOCKET), -1 error. */
int	 notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
