/*
 * A gRPC client for unary calls over HTTP/2 cleartext (nghttp2 on a
 * libevent bufferevent): one connection per plugin, calls multiplexed as
 * streams, a deadline per call (grpc-timeout sent, the stream reset when
 * it passes), the status from grpc-status / grpc-message and the details
 * from grpc-status-details-bin.  Whatever the peer does, every call's
 * callback runs exactly once.
 */
#ifndef PCM_GRPC_H
#define PCM_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/* The gRPC status codes. */
enum grpc_code {
	GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9, GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13, GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16
};

#define GRPC_MAX_MESSAGE	(16 * 1024 * 1024)

struct grpc_conn;

/*
 * The end of a call: status, message (never NULL), the response message
 * (OK only) and the raw grpc-status-details-bin (a google.rpc.Status),
 * all borrowed for the callback's duration.
 */
typedef void (*grpc_cb)(int status, const char *message, const uint8_t *resp,
    size_t resplen, const uint8_t *details, size_t detailslen, void *arg);
/* The connection went away (after failing its calls). */
typedef void (*grpc_close_cb)(struct grpc_conn *, const char *why, void *arg);

struct grpc_conn *grpc_connect(struct event_base *, const char *host, int port,
	    grpc_close_cb, void *arg);
/* Fails the calls in flight with UNAVAILABLE and closes. */
void	 grpc_close(struct grpc_conn *);
int	 grpc_conn_alive(const struct grpc_conn *);
/* Did the TCP connection ever open?  (No: nobody listens there yet.) */
int	 grpc_conn_connected(const struct grpc_conn *);
/*
 * A unary call: path "/finfocus.v1.CostSourceService/Name", the encoded
 * request.  -1 when the call cannot start (the callback does not run).
 */
int	 grpc_call(struct grpc_conn *, const char *path, const uint8_t *req,
	    size_t reqlen, int64_t timeout_ms, grpc_cb, void *arg);
const char *grpc_code_name(int);

#endif
