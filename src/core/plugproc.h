/*
 * Cost-source plugin processes, owned by the master so they can outlive a
 * generation.  A broker asks for a plugin by key (a digest of what makes
 * the process: name, version, binary and its inode, size and mtime, user);
 * the master starts it, or hands over the process already running with
 * that key for another generation's broker.  A reload thus carries
 * unchanged plugins over and restarts changed ones, while the draining
 * generation's calls finish on the old process; a plugin is stopped when
 * the last broker using it is gone.  The master being the parent, a plugin
 * dies with it (PDEATHSIG), its output goes to the master's log and its
 * exit to every broker using it.  The command line (pulumicost-mcp plugin
 * ...) runs the same code in its own process, as its own "master".
 *
 * Messages (JSON payloads):
 *   broker -> master  MSG_PLUGIN_START {key, name, version, dir, binary, port}
 *                     MSG_PLUGIN_KILL  {key}            (a restart: SIGKILL)
 *   master -> broker  MSG_PLUGIN_UP    {key, pid, port, adopted} or {key, error}
 *                     MSG_PLUGIN_PORT  {key, port}      (it announced another)
 *                     MSG_PLUGIN_EXIT  {key, pid, exit}
 */
#ifndef PCM_PLUGPROC_H
#define PCM_PLUGPROC_H

#include <sys/types.h>

#include <event2/event.h>
#include <stdint.h>

struct conf;
struct json_object;

/* How the master reaches a broker: 0 sent, -1 gone. */
typedef int	(*plugproc_send_fn)(pid_t broker, uint32_t type, const char *json);

void	 plugproc_init(struct event_base *, plugproc_send_fn);
/* A new message of the protocol above: {"key": key}, to add to. */
struct json_object *plugproc_message(const char *key);
/* A broker's MSG_PLUGIN_START; c is its generation's configuration. */
void	 plugproc_start(pid_t broker, const struct conf *c, const char *json);
void	 plugproc_kill(pid_t broker, const char *json);
/* A broker exited: it uses nothing any more. */
void	 plugproc_broker_gone(pid_t broker);
/* From the master's SIGCHLD loop: 1 when pid was a plugin. */
int	 plugproc_reaped(pid_t pid, int status);
/* Plugin processes still running (a stop waits for them). */
size_t	 plugproc_count(void);
/* Stop every plugin (SIGTERM, SIGKILL after a grace, on the event loop). */
void	 plugproc_stop_all(void);
/*
 * The command line's plugins (plugproc in the caller's process): let go of
 * them as user and wait until they are gone, SIGKILL after grace_ms.
 */
void	 plugproc_stop_now(pid_t user, int64_t grace_ms);

#endif
