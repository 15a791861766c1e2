/*
 * The metrics segment and the Prometheus exposition (text format 0.0.4).
 *
 * A series is claimed once, lock-free: a free slot goes 0 -> 1 (claimed,
 * being written) -> 2 (ready) by compare-and-swap, and is never freed, so
 * readers need no lock and a counter's value only grows.  Lookups probe
 * linearly from the hash of family and labels.  A process that dies
 * between 1 and 2 leaves a slot nobody uses: a lost slot, never a hang
 * (waiters give up after a bounded spin).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json_c_version.h>
#include <openssl/crypto.h>

#include "metrics.h"
#include "util.h"

#define METRICS_MAGIC	0x3153434952544d50ULL	/* "PMTRICS1" */
#define METRICS_VERSION	1
#define MAX_SERIES	4096
#define LABELS_MAX	216
#define VALUES_MAX	16
#define SPIN_MAX	(1 << 20)
#define SUM_SCALE	1e6	/* histogram sums are kept in millionths */

enum { S_FREE, S_CLAIMED, S_READY };
enum { T_COUNTER, T_GAUGE, T_HISTOGRAM };

struct series {
	_Atomic uint32_t	 state;
	uint16_t		 family;
	uint16_t		 pad;
	_Atomic int32_t		 owner;		/* gauges: the writer's pid */
	uint32_t		 hash;
	char			 labels[LABELS_MAX];
	_Atomic uint64_t	 v[VALUES_MAX];
};

struct mhdr {
	uint64_t		 magic;
	uint32_t		 version;
	uint32_t		 nseries;
	int64_t			 start_ms;	/* the master's start, wall clock */
	_Atomic uint64_t	 dropped;	/* updates lost to a full table */
	struct series		 s[];
};

static const double seconds_le[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static const double count_le[] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static const struct family {
	const char	*name;
	const char	*help;
	int		 type;
	const double	*le;
	int		 nle;
} families[MET_NFAMILIES] = {
	[MET_HTTP_REQUESTS] = { "http_requests_total",
	    "HTTP requests answered, by method, route and status.", T_COUNTER, NULL, 0 },
	[MET_HTTP_DURATION] = { "http_request_duration_seconds",
	    "HTTP request latency, from the request line to the last byte queued.",
	    T_HISTOGRAM, seconds_le, (int)nitems(seconds_le) },
	[MET_REQUESTS] = { "pulumicost_requests_total",
	    "MCP and JSON-RPC requests answered, by transport, method and tool.",
	    T_COUNTER, NULL, 0 },
	[MET_REQUEST_DURATION] = { "pulumicost_request_duration_seconds",
	    "MCP request latency, from dispatch to the response.",
	    T_HISTOGRAM, seconds_le, (int)nitems(seconds_le) },
	[MET_ERRORS] = { "pulumicost_errors_total",
	    "Requests answered with an error: JSON-RPC errors by kind, and tool"
	    " errors (isError).", T_COUNTER, NULL, 0 },
	[MET_COST_QUERIES] = { "pulumicost_cost_queries_total",
	    "Calls of the cost tools, by tool and result.", T_COUNTER, NULL, 0 },
	[MET_RESOURCES_ANALYZED] = { "pulumicost_resources_analyzed",
	    "Resources in each analysis, by tool.", T_HISTOGRAM, count_le,
	    (int)nitems(count_le) },
	[MET_PLUGIN_CALLS] = { "pulumicost_plugin_calls_total",
	    "gRPC calls to cost-source plugins, by plugin, RPC and status code.",
	    T_COUNTER, NULL, 0 },
	[MET_PLUGIN_LATENCY] = { "pulumicost_plugin_latency_seconds",
	    "gRPC call latency to cost-source plugins.", T_HISTOGRAM,
	    seconds_le, (int)nitems(seconds_le) },
	[MET_PLUGIN_HEALTH] = { "pulumicost_plugin_health",
	    "1 while a plugin answers its health checks, 0 when it does not.",
	    T_GAUGE, NULL, 0 },
	[MET_PLUGIN_RESTARTS] = { "pulumicost_plugin_restarts_total",
	    "Plugin processes restarted after they ended or stopped answering.",
	    T_COUNTER, NULL, 0 },
	[MET_PLUGIN_CACHE] = { "pulumicost_plugin_cache_requests_total",
	    "Plugin answers looked up in the broker's cache: hit or miss.",
	    T_COUNTER, NULL, 0 },
	[MET_TRACE_SPANS] = { "pulumicost_trace_spans_total",
	    "Spans handed to the OTLP exporter: exported, dropped (queue full or"
	    " shutting down) or failed (refused by the collector).", T_COUNTER, NULL, 0 },
};

static struct mhdr	*M;
static size_t		 msize;

static size_t
segment_size(void)
{
	return sizeof(struct mhdr) + MAX_SERIES * sizeof(struct series);
}

int
metrics_create(char *err, size_t errlen)
{
	size_t size = segment_size();
	struct mhdr *h;
	int fd;

	fd = memfd_create("pulumicost-mcp-metrics", MFD_CLOEXEC);
	if (fd == -1 || ftruncate(fd, (off_t)size) == -1) {
		errorf(err, errlen, "metrics segment: memfd: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		errorf(err, errlen, "metrics segment: mmap %zu bytes: %s", size,
		    strerror(errno));
		close(fd);
		return -1;
	}
	h->version = METRICS_VERSION;
	h->nseries = MAX_SERIES;
	h->start_ms = wall_ms();
	h->magic = METRICS_MAGIC;
	munmap(h, size);
	return fd;
}

int
metrics_attach(int fd, char *err, size_t errlen)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1)
		return errorf(err, errlen, "metrics fd %d: %s", fd, strerror(errno));
	if ((size_t)st.st_size != segment_size())
		return errorf(err, errlen, "metrics segment: %lld bytes, expected %zu",
		    (long long)st.st_size, segment_size());
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return errorf(err, errlen, "metrics segment: mmap: %s", strerror(errno));
	if (((struct mhdr *)p)->magic != METRICS_MAGIC ||
	    ((struct mhdr *)p)->version != METRICS_VERSION ||
	    ((struct mhdr *)p)->nseries != MAX_SERIES) {
		munmap(p, (size_t)st.st_size);
		return errorf(err, errlen, "metrics segment has the wrong layout");
	}
	M = p;
	msize = (size_t)st.st_size;
	return 0;
}

