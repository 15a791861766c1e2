/*
 * JSON-RPC 2.0 framing (json-c): parse with UTF-8 validation, classify a
 * message as request, notification or response, and build responses.
 * Ids keep their JSON type (0 and "0" are different ids).
 */
#ifndef PCM_JSONRPC_H
#define PCM_JSONRPC_H

#include <stddef.h>

#include <json-c/json.h>

#define RPC_PARSE_ERROR		-32700
#define RPC_INVALID_REQUEST	-32600
#define RPC_METHOD_NOT_FOUND	-32601
#define RPC_INVALID_PARAMS	-32602
#define RPC_INTERNAL_ERROR	-32603

enum rpc_kind { RPC_REQUEST, RPC_NOTIFICATION, RPC_RESPONSE };

struct rpc_msg {
	enum rpc_kind		 kind;
	struct json_object	*obj;		/* the whole message (borrowed) */
	struct json_object	*id;		/* NULL for notifications */
	const char		*method;	/* requests and notifications */
	struct json_object	*params;	/* object or array; may be NULL */
};

/*
 * Parse one JSON text.  Returns the value (owned by the caller) or NULL
 * with why set: invalid JSON, invalid UTF-8, trailing data.
 */
struct json_object *rpc_parse(const char *buf, size_t len, char *why,
		    size_t whylen);
/* Classify one message.  -1 with code/why when it is not valid JSON-RPC. */
int		 rpc_classify(struct json_object *, struct rpc_msg *, int *code,
		    char *why, size_t whylen);

struct json_object *rpc_result(struct json_object *id, struct json_object *result);
struct json_object *rpc_error(struct json_object *id, int code, const char *msg,
		    struct json_object *data);
struct json_object *rpc_notification(const char *method,
		    struct json_object *params);
const char	*rpc_string(struct json_object *);	/* compact, no slash escapes */
const char	*rpc_string_len(struct json_object *, size_t *);	/* and its length */

#endif
