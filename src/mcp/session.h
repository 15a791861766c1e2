/*
 * MCP sessions of the Streamable HTTP transport, kept in the shared
 * sessions segment so that any worker of any generation serves any
 * session.  A session idle for mcp.session_timeout expires.
 */
#ifndef PCM_SESSION_H
#define PCM_SESSION_H

#include "../core/shm.h"
#include "mcp.h"

#define SESSION_ID_LEN	32	/* hex characters: visible ASCII */

/* New id in id[SESSION_ID_LEN + 1], stored with the session's state. */
int	 session_create(struct shm *, const struct mcp_session *, int64_t ttl_ms,
	    char *id);
/* 1 found (and its idle timer restarted), 0 unknown or expired, -1 error. */
int	 session_load(struct shm *, const char *id, struct mcp_session *,
	    int64_t ttl_ms);
int	 session_store(struct shm *, const char *id, const struct mcp_session *,
	    int64_t ttl_ms);
/* 1 deleted, 0 unknown. */
int	 session_delete(struct shm *, const char *id);
int	 session_id_valid(const char *);

#endif