/* --- series --------------------------------------------------------------- */

static uint32_t
series_hash(enum metric f, const char *labels)
{
	uint32_t h = 2166136261u ^ (uint32_t)f;
	const unsigned char *p;

	for (p = (const unsigned char *)labels; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

static int
series_is(struct series *s, enum metric f, uint32_t h, const char *labels)
{
	uint32_t st;
	int spin;

	for (spin = 0; (st = atomic_load(&s->state)) == S_CLAIMED &&
	    spin < SPIN_MAX; spin++)
		;	/* another process is writing the key: a few stores */
	return st == S_READY && s->hash == h && s->family == (uint16_t)f &&
	    strcmp(s->labels, labels) == 0;
}

/* The series for family and labels, claimed when new; NULL when full. */
static struct series *
series_get(enum metric f, const char *labels)
{
	uint32_t h = series_hash(f, labels), want;
	struct series *s;
	size_t i, n;

	if (M == NULL || strlen(labels) >= LABELS_MAX)
		return NULL;
	for (n = 0, i = h % MAX_SERIES; n < MAX_SERIES; n++, i = (i + 1) % MAX_SERIES) {
		s = &M->s[i];
		want = S_FREE;
		if (atomic_load(&s->state) == S_FREE &&
		    atomic_compare_exchange_strong(&s->state, &want, S_CLAIMED)) {
			s->family = (uint16_t)f;
			s->hash = h;
			strlcpy_(s->labels, labels, sizeof(s->labels));
			atomic_store(&s->state, S_READY);
			return s;
		}
		if (series_is(s, f, h, labels))
			return s;
	}
	atomic_fetch_add(&M->dropped, 1);
	return NULL;
}

void
metrics_add(enum metric f, const char *labels, uint64_t n)
{
	struct series *s = series_get(f, labels);

	if (s != NULL)
		atomic_fetch_add(&s->v[0], n);
}

void
metrics_observe(enum metric f, const char *labels, double value)
{
	const struct family *fa = &families[f];
	struct series *s;
	int i;

	if (M == NULL || !isfinite(value) || value < 0 ||
	    (s = series_get(f, labels)) == NULL)
		return;
	for (i = 0; i < fa->nle && value > fa->le[i]; i++)
		;
	atomic_fetch_add(&s->v[i], 1);		/* i == nle: above every bound */
	atomic_fetch_add(&s->v[fa->nle + 1], 1);
	atomic_fetch_add(&s->v[fa->nle + 2], (uint64_t)llround(value * SUM_SCALE));
}

void
metrics_set(enum metric f, const char *labels, double value)
{
	struct series *s = series_get(f, labels);
	uint64_t bits;

	if (s == NULL)
		return;
	memcpy(&bits, &value, sizeof(bits));
	atomic_store(&s->v[0], bits);
	atomic_store(&s->owner, (int32_t)getpid());
}

char *
metrics_labels(char *buf, size_t len, ...)
{
	const char *name, *v;
	size_t o = 0;
	va_list ap;

	buf[0] = '\0';
	va_start(ap, len);
	while ((name = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			v = "";
		if (o + strlen(name) + 4 >= len)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s%s=\"", o ? "," : "", name);
		for (; *v && o + 4 < len; v++) {
			if (*v == '\\' || *v == '"')
				buf[o++] = '\\', buf[o++] = *v;
			else if (*v == '\n')
				buf[o++] = '\\', buf[o++] = 'n';
			else
				buf[o++] = *v;
		}
		buf[o++] = '"';
		buf[o] = '\0';
	}
	va_end(ap);
	return buf;
}

/* --- exposition ----------------------------------------------------------- */

struct page {
	FILE		*f;
	struct shm_hdr	*sb;		/* the scoreboard, for liveness */
};

static void
family_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
print_sum(FILE *f, uint64_t millionths)
{
	fprintf(f, "%llu.%06llu", (unsigned long long)(millionths / 1000000),
	    (unsigned long long)(millionths % 1000000));
}

/* A histogram's name without its unit suffix is the family; the samples. */
static void
render_histogram(FILE *f, const struct family *fa, const struct series *s)
{
	const char *sep = s->labels[0] ? "," : "";
	uint64_t cum = 0;
	int i;

	for (i = 0; i < fa->nle; i++) {
		cum += atomic_load(&s->v[i]);
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", fa->name, s->labels, sep,
		    fa->le[i], (unsigned long long)cum);
	}
	/*
	 * Updates land one value at a time: the +Inf bucket is the count
	 * read once, so buckets stay cumulative and +Inf equals _count.
	 */
	cum += atomic_load(&s->v[fa->nle]);
	{
		uint64_t count = atomic_load(&s->v[fa->nle + 1]);

		if (count < cum)
			count = cum;
		fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", fa->name, s->labels,
		    sep, (unsigned long long)count);
		fprintf(f, "%s_sum%s%s%s ", fa->name, s->labels[0] ? "{" : "",
		    s->labels, s->labels[0] ? "}" : "");
		print_sum(f, atomic_load(&s->v[fa->nle + 2]));
		fprintf(f, "\n%s_count%s%s%s %llu\n", fa->name, s->labels[0] ? "{" : "",
		    s->labels, s->labels[0] ? "}" : "", (unsigned long long)count);
	}
}

