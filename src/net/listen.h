/*
 * Listening sockets, opened once by the master and inherited by workers.
 * A socket that matches by address survives reloads unchanged.
 */
#ifndef PCM_LISTEN_H
#define PCM_LISTEN_H

#include <sys/types.h>

#include "../core/conf.h"

/* Open, bind and listen; for unix: detect stale sockets, apply mode/owner. */
int	 listen_open(const struct conf_listen *, ino_t *ino, char *err,
	    size_t errlen);
/* Apply a changed backlog to an open socket. */
int	 listen_set_backlog(int fd, const struct conf_listen *);
/* Remove a unix socket path if it still names the socket fd. */
void	 listen_unlink(const struct conf_listen *, ino_t ino);

#endif
