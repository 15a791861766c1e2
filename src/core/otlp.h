/*
 * The OTLP/HTTP trace exporter, run by the broker (the process with the
 * network): finished spans from every worker and from the broker itself
 * wait in a bounded queue and are POSTed as OTLP/JSON in batches on a
 * timer.  A full queue drops spans, counted; an export that fails is
 * retried on 429/502/503/504 (honouring Retry-After), dropped otherwise;
 * nothing ever waits for the collector.
 *
 * Endpoint: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces", else
 * observability.tracing.endpoint.  OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE are honoured.
 */
#ifndef PCM_OTLP_H
#define PCM_OTLP_H

#include <event2/event.h>
#include <json-c/json.h>

struct conf;

/* 0, or -1 with why (a bad endpoint URL). */
int	 otlp_start(struct event_base *, const struct conf *, char *err, size_t errlen);
/* Queue a span (owned): dropped and counted when the queue is full. */
void	 otlp_enqueue(struct json_object *span);
/* Stop (the broker is leaving): spans still queued are dropped, counted. */
void	 otlp_stop(void);

#endif