static int
pid_alive(const struct shm_hdr *h, int32_t pid)
{
	int i;

	for (i = 0; pid > 0 && i < SHM_MAX_SLOTS; i++)
		if (atomic_load(&h->sb[i].pid) == pid)
			return 1;
	return 0;
}

static void
render_sample(FILE *f, const struct family *fa, const struct series *s)
{
	const char *o = s->labels[0] ? "{" : "", *c = s->labels[0] ? "}" : "";
	uint64_t bits;
	double d;

	if (fa->type == T_HISTOGRAM) {
		render_histogram(f, fa, s);
		return;
	}
	if (fa->type == T_COUNTER) {
		fprintf(f, "%s%s%s%s %llu\n", fa->name, o, s->labels, c,
		    (unsigned long long)atomic_load(&s->v[0]));
		return;
	}
	bits = atomic_load(&s->v[0]);
	memcpy(&d, &bits, sizeof(d));
	fprintf(f, "%s%s%s%s %.17g\n", fa->name, o, s->labels, c, d);
}

static int
cmp_series(const void *a, const void *b)
{
	const struct series *x = *(const struct series *const *)a;
	const struct series *y = *(const struct series *const *)b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return strcmp(x->labels, y->labels);
}

static void
render_series(struct page *p)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct series **v;
	const struct family *fa;
	size_t i, n = 0;
	int f;

	if (M == NULL || (v = calloc(MAX_SERIES, sizeof(*v))) == NULL)
		return;
	for (i = 0; i < MAX_SERIES; i++)
		if (atomic_load(&M->s[i].state) == S_READY &&
		    M->s[i].family < MET_NFAMILIES)
			v[n++] = &M->s[i];
	qsort(v, n, sizeof(*v), cmp_series);
	for (f = 0, i = 0; f < MET_NFAMILIES; f++) {
		fa = &families[f];
		family_head(p->f, fa->name, types[fa->type], fa->help);
		for (; i < n && v[i]->family == f; i++)
			if (fa->type != T_GAUGE || pid_alive(p->sb,
			    atomic_load(&v[i]->owner)))
				render_sample(p->f, fa, v[i]);
	}
	free(v);
}

