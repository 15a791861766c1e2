/*
 * The broker: the only process that touches files (and, in later work,
 * plugins and the network) on behalf of the sandboxed workers.  Workers
 * talk to it over pre-connected SOCK_SEQPACKET channels with JSON frames:
 *   request  {"id":N,"method":"read_file","params":{"path":"...","max_bytes":N}}
 *   response {"id":N,"result":{...}} (+ an fd)  or  {"id":N,"error":{"code":"...","message":"..."}}
 */
#ifndef PCM_BROKER_H
#define PCM_BROKER_H

#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "../core/conf.h"

#define BROKER_DEFAULT_MAX_FILE	(64LL * 1024 * 1024)
#define BROKER_HARD_MAX_FILE	(1024LL * 1024 * 1024)

struct child_args;
int	 broker_main(const struct child_args *);

/*
 * Policy: may the broker hand out this file?  On success fills real
 * (resolved path).  On failure returns -1 and code/why.
 */
struct broker_roots;
struct broker_roots *broker_roots_new(const struct conf *);
void	 broker_roots_free(struct broker_roots *);
int	 broker_open_file(const struct broker_roots *, const char *path,
	    int64_t max_bytes, int64_t *size, const char **code,
	    char *why, size_t whylen);

/* --- the worker's side ---------------------------------------------------- */

struct broker_client;
/* result or error is set (borrowed); fd >= 0 is the caller's to close. */
typedef void (*broker_cb)(struct json_object *result,
    struct json_object *error, int fd, void *arg);

struct broker_client *broker_client_new(struct event_base *, int fd);
void	 broker_client_free(struct broker_client *);
void	 broker_client_set_fd(struct broker_client *, int fd);
int	 broker_client_connected(const struct broker_client *);
/* params is consumed.  The callback always runs, at most timeout_ms later. */
int	 broker_call(struct broker_client *, const char *method,
	    struct json_object *params, int64_t timeout_ms, broker_cb, void *arg);
/* A message that wants no answer (finished spans): 0, or -1 if unsent. */
int	 broker_notify(struct broker_client *, const char *method,
	    struct json_object *params);

#endif
