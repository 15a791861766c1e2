/*
 * What workers and the broker share when they start: their arguments,
 * the configuration snapshot (FD_CONF), the shared segment (FD_SHM), the
 * log channel to the master (FD_MASTER), and the scoreboard heartbeat.
 */
#ifndef PCM_CHILD_H
#define PCM_CHILD_H

#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "shm.h"

struct child_args {
	const char	*role;
	uint32_t	 gen;
	int		 slot;
	int		 sb;
	const char	*prefix;
	const char	*conf_name;
};

/* What a child does with the master's commands. */
struct child_ops {
	void		(*quit)(int shutdown);	/* drain; shutdown or reload */
	void		(*broker_fd)(int fd, int slot);	/* takes the fd */
	/* Any other message (the broker's plugin news), or NULL. */
	void		(*message)(uint32_t type, const char *buf, size_t len);
};

struct child_ctx {
	const struct child_args *args;
	const struct child_ops *ops;
	struct event	*master_ev;
	char		*buf;
	struct conf	*conf;
	struct shm	*shm;
	struct shm	*sess;		/* MCP sessions */
	struct event_base *base;
	struct event	*heartbeat;
};

/* Exits with status 2 (no respawn) when the snapshot cannot be used. */
void	 child_init(struct child_ctx *, const struct child_args *);
/* Die with the master: PDEATHSIG (after the uid change) and a check. */
void	 child_watch_parent(void);
void	 child_start_heartbeat(struct child_ctx *);
struct shm_sb *child_sb(struct child_ctx *);
void	 child_send_ready(struct child_ctx *);
/*
 * Serve the master channel: QUIT and BROKER_FD go to ops; TERM, EOF
 * (the master died) and a broken channel end the event loop.
 */
void	 child_listen_master(struct child_ctx *, const struct child_ops *);
void	 child_free(struct child_ctx *);

#endif