static void
counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	family_head(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge(FILE *f, const char *name, const char *help, double v)
{
	family_head(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

/* What the scoreboard says: processes, connections, generations. */
static void
render_server(struct page *p)
{
	struct shm_hdr *h = p->sb;
	uint64_t conns = 0, serving = 0, draining = 0, brokers = 0;
	uint32_t gen = 0;
	int i;

	for (i = 0; i < SHM_MAX_SLOTS; i++) {
		struct shm_sb *s = &h->sb[i];

		if (atomic_load(&s->pid) <= 0)
			continue;
		if (s->role == 2) {
			brokers++;
			continue;
		}
		conns += atomic_load(&s->connections);
		if (atomic_load(&s->draining))
			draining++;
		else {
			serving++;
			if (s->gen > gen)
				gen = s->gen;
		}
	}
	gauge(p->f, "pulumicost_active_connections", "Open client connections,"
	    " over all workers of all generations.", (double)conns);
	family_head(p->f, "pulumicost_workers", "gauge",
	    "Worker processes running, serving or draining after a reload.");
	fprintf(p->f, "pulumicost_workers{state=\"serving\"} %llu\n"
	    "pulumicost_workers{state=\"draining\"} %llu\n",
	    (unsigned long long)serving, (unsigned long long)draining);
	gauge(p->f, "pulumicost_brokers", "Broker processes running (one per"
	    " generation still alive).", (double)brokers);
	gauge(p->f, "pulumicost_generation", "The configuration generation"
	    " workers serve: 1 at start, one more per successful reload.", gen);
	counter(p->f, "pulumicost_reloads_total", "Configuration reloads that"
	    " took effect.", atomic_load(&h->stats[ST_RELOADS]));
	counter(p->f, "pulumicost_reload_failures_total", "Reloads refused (the"
	    " old configuration kept serving).", atomic_load(&h->stats[ST_RELOAD_FAILURES]));
	counter(p->f, "pulumicost_worker_restarts_total", "Worker and broker"
	    " processes respawned after they died.",
	    atomic_load(&h->stats[ST_WORKER_RESTARTS]));
	counter(p->f, "pulumicost_seccomp_violations_total", "Processes killed"
	    " for a system call the sandbox does not allow.",
	    atomic_load(&h->stats[ST_SECCOMP_VIOLATIONS]));
}

static void
render_cache(struct page *p)
{
	struct shm_hdr *h = p->sb;
	uint64_t hits = atomic_load(&h->stats[ST_HITS]);
	uint64_t misses = atomic_load(&h->stats[ST_MISSES]);

	counter(p->f, "pulumicost_cache_hits_total", "Lookups answered from the"
	    " shared cost cache.", hits);
	counter(p->f, "pulumicost_cache_requests_total", "Lookups in the shared"
	    " cost cache, hits and misses.", hits + misses);
	counter(p->f, "pulumicost_cache_inserts_total", "Entries stored in the"
	    " shared cost cache.", atomic_load(&h->stats[ST_INSERTS]));
	family_head(p->f, "pulumicost_cache_evictions_total", "counter",
	    "Entries removed from the shared cost cache: to make room, or past"
	    " their time to live.");
	fprintf(p->f, "pulumicost_cache_evictions_total{reason=\"capacity\"} %llu\n"
	    "pulumicost_cache_evictions_total{reason=\"expired\"} %llu\n",
	    (unsigned long long)atomic_load(&h->stats[ST_EVICTIONS]),
	    (unsigned long long)atomic_load(&h->stats[ST_EXPIRED]));
	counter(p->f, "pulumicost_cache_recoveries_total", "Cache shards wiped"
	    " because a process died holding their lock.",
	    atomic_load(&h->stats[ST_RECOVERIES]));
}

static void
render_build(struct page *p)
{
	char l[512];

	family_head(p->f, "pulumicost_build_info", "gauge", "Always 1: the"
	    " version of the server and of the libraries it runs with.");
	fprintf(p->f, "pulumicost_build_info{%s} 1\n", metrics_labels(l, sizeof(l),
	    "version", PACKAGE_VERSION, "libevent", event_get_version(),
	    "openssl", OpenSSL_version(OPENSSL_VERSION_STRING),
	    "json_c", json_c_version(), NULL));
	gauge(p->f, "pulumicost_start_time_seconds", "When the master started,"
	    " in seconds since the epoch.", M ? (double)(M->start_ms / 1000) : 0);
	counter(p->f, "pulumicost_metrics_dropped_total", "Metric updates lost"
	    " because the series table was full.", M ? atomic_load(&M->dropped) : 0);
}

char *
metrics_render(struct shm *cache, size_t *len)
{
	struct page p;
	char *buf = NULL;

	p.sb = shm_hdr(cache);
	if ((p.f = open_memstream(&buf, len)) == NULL)
		return NULL;
	render_series(&p);
	render_server(&p);
	render_cache(&p);
	render_build(&p);
	if (fclose(p.f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
