/*
 * One JSON text (RFC 8259) into json-c objects, strictly and fast.
 *
 * json-c's tokener is a byte-at-a-time state machine that copies every
 * string through a growing buffer; on the requests this server takes (a
 * 100 KB Pulumi preview inside a JSON string, then the preview itself) it
 * was most of the time of a call.  This parser scans strings eight bytes
 * at a time, copies a string once, and builds the same json-c values the
 * tokener builds (integers as int64, or uint64 past INT64_MAX, saturating
 * like json-c; other numbers as doubles that keep their text; a repeated
 * key keeps the last value), so everything downstream is unchanged.
 *
 * It is stricter than json-c's strict mode, as RFC 8259 is: no control
 * characters inside strings, no leading zeros ("01", "-01"), a digit after
 * a decimal point; text must be valid UTF-8 (RFC 3629).  An unpaired UTF-16
 * surrogate in a \u escape becomes U+FFFD, as json-c makes it.
 */
#ifndef PCM_JTEXT_H
#define PCM_JTEXT_H

#include <stddef.h>

#include <json-c/json.h>

#define JTEXT_MAX_DEPTH	64	/* nested arrays and objects */

struct jtext_error {
	int		 incomplete;	/* the text ended inside a value */
	size_t		 at;		/* the offending byte */
	const char	*what;		/* json-c's wording, where it has one */
};

/*
 * The value at buf (after any white space): 0 with *out (NULL for null)
 * and *used, the offset just past it; -1 with err.
 */
int	 jtext_parse(const char *buf, size_t len, int max_depth,
	    struct json_object **out, size_t *used, struct jtext_error *err);

/* The same checks without building anything: 0 with *used, or -1. */
int	 jtext_check(const char *buf, size_t len, int max_depth, size_t *used,
	    struct jtext_error *err);

/*
 * Whether strings may be decoded with AVX-512 (VBMI2) where the processor
 * has it, as they are unless told: 0 keeps to the SSE2 path, so tests can
 * hold the two to the same answers.  Returns 1 when the wide path is on.
 */
int	 jtext_wide(int allow);

#endif
