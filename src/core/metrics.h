/*
 * Prometheus metrics, summed over every process of every generation.
 *
 * The master makes one segment (a memfd) at start and keeps it until it
 * exits; every worker and broker maps it at FD_METRICS.  It holds a table
 * of series: a family, its label set and its values, each value an atomic
 * integer that any process adds to.  Because the segment outlives
 * generations and worker processes, no reload or restart makes a counter
 * go backwards.  Gauges of one process (a plugin's health, written by the
 * broker) carry their writer's pid, and are shown only while that process
 * is alive in the scoreboard.
 *
 * Label values are fixed sets chosen by the caller (routes, methods, tool
 * and plugin names), never request data: the series table is bounded.
 * Before metrics_attach, and in processes that never attach (the CLI),
 * every update is a no-op.
 */
#ifndef PCM_METRICS_H
#define PCM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "shm.h"

enum metric {
	MET_HTTP_REQUESTS,		/* counter {method,path,status} */
	MET_HTTP_DURATION,		/* histogram {method,path} */
	MET_REQUESTS,			/* counter {transport,method,tool} */
	MET_REQUEST_DURATION,		/* histogram {method,tool} */
	MET_ERRORS,			/* counter {transport,type} */
	MET_COST_QUERIES,		/* counter {tool,result} */
	MET_RESOURCES_ANALYZED,		/* histogram {tool} */
	MET_PLUGIN_CALLS,		/* counter {plugin,rpc,code} */
	MET_PLUGIN_LATENCY,		/* histogram {plugin,rpc} */
	MET_PLUGIN_HEALTH,		/* gauge {plugin}, per broker */
	MET_PLUGIN_RESTARTS,		/* counter {plugin} */
	MET_TRACE_SPANS,		/* counter {result} */
	MET_PLUGIN_CACHE,		/* counter {plugin,result} */
	MET_NFAMILIES
};

/* Master: make the segment; its fd, or -1 with err set. */
int	 metrics_create(char *err, size_t errlen);
/* Child: map the segment at fd: 0, or -1 with err set. */
int	 metrics_attach(int fd, char *err, size_t errlen);

/*
 * labels: a formatted label set, `a="x",b="y"`, made with metrics_labels
 * (which escapes values); "" for none.
 */
void	 metrics_add(enum metric, const char *labels, uint64_t n);
void	 metrics_observe(enum metric, const char *labels, double value);
void	 metrics_set(enum metric, const char *labels, double value);

/*
 * Format labels from NULL-terminated name/value pairs into buf, escaping
 * values as the text format wants (\\, \", \n).  Returns buf.
 */
char	*metrics_labels(char *buf, size_t len, ...);

/*
 * The exposition page, text format 0.0.4, for the scoreboard and cache
 * counters of cache and the series of the segment: malloc'd, with *len.
 */
char	*metrics_render(struct shm *cache, size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
