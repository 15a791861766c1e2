/*
 * Spawning children: fork + exec of our own binary (opened once at start,
 * so a respawn runs the same image even after an upgrade on disk), with
 * descriptors at fixed numbers and everything else closed.
 */
#ifndef PCM_PROC_H
#define PCM_PROC_H

#include <sys/types.h>

/* Fixed descriptor numbers in a child. */
#define FD_MASTER	3	/* channel to the master */
#define FD_BROKER	4	/* worker: channel to the broker */
#define FD_SHM		5	/* shared-memory segment */
#define FD_CONF		6	/* sealed config snapshot (YAML bytes) */
#define FD_SESS		7	/* shared segment of MCP sessions */
#define FD_METRICS	8	/* the metrics segment */
#define FD_LISTEN0	9	/* first listener; conf->listen order */

int	 proc_open_self(void);
/*
 * fds[i] is placed at descriptor 3 + i (-1 leaves it closed).
 * Returns the child pid, or -1.
 */
pid_t	 proc_spawn(int exe_fd, char *const argv[], const int *fds, int nfds);
/*
 * In a forked child before exec: every signal back to its default and
 * nothing blocked (libevent's dispositions in the master are not the
 * child's).
 */
void	 proc_reset_signals(void);
/* How a child ended, from its wait status: "exited with code 1", "was
 * killed by signal 9 (Killed)". */
void	 proc_describe_exit(int status, char *buf, size_t len);
/* A sealed memfd holding buf, for FD_CONF. */
int	 proc_memfd_of(const char *name, const char *buf, size_t len);

#endif
