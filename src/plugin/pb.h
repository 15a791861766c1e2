/*
 * A small protocol-buffers codec driven by tables: a message is a list of
 * fields (number, JSON name, type), and values travel as json-c objects
 * in the protojson shapes (snake_case names, enums by name, Timestamp as
 * RFC 3339, Struct as a JSON object, maps as objects).  Decoding is bounds
 * checked, skips unknown fields as the wire format requires, and limits
 * nesting, so a plugin's garbage is an error, never a crash.
 */
#ifndef PCM_PB_H
#define PCM_PB_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

enum pb_type {
	PB_STRING, PB_BYTES, PB_DOUBLE, PB_FLOAT, PB_BOOL, PB_INT32, PB_INT64,
	PB_UINT32, PB_UINT64, PB_ENUM, PB_MESSAGE,
	PB_MAP_SS,		/* map<string, string> */
	PB_MAP_SB,		/* map<string, bool> */
	PB_MAP_SM,		/* map<string, MESSAGE> */
	PB_TIMESTAMP,		/* google.protobuf.Timestamp */
	PB_STRUCT		/* google.protobuf.Struct */
};

struct pb_msg;

struct pb_field {
	uint32_t		 num;
	const char		*name;
	enum pb_type		 type;
	int			 repeated;
	const struct pb_msg	*msg;		/* PB_MESSAGE, PB_MAP_SM */
	const char *const	*enums;		/* PB_ENUM: names by value, NULL-ended */
};

struct pb_msg {
	const char		*name;
	const struct pb_field	*fields;
	size_t			 nfields;
};

#define PB_MSG(var, name, fields) \
	const struct pb_msg var = { name, fields, sizeof(fields) / sizeof(fields[0]) }

struct pb_buf {
	uint8_t		*p;
	size_t		 len, cap;
};

void	 pb_buf_free(struct pb_buf *);
/*
 * Encode in (an object; members not in the table are an error, so a typo
 * is caught) and append to out.  -1 with why ("field.sub: reason").
 */
int	 pb_encode(const struct pb_msg *, struct json_object *in, struct pb_buf *out,
	    char *why, size_t whylen);
/* A new object, or NULL with why. */
struct json_object *pb_decode(const struct pb_msg *, const uint8_t *p, size_t len,
	    char *why, size_t whylen);

/* The wire primitives, for gRPC framing and tests. */
int	 pb_put_varint(struct pb_buf *, uint64_t);
int	 pb_put_bytes(struct pb_buf *, const void *, size_t);

#endif
