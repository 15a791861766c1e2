/*
 * Distributed tracing: W3C trace context in and out, spans as OTLP/JSON
 * span objects (observability.tracing and the standard OTEL_* variables).
 *
 * Workers and the broker build spans; a finished, sampled span goes to the
 * process's sink: in a worker, a message to the broker (workers have no
 * network); in the broker, the exporter's bounded queue (otlp.h).
 *
 * The "current" context carries a trace across asynchronous work in one
 * process: it is set while a request is dispatched, broker calls capture
 * it and restore it around their callbacks, and the broker sets it from
 * the worker's request while serving it.
 */
#ifndef PCM_TRACE_H
#define PCM_TRACE_H

#include <stdint.h>

#include <json-c/json.h>

struct conf;

struct trace_ctx {
	char		 trace_id[33];	/* lowercase hex; "" when none */
	char		 span_id[17];
	int		 sampled;
};

enum span_kind { SPAN_INTERNAL = 1, SPAN_SERVER = 2, SPAN_CLIENT = 3 };

struct span {
	struct trace_ctx ctx;		/* this span's */
	char		 parent[17];	/* "" for a root */
	char		 name[128];
	int		 kind;
	uint64_t	 start_ns;	/* wall clock */
	struct json_object *attrs;	/* OTLP attribute array, or NULL */
	int		 error;
	char		 message[256];
};

typedef void	(*span_sink)(struct json_object *span);

/*
 * Tracing settings from the configuration, then OTEL_SDK_DISABLED and
 * OTEL_TRACES_SAMPLER_ARG; sink gets each finished sampled span (owned).
 */
void	 trace_init(const struct conf *, span_sink);
int	 trace_enabled(void);
/* A new sampling decision for a trace that starts here. */
int	 trace_sample(void);

/* A W3C traceparent into ctx (trace id, the caller's span id, sampled): 0 or -1. */
int	 trace_parse(const char *traceparent, struct trace_ctx *ctx);
/* "00-trace-span-flags" into buf (56 bytes). */
void	 trace_format(const struct trace_ctx *, char *buf, size_t len);
void	 trace_random_hex(char *out, size_t bytes);

const struct trace_ctx *trace_current(void);	/* NULL when none */
void	 trace_set_current(const struct trace_ctx *);	/* copied; NULL clears */
/*
 * Make ctx current for a callback and put back what was current before
 * (callbacks may run inside another traced request's synchronous work).
 */
struct trace_saved {
	struct trace_ctx ctx;
	int		 had;
};
void	 trace_push(const struct trace_ctx *, struct trace_saved *);
void	 trace_pop(const struct trace_saved *);

/*
 * Start a span: a child of parent (which may be NULL or empty: a new
 * trace, sampled by trace_sample), with a new span id.
 */
void	 span_start(struct span *, const struct trace_ctx *parent, const char *name,
	    enum span_kind);
void	 span_attr_str(struct span *, const char *key, const char *value);
void	 span_attr_int(struct span *, const char *key, int64_t value);
void	 span_fail(struct span *, const char *message);
/* End it: to the sink when sampled and tracing is on; frees what it holds. */
void	 span_end(struct span *);

#endif
