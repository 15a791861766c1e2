/*
 * The MCP method table and the lifecycle rules of revisions 2024-11-05 to
 * 2025-11-25.  Transports (HTTP /mcp and /rpc, the stream protocol) parse
 * and classify messages, then call mcp_dispatch; everything here is
 * independent of how bytes travel.
 */
#include "config.h"

#include <sys/random.h>

#include <sys/queue.h>

#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/shm.h"
#include "../core/util.h"
#include "conformance.h"
#include "mcp.h"
#include "state.h"
#include "tools.h"

static int conformance_on;
static struct {
	struct shm	*shm;
	uint32_t	 gen;
	int		 enabled;
	int64_t		 ttl, ttl_named;
	EVP_MAC_CTX	*mac;		/* keyed, copied for each key */
} cache;
static struct event_base *ev_base;
static struct shm *replies;
static size_t page_size = 100;

void
mcp_set_page_size(size_t n)
{
	page_size = n > 0 ? n : 1;
}

void
mcp_init(struct event_base *base, struct shm *sessions)
{
	ev_base = base;
	replies = sessions;
	if (sessions != NULL)
		state_init(shm_hdr(sessions)->secret);
}

/*
 * The answer cache's keys are a MAC of the arguments, Poly1305 under the
 * cache segment's own random 32-byte secret, which no client sees: without
 * it, arguments that collide cannot be found (Poly1305 is a universal hash
 * over its key r: two texts of at most L bytes collide for at most
 * 8 * ceil(L/16) / 2^106 of the keys), so one client cannot plant an answer
 * for another's arguments.  It is a one-time MAC, and here its key serves
 * every entry: that is safe because the MACs never leave the server's
 * processes (a seen tag would tell of the key).  With AVX-512 it takes
 * 100 KB in 8 us, GMAC in 12, SHA-256 in 55.  Made here, before the
 * sandbox, and copied for each key.
 */
static EVP_MAC_CTX *
cache_mac_new(struct shm *s)
{
	struct shm_hdr *h = shm_hdr(s);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac);
	if (c != NULL && EVP_MAC_init(c, h->secret, sizeof(h->secret), NULL) != 1) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

void
mcp_set_cache(struct shm *s, uint32_t gen, int enabled, int64_t ttl,
    int64_t ttl_named)
{
	cache.shm = s;
	cache.gen = gen;
	EVP_MAC_CTX_free(cache.mac);
	cache.mac = s != NULL ? cache_mac_new(s) : NULL;
	if (enabled && s != NULL && cache.mac == NULL)
		logmsg(LOG_ERROR, "answer cache off: Poly1305 is not available");
	cache.enabled = enabled && cache.mac != NULL;
	cache.ttl = ttl;
	cache.ttl_named = ttl_named;
}

void
mcp_set_conformance(int on)
{
	conformance_on = on;
}

int
mcp_conformance(void)
{
	return conformance_on;
}

static const char *const versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL
};

/* RFC 5424 levels, as MCP names them, lowest first. */
static const char *const mcp_levels[] = {
	"debug", "info", "notice", "warning", "error", "critical", "alert",
	"emergency", NULL
};

struct tool_call {
	TAILQ_ENTRY(tool_call)	 entry;		/* calls in flight */
	struct mcp_session	*session;
	struct json_object	*id;
	struct json_object	*progress_token;
	struct mcp_io		 io;
	double			 last_progress;
	int			 sent_progress;
	int			 cancelled;
	const struct tool	*tool;
	struct json_object	*args;		/* kept for the next round */
	struct json_object	*inputs;	/* the client's answers, by key */
	struct json_object	*wanted;	/* this round's input requests */
	char			*state;		/* the handler's, from the last round */
	char			*ask_error;	/* why a round of asking failed */
	int			 rounds;	/* of input */
	char			*cache_key;	/* store the answer here */
	int64_t			 cache_ttl;
	int			 asking;	/* requests of this round unsettled */
	/* For the call's log line (the seed's fields). */
	uint64_t		 t0_us;
	char			 request_id[72];
	char			 user[64];
	char			 stack[128];
	int64_t			 resources;	/* -1: none analysed */
};

TAILQ_HEAD(callq, tool_call);
static struct callq inflight = TAILQ_HEAD_INITIALIZER(inflight);

int
mcp_version_supported(const char *v)
{
	size_t i;

	for (i = 0; versions[i] != NULL; i++)
		if (strcmp(v, versions[i]) == 0)
			return 1;
	return 0;
}

const char *
mcp_supported_list(void)
{
	return "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05";
}

void
mcp_session_init(struct mcp_session *s)
{
	memset(s, 0, sizeof(*s));
	s->log_level = -1;
}

static void
respond(const struct mcp_io *io, struct json_object *resp)
{
	if (io->respond != NULL)
		io->respond(io->arg, resp);
	else
		json_object_put(resp);
}

static int	reply_error(const struct rpc_msg *, const struct mcp_io *, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

static int
reply_error(const struct rpc_msg *m, const struct mcp_io *io, int code,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	respond(io, rpc_error(m->id, code, msg, NULL));
	return 1;
}

static struct json_object *
param(const struct rpc_msg *m, const char *key)
{
	struct json_object *v = NULL;

	if (m->params == NULL || !json_object_is_type(m->params, json_type_object))
		return NULL;
	json_object_object_get_ex(m->params, key, &v);
	return v;
}

/* --- lifecycle ------------------------------------------------------------ */

static struct json_object *
server_capabilities_for(int modern)
{
	struct json_object *c = json_object_new_object(), *t;

	t = json_object_new_object();
	json_object_object_add(t, "listChanged", json_object_new_boolean(0));
	json_object_object_add(c, "tools", t);
	json_object_object_add(c, "logging", json_object_new_object());
	if (conformance_on)
		conformance_capabilities(c, modern);
	return c;
}

static struct json_object *
server_capabilities(void)
{
	return server_capabilities_for(0);
}

static int
do_initialize(struct mcp_session *s, enum mcp_mode mode,
    const struct rpc_msg *m, const struct mcp_io *io)
{
	struct json_object *v = param(m, "protocolVersion"), *r, *info, *ci, *n;
	const char *want, *got;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return reply_error(m, io, RPC_INVALID_PARAMS,
		    "initialize needs params.protocolVersion (a string)");
	if (mode == MCP_STATEFUL && s->initialized)
		return reply_error(m, io, RPC_INVALID_REQUEST,
		    "the session is already initialized");
	/* The requested version if we speak it, otherwise our latest. */
	want = json_object_get_string(v);
	got = mcp_version_supported(want) ? want : MCP_LATEST_VERSION;
	strlcpy_(s->version, got, sizeof(s->version));
	s->initialized = 1;
	s->client_caps = mcp_client_caps(param(m, "capabilities"));
	if ((ci = param(m, "clientInfo")) != NULL &&
	    json_object_object_get_ex(ci, "name", &n) &&
	    json_object_is_type(n, json_type_string))
		strlcpy_(s->client, json_object_get_string(n), sizeof(s->client));

	r = json_object_new_object();
	json_object_object_add(r, "protocolVersion", json_object_new_string(got));
	json_object_object_add(r, "capabilities", server_capabilities());
	info = json_object_new_object();
	json_object_object_add(info, "name", json_object_new_string(PCM_NAME));
	json_object_object_add(info, "title", json_object_new_string("PulumiCost MCP Server"));
	json_object_object_add(info, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(r, "serverInfo", info);
	json_object_object_add(r, "instructions", json_object_new_string(
	    "Cloud cost answers for Pulumi infrastructure. Call tools/list to see"
	    " the cost tools this server offers; every figure is computed from"
	    " real inputs, and what cannot be priced is reported as unpriced,"
	    " never as zero."));
	respond(io, rpc_result(m->id, r));
	return 1;
}

static int
do_set_level(struct mcp_session *s, const struct rpc_msg *m,
    const struct mcp_io *io)
{
	struct json_object *v = param(m, "level");
	int i;

	if (v != NULL && json_object_is_type(v, json_type_string))
		for (i = 0; mcp_levels[i] != NULL; i++)
			if (strcmp(json_object_get_string(v), mcp_levels[i]) == 0) {
				s->log_level = i;
				respond(io, rpc_result(m->id, NULL));
				return 1;
			}
	return reply_error(m, io, RPC_INVALID_PARAMS, "params.level must be one"
	    " of debug, info, notice, warning, error, critical, alert,"
	    " emergency");
}

/* --- tools/list ----------------------------------------------------------- */

/*
 * Cursors are opaque to clients: "c1." and the offset in hex.  Anything
 * else, or an offset past the end, is an invalid cursor.
 */
static int
cursor_decode(const char *c, size_t *off)
{
	char *end;
	unsigned long v;

	if (strncmp(c, "c1.", 3) != 0 || c[3] == '\0')
		return -1;
	v = strtoul(c + 3, &end, 16);
	if (*end != '\0' || v == 0 || v >= tools_count())
		return -1;
	*off = v;
	return 0;
}

/*
 * Text serialized once and printed as it is (a json-c custom serializer):
 * a text, and what goes in at one place of it, so a cached answer takes
 * its hit note without being copied again to make room.
 */
struct ready_text {
	char		*own;		/* freed with the value */
	const char	*text;		/* within own */
	size_t		 len, at;
	char		 insert[128];
	size_t		 insert_len;
};

static int
print_ready(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	struct ready_text *r = json_object_get_userdata(o);

	(void)level;
	(void)flags;
	if (printbuf_memappend(pb, r->text, (int)r->at) < 0 ||
	    printbuf_memappend(pb, r->insert, (int)r->insert_len) < 0)
		return -1;
	return printbuf_memappend(pb, r->text + r->at, (int)(r->len - r->at));
}

static void
ready_free(struct json_object *o, void *ud)
{
	struct ready_text *r = ud;

	(void)o;
	free(r->own);
	free(r);
}

/* o printed as own's text from then on (own taken; freed on failure). */
static int
set_ready(struct json_object *o, char *own, const char *text, size_t len,
    size_t at, const char *insert, size_t insert_len)
{
	struct ready_text *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || insert_len > sizeof(r->insert)) {
		free(r);
		free(own);
		return -1;
	}
	r->own = own;
	r->text = text;
	r->len = len;
	r->at = at;
	memcpy(r->insert, insert, insert_len);
	r->insert_len = insert_len;
	json_object_set_serializer(o, print_ready, r, ready_free);
	return 0;
}

/*
 * A page of tools/list from off, and where it ended in *end.  The tools
 * are fixed once a worker runs, so the first page is serialized once and
 * its text reused: the list is the largest answer most clients ask for.
 */
static struct json_object *
tools_page(size_t off, size_t *end)
{
	static struct json_object *first;	/* the page at offset 0 */
	static size_t first_end;
	struct json_object *list;
	size_t i, len;
	char *text;

	if (off == 0 && first != NULL) {
		*end = first_end;
		return json_object_get(first);
	}
	list = json_object_new_array();
	for (i = off; i < tools_count() && i < off + page_size; i++)
		json_object_array_add(list, tool_describe(tools_at(i)));
	*end = i;
	if (off == 0 && (text = strdup(rpc_string_len(list, &len))) != NULL &&
	    set_ready(list, text, text, len, len, "", 0) == 0) {
		first = json_object_get(list);
		first_end = i;
	}
	return list;
}

static int
do_tools_list(const struct rpc_msg *m, const struct mcp_io *io)
{
	struct json_object *c = param(m, "cursor"), *r, *list;
	size_t off = 0, i;
	char next[32];

	if (c != NULL && (!json_object_is_type(c, json_type_string) ||
	    cursor_decode(json_object_get_string(c), &off) == -1))
		return reply_error(m, io, RPC_INVALID_PARAMS, "invalid cursor");
	list = tools_page(off, &i);
	r = json_object_new_object();
	json_object_object_add(r, "tools", list);
	if (i < tools_count()) {
		snprintf(next, sizeof(next), "c1.%zx", i);
		json_object_object_add(r, "nextCursor", json_object_new_string(next));
	}
	respond(io, rpc_result(m->id, r));
	return 1;
}

/* --- the shared answer cache --------------------------------------------- */

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
hash_bytes(EVP_MAC_CTX *h, char tag, const void *p, uint64_t len)
{
	unsigned char head[1 + sizeof(len)];

	head[0] = (unsigned char)tag;
	memcpy(head + 1, &len, sizeof(len));
	EVP_MAC_update(h, head, sizeof(head));
	EVP_MAC_update(h, p, len);
}

/*
 * The arguments hashed as they are walked, object keys sorted: equal
 * arguments, equal digest.  Each value is framed by a type tag and a
 * length, so no two argument sets share an encoding, and no text is built
 * (a 100 KB pulumi_json would otherwise be escaped again for every call).
 * *named: a stack_name or resource_urn anywhere in them.
 */
static void
hash_value(EVP_MAC_CTX *h, struct json_object *o, int depth, int *named)
{
	const char **keys;
	const char *text;
	uint64_t i, n;

	if (depth > 64 || o == NULL) {
		hash_bytes(h, 'n', "", 0);
		return;
	}
	switch (json_object_get_type(o)) {
	case json_type_object:
		n = (uint64_t)json_object_object_length(o);
		if ((keys = calloc(n ? n : 1, sizeof(*keys))) == NULL) {
			hash_bytes(h, '!', "", 0);	/* never equal to a real value */
			return;
		}
		i = 0;
		json_object_object_foreach(o, k, v) {
			(void)v;
			keys[i++] = k;
		}
		qsort(keys, n, sizeof(*keys), cmp_cstr);
		hash_bytes(h, '{', &n, sizeof(n));
		for (i = 0; i < n; i++) {
			hash_bytes(h, 'k', keys[i], strlen(keys[i]));
			if (strcmp(keys[i], "stack_name") == 0 ||
			    strcmp(keys[i], "resource_urn") == 0)
				*named = 1;
			hash_value(h, json_object_object_get(o, keys[i]), depth + 1, named);
		}
		free(keys);
		break;
	case json_type_array:
		n = json_object_array_length(o);
		hash_bytes(h, '[', &n, sizeof(n));
		for (i = 0; i < n; i++)
			hash_value(h, json_object_array_get_idx(o, i), depth + 1, named);
		break;
	case json_type_string:
		hash_bytes(h, 's', json_object_get_string(o),
		    (uint64_t)json_object_get_string_len(o));
		break;
	default:
		/* Numbers, booleans, null: their JSON text, short. */
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		hash_bytes(h, 'v', text, strlen(text));
		break;
	}
}

/* "cost:GEN:TOOL:poly1305(arguments)"; NULL when not cacheable. */
static char *
cache_key_for(const struct tool *t, struct json_object *args, int *named)
{
	unsigned char md[16];
	size_t mdlen = 0;
	char *key = NULL, hex[2 * sizeof(md) + 1];
	EVP_MAC_CTX *h;

	*named = 0;
	if (!t->cacheable || !cache.enabled || (h = EVP_MAC_CTX_dup(cache.mac)) == NULL)
		return NULL;
	hash_value(h, args, 0, named);
	if (EVP_MAC_final(h, md, &mdlen, sizeof(md)) == 1 && mdlen == sizeof(md)) {
		hex_encode(md, mdlen, hex);
		if (asprintf(&key, "cost:%u:%s:%s", cache.gen, t->name, hex) == -1)
			key = NULL;
	}
	EVP_MAC_CTX_free(h);
	return key;
}

static void
cache_note(struct json_object *structured, const char *status, int64_t pid,
    int64_t age_ms)
{
	struct json_object *meta, *c;

	if (!json_object_is_type(structured, json_type_object))
		return;
	if (!json_object_object_get_ex(structured, "metadata", &meta)) {
		meta = json_object_new_object();
		json_object_object_add(structured, "metadata", meta);
	}
	c = json_object_new_object();
	json_object_object_add(c, "status", json_object_new_string(status));
	if (pid > 0) {
		json_object_object_add(c, "stored_by_pid", json_object_new_int64(pid));
		json_object_object_add(c, "age_ms", json_object_new_int64(age_ms));
	}
	json_object_object_add(meta, "cache", c);
}

/*
 * A cached answer is the result's text as it was sent, less the value of
 * structuredContent.metadata.cache, which says hit or miss, by whom and
 * how long ago: "PID AT_MS OFFSET\n" then the text, the value going at
 * OFFSET.  A hit splices it in and sends the bytes as they are, without
 * parsing the answer and serializing it again.
 */
static void	finish_call(struct tool_call *, struct json_object *, int, const char *);

/* 1 when it was answered from the cache. */
static int
cache_answer(struct tool_call *c, const char *key)
{
	struct json_object *raw;
	long long pid, at;
	size_t len, off, tlen;
	char *v, *body, hit[128];
	int hlen, n = 0;

	if (shm_get(cache.shm, key, strlen(key), &v, &len) != 1)
		return 0;
	if (sscanf(v, "%lld %lld %zu\n%n", &pid, &at, &off, &n) != 3 || n <= 0 ||
	    (body = memchr(v, '\n', len)) == NULL || ++body != v + n ||
	    off > (tlen = len - (size_t)n)) {
		free(v);
		return 0;
	}
	hlen = snprintf(hit, sizeof(hit), "{\"status\":\"hit\",\"stored_by_pid\":%lld,"
	    "\"age_ms\":%lld}", pid, (long long)wall_ms() - at);
	if (hlen < 0 || (size_t)hlen >= sizeof(hit) ||
	    (raw = json_object_new_object()) == NULL) {
		free(v);
		return 0;
	}
	if (set_ready(raw, v, body, tlen, off, hit, (size_t)hlen) == -1) {
		json_object_put(raw);
		return 0;
	}
	free(c->cache_key);	/* nothing to store: it came from there */
	c->cache_key = NULL;
	finish_call(c, raw, 0, NULL);
	return 1;
}

/* The result as it will be sent (result holds content and structured). */
static void
cache_store(struct tool_call *c, struct json_object *result,
    struct json_object *structured)
{
	struct json_object *meta;
	char nonce[48], hex[33], *blob;
	const char *text, *at;
	size_t nlen;
	int len;

	if (!json_object_is_type(structured, json_type_object))
		return;
	if (!json_object_object_get_ex(structured, "metadata", &meta)) {
		meta = json_object_new_object();
		json_object_object_add(structured, "metadata", meta);
	}
	/* A mark nobody can put in an answer, to find where the value goes. */
	trace_random_hex(hex, 16);
	snprintf(nonce, sizeof(nonce), "\"pcm-cache-%s\"", hex);
	json_object_object_add(meta, "cache", json_object_new_string_len(nonce + 1,
	    (int)strlen(nonce) - 2));
	text = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	nlen = strlen(nonce);
	if ((at = strstr(text, nonce)) != NULL && (len = asprintf(&blob, "%d %lld %zu\n%.*s%s",
	    (int)getpid(), (long long)wall_ms(), (size_t)(at - text), (int)(at - text), text,
	    at + nlen)) != -1) {
		/* Too big for a shard is counted there; the answer still goes out. */
		(void)shm_put(cache.shm, c->cache_key, strlen(c->cache_key), blob,
		    (size_t)len, c->cache_ttl);
		free(blob);
	}
	json_object_object_del(meta, "cache");
}

/* --- tools/call ----------------------------------------------------------- */

static int
do_tools_call(struct mcp_session *s, const struct rpc_msg *m,
    const struct mcp_io *io)
{
	struct json_object *name = param(m, "name"), *args = param(m, "arguments");
	struct json_object *meta = param(m, "_meta"), *tok = NULL;
	struct json_object *inputs = NULL;
	const struct tool *t;
	struct tool_call *c;
	char *state = NULL, scope[160];

	if (name == NULL || !json_object_is_type(name, json_type_string))
		return reply_error(m, io, RPC_INVALID_PARAMS,
		    "tools/call needs params.name (a string)");
	if (args != NULL && !json_object_is_type(args, json_type_object))
		return reply_error(m, io, RPC_INVALID_PARAMS,
		    "params.arguments must be an object");
	if ((t = tools_find(json_object_get_string(name))) == NULL)
		return reply_error(m, io, RPC_INVALID_PARAMS, "Unknown tool: %s",
		    json_object_get_string(name));
	if (strcmp(s->version, MCP_MODERN_VERSION) == 0 &&
	    (t->requires_client & ~s->client_caps)) {
		/* 2026-07-28: a capability the client did not declare is a
		 * protocol error naming it, not a silent failure. */
		struct json_object *d = json_object_new_object(), *rc;

		rc = json_object_new_object();
		if (t->requires_client & ~s->client_caps & MCP_CLIENT_SAMPLING)
			json_object_object_add(rc, "sampling", json_object_new_object());
		if (t->requires_client & ~s->client_caps & MCP_CLIENT_ELICITATION)
			json_object_object_add(rc, "elicitation", json_object_new_object());
		json_object_object_add(d, "requiredCapabilities", rc);
		respond(io, rpc_error(m->id, MCP_ERR_MISSING_CAP,
		    "Missing required client capability", d));
		return 1;
	}
	/* Answers to an input_required result come back with the call. */
	snprintf(scope, sizeof(scope), "tools/call %s", t->name);
	if (strcmp(s->version, MCP_MODERN_VERSION) == 0 &&
	    mcp_input_params(m, io, scope, &inputs, &state) != 0)
		return 1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_object_put(inputs);
		free(state);
		return reply_error(m, io, RPC_INTERNAL_ERROR, "out of memory");
	}
	c->inputs = inputs;
	c->state = state;
	c->session = s;
	c->t0_us = mono_usec();
	c->resources = -1;
	strlcpy_(c->request_id, io->request_id ? io->request_id : "", sizeof(c->request_id));
	strlcpy_(c->user, io->user ? io->user : "", sizeof(c->user));
	{
		struct json_object *sn;

		if (args != NULL && json_object_object_get_ex(args, "stack_name", &sn) &&
		    json_object_is_type(sn, json_type_string))
			strlcpy_(c->stack, json_object_get_string(sn), sizeof(c->stack));
	}
	c->id = json_object_get(m->id);
	c->io = *io;
	c->tool = t;
	TAILQ_INSERT_TAIL(&inflight, c, entry);
	if (meta != NULL && json_object_object_get_ex(meta, "progressToken", &tok) &&
	    (json_object_is_type(tok, json_type_string) ||
	    json_object_is_type(tok, json_type_int)))
		c->progress_token = json_object_get(tok);
	c->args = args ? json_object_get(args) : json_object_new_object();
	{
		char why[512];

		int named = 0;

		/* 2025-11-25: a tool error, so the model can correct the call. */
		if (tool_check_args(t, c->args, why, sizeof(why)) == -1)
			tool_call_fail(c, "invalid arguments: %s", why);
		else if ((c->cache_key = cache_key_for(t, c->args, &named)) != NULL &&
		    cache_answer(c, c->cache_key))
			;	/* answered; c is gone */
		else {
			c->cache_ttl = named && cache.ttl_named < cache.ttl ?
			    cache.ttl_named : cache.ttl;
			t->handler(c, c->args);
		}
	}
	return 1;
}

static void	deliver_reply(const struct mcp_session *, const struct rpc_msg *);
static void	ask_settled(struct tool_call *);
static int	dispatch_method(struct mcp_session *, enum mcp_mode,
		    const struct rpc_msg *, const struct mcp_io *);
static struct json_object *param(const struct rpc_msg *, const char *);

static void
call_free(struct tool_call *c)
{
	TAILQ_REMOVE(&inflight, c, entry);
	json_object_put(c->id);
	json_object_put(c->progress_token);
	json_object_put(c->args);
	json_object_put(c->inputs);
	json_object_put(c->wanted);
	free(c->state);
	free(c->ask_error);
	free(c->cache_key);
	free(c);
}

/*
 * One line per tool call with the fields operators filter on (the
 * seed's): method (the tool), status, duration_ms, request_id, user_id,
 * stack_name, resource_count.
 */
static void
log_call(const struct tool_call *c, int is_error, const char *why)
{
	struct json_object *f;

	if (!log_enabled(is_error ? LOG_WARN : LOG_INFO))
		return;
	f = json_object_new_object();
	json_object_object_add(f, "method", json_object_new_string(c->tool->name));
	json_object_object_add(f, "status", json_object_new_string(is_error ? "error" :
	    "success"));
	json_object_object_add(f, "duration_ms", json_object_new_int64(
	    (int64_t)((mono_usec() - c->t0_us) / 1000)));
	if (c->request_id[0])
		json_object_object_add(f, "request_id", json_object_new_string(c->request_id));
	if (c->user[0])
		json_object_object_add(f, "user_id", json_object_new_string(c->user));
	if (c->stack[0])
		json_object_object_add(f, "stack_name", json_object_new_string(c->stack));
	if (c->resources >= 0)
		json_object_object_add(f, "resource_count", json_object_new_int64(c->resources));
	if (is_error && why != NULL)
		json_object_object_add(f, "error", json_object_new_string(why));
	logkv(is_error ? LOG_WARN : LOG_INFO, f, "tool call %s %s", c->tool->name,
	    is_error ? "failed" : "completed");
}

/* The first text item of a tool's content: its message. */
static const char *
first_text(struct json_object *content)
{
	struct json_object *item, *text;

	if (content == NULL || !json_object_is_type(content, json_type_array) ||
	    json_object_array_length(content) == 0)
		return NULL;
	item = json_object_array_get_idx(content, 0);
	return json_object_object_get_ex(item, "text", &text) ?
	    json_object_get_string(text) : NULL;
}

/* Log the call and send its result (consumed); c is freed. */
static void
finish_call(struct tool_call *c, struct json_object *result, int is_error,
    const char *why)
{
	if (tool_call_cancelled(c)) {
		/* No response for a cancelled request; the transport only
		 * closes what it holds open for it. */
		json_object_put(result);
		if (c->io.respond != NULL)
			c->io.respond(c->io.arg, NULL);
		call_free(c);
		return;
	}
	log_call(c, is_error, why);
	respond(&c->io, rpc_result(c->id, result));
	call_free(c);
}

void
tool_call_result(struct tool_call *c, struct json_object *content,
    struct json_object *structured, int is_error)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "content", content);
	if (structured != NULL)
		json_object_object_add(r, "structuredContent", structured);
	json_object_object_add(r, "isError", json_object_new_boolean(is_error));
	if (c->cache_key != NULL && !is_error && structured != NULL &&
	    !tool_call_cancelled(c)) {
		cache_store(c, r, structured);
		cache_note(structured, "miss", 0, 0);
	}
	finish_call(c, r, is_error, is_error ? first_text(content) : NULL);
}

static struct json_object *
text_content(const char *text)
{
	struct json_object *a = json_object_new_array(), *b = json_object_new_object();

	json_object_object_add(b, "type", json_object_new_string("text"));
	json_object_object_add(b, "text", json_object_new_string(text));
	json_object_array_add(a, b);
	return a;
}

/*
 * JSON has no NaN or infinity: a figure that could not be computed is
 * null, never an invalid document.  Returns how many were replaced.
 */
static size_t
finite_numbers(struct json_object *o)
{
	size_t n = 0, i;

	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++) {
			struct json_object *v = json_object_array_get_idx(o, i);

			if (json_object_is_type(v, json_type_double) &&
			    !isfinite(json_object_get_double(v))) {
				json_object_array_put_idx(o, i, json_object_new_null());
				n++;
			} else
				n += finite_numbers(v);
		}
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			if (json_object_is_type(v, json_type_double) &&
			    !isfinite(json_object_get_double(v))) {
				json_object_object_add(o, k, NULL);
				n++;
			} else
				n += finite_numbers(v);
		}
	}
	return n;
}

/*
 * A result: the structured content (which conforms to the tool's
 * outputSchema) and, for clients that read only text, the same as JSON
 * or the given text.
 */
void
tool_call_done(struct tool_call *c, struct json_object *structured,
    const char *text)
{
	size_t bad;

	if (structured != NULL && (bad = finite_numbers(structured)) > 0)
		logmsg(LOG_WARN, "a tool answer had %zu figure%s that were not numbers"
		    " (NaN or infinite): sent as null", bad, bad == 1 ? "" : "s");
	tool_call_result(c, text_content(text ? text : structured ?
	    rpc_string(structured) : ""), structured, 0);
}

/* A tool execution error: reported in the result so a model can correct. */
void
tool_call_fail(struct tool_call *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tool_call_result(c, text_content(msg), NULL, 1);
}

void
tool_call_progress(struct tool_call *c, double progress, double total,
    const char *message)
{
	struct json_object *p;

	/* Progress must increase; only with a token and a stream to send on. */
	if (c->progress_token == NULL || c->io.notify == NULL || tool_call_cancelled(c) ||
	    (c->sent_progress && progress <= c->last_progress))
		return;
	c->sent_progress = 1;
	c->last_progress = progress;
	p = json_object_new_object();
	json_object_object_add(p, "progressToken", json_object_get(c->progress_token));
	json_object_object_add(p, "progress", json_object_new_double(progress));
	if (total > 0)
		json_object_object_add(p, "total", json_object_new_double(total));
	if (message != NULL && strcmp(c->session->version, "2024-11-05") != 0)
		json_object_object_add(p, "message", json_object_new_string(message));
	c->io.notify(c->io.arg, rpc_notification("notifications/progress", p));
}

void
tool_call_log(struct tool_call *c, const char *level, const char *message)
{
	struct json_object *p;
	int i;

	if (c->io.notify == NULL || c->cancelled)
		return;
	for (i = 0; mcp_levels[i] != NULL; i++)
		if (strcmp(mcp_levels[i], level) == 0)
			break;
	/* Until a client sets a level, info and above are sent. */
	if (mcp_levels[i] == NULL || c->session->log_level == -2 ||
	    i < (c->session->log_level < 0 ? 1 : c->session->log_level))
		return;
	p = json_object_new_object();
	json_object_object_add(p, "level", json_object_new_string(level));
	json_object_object_add(p, "logger", json_object_new_string(c->tool->name));
	json_object_object_add(p, "data", json_object_new_string(message));
	c->io.notify(c->io.arg, rpc_notification("notifications/message", p));
}

static void
cancel_key(const char *sid, struct json_object *id, char *key, size_t len)
{
	snprintf(key, len, "mcp-cancel:%s:%s", sid, json_object_to_json_string(id));
}

/*
 * A request is cancelled when notifications/cancelled named it: on this
 * worker (the same session), or, for HTTP sessions, through a marker in
 * the sessions segment, since the notification may reach another worker.
 */
int
tool_call_cancelled(const struct tool_call *c)
{
	char key[160], *v;
	size_t len;

	if (c->cancelled)
		return 1;
	if (replies == NULL || c->session->sid[0] == '\0')
		return 0;
	cancel_key(c->session->sid, c->id, key, sizeof(key));
	if (shm_get(replies, key, strlen(key), &v, &len) != 1)
		return 0;
	free(v);
	((struct tool_call *)c)->cancelled = 1;
	return 1;
}

static void
do_cancel(struct mcp_session *s, const struct rpc_msg *m)
{
	struct json_object *id = param(m, "requestId");
	struct tool_call *c;
	char key[160];

	if (id == NULL || (!json_object_is_type(id, json_type_string) &&
	    !json_object_is_type(id, json_type_int)))
		return;		/* invalid: ignored, as the spec says */
	TAILQ_FOREACH(c, &inflight, entry) {
		if ((c->session == s || (s->sid[0] && strcmp(c->session->sid,
		    s->sid) == 0)) && json_object_equal(c->id, id)) {
			c->cancelled = 1;
			return;
		}
	}
	if (replies != NULL && s->sid[0]) {
		cancel_key(s->sid, id, key, sizeof(key));
		(void)shm_put(replies, key, strlen(key), "1", 1, 60000);
	}
}

/* --- input from the client (MRTR) --------------------------------------- */

#define REPLY_POLL_MS	10
#define REPLY_PREFIX	"pcm-"
#define ASK_TIMEOUT_MS	(5 * 60 * 1000)	/* a person may be answering */
#define MAX_ROUNDS	8		/* of input for one call */

static const struct {
	const char	*method;
	int		 cap;
	const char	*cap_name;
} input_methods[] = {
	{ "elicitation/create", MCP_CLIENT_ELICITATION, "elicitation" },
	{ "sampling/createMessage", MCP_CLIENT_SAMPLING, "sampling" },
	{ "roots/list", MCP_CLIENT_ROOTS, "roots" },
};

int
mcp_client_caps(struct json_object *caps)
{
	size_t i;
	int c = 0;

	if (!json_object_is_type(caps, json_type_object))
		return 0;
	for (i = 0; i < nitems(input_methods); i++)
		if (json_object_object_get_ex(caps, input_methods[i].cap_name, NULL))
			c |= input_methods[i].cap;
	return c;
}

/*
 * inputResponses and requestState of a 2026-07-28 request.  0 with the
 * responses (a new reference, or NULL) and the opened state (malloc'd, or
 * NULL); 1 when the request was answered with an error.
 */
int
mcp_input_params(const struct rpc_msg *m, const struct mcp_io *io,
    const char *scope, struct json_object **inputs, char **state)
{
	struct json_object *in = param(m, "inputResponses");
	struct json_object *st = param(m, "requestState");
	const char *why;

	*inputs = NULL;
	*state = NULL;
	if (m->params != NULL && json_object_object_get_ex(m->params,
	    "inputResponses", NULL)) {
		if (!json_object_is_type(in, json_type_object))
			return reply_error(m, io, RPC_INVALID_PARAMS,
			    "params.inputResponses must be an object");
		json_object_object_foreach(in, k, v) {
			if (!json_object_is_type(v, json_type_object))
				return reply_error(m, io, RPC_INVALID_PARAMS,
				    "params.inputResponses.%s must be an object"
				    " (the result of the client's request)", k);
		}
	}
	if (st != NULL) {
		if (!json_object_is_type(st, json_type_string))
			return reply_error(m, io, RPC_INVALID_PARAMS,
			    "params.requestState must be a string");
		if (state_open(scope, json_object_get_string(st), state, &why) == -1)
			return reply_error(m, io, RPC_INVALID_PARAMS,
			    "params.requestState is not accepted: %s", why);
	}
	*inputs = in ? json_object_get(in) : NULL;
	return 0;
}

/* The input_required result: what the client must answer, and our state. */
struct json_object *
mcp_input_required(struct json_object *requests, const char *scope,
    const char *state)
{
	struct json_object *r = json_object_new_object();
	char *sealed;

	json_object_object_add(r, "resultType", json_object_new_string("input_required"));
	json_object_object_add(r, "inputRequests", requests);
	if (state != NULL && (sealed = state_seal(scope, state)) != NULL) {
		json_object_object_add(r, "requestState", json_object_new_string(sealed));
		free(sealed);
	}
	return r;
}

struct json_object *
tool_call_input(struct tool_call *c, const char *key)
{
	struct json_object *v;

	return c->inputs != NULL && json_object_object_get_ex(c->inputs, key, &v) ?
	    v : NULL;
}

const char *
tool_call_state(const struct tool_call *c)
{
	return c->state;
}

void
tool_call_note_resources(struct tool_call *c, size_t n)
{
	c->resources = (c->resources < 0 ? 0 : c->resources) + (int64_t)n;
}

const char *
tool_call_name(const struct tool_call *c)
{
	return c->tool->name;
}

int
tool_call_client_can(const struct tool_call *c, int caps)
{
	return (c->session->client_caps & caps) == caps;
}

void
tool_call_need(struct tool_call *c, const char *key, const char *method,
    struct json_object *params)
{
	struct json_object *r = json_object_new_object();

	if (c->wanted == NULL)
		c->wanted = json_object_new_object();
	json_object_object_add(r, "method", json_object_new_string(method));
	json_object_object_add(r, "params", params ? params : json_object_new_object());
	json_object_object_add(c->wanted, key, r);
}

static void	ask_client(struct tool_call *, const char *key,
		    struct json_object *request);

/*
 * End a round that needs input.  2026-07-28: an input_required result;
 * the client calls again with the answers.  Earlier revisions: we ask the
 * client on the call's stream and run the handler again with them.
 */
void
tool_call_input_required(struct tool_call *c, const char *state)
{
	struct json_object *wanted = c->wanted, *m;
	char scope[160];
	size_t i;

	c->wanted = NULL;
	if (wanted == NULL) {
		tool_call_fail(c, "internal error: input required, none named");
		return;
	}
	json_object_object_foreach(wanted, k, req) {
		json_object_object_get_ex(req, "method", &m);
		for (i = 0; i < nitems(input_methods); i++)
			if (strcmp(json_object_get_string(m), input_methods[i].method) == 0)
				break;
		if (i == nitems(input_methods) || !tool_call_client_can(c,
		    input_methods[i].cap)) {
			char why[256];

			snprintf(why, sizeof(why), "this call needs %s from the"
			    " client, which did not declare the %s capability",
			    json_object_get_string(m), i < nitems(input_methods) ?
			    input_methods[i].cap_name : "needed");
			json_object_put(wanted);
			tool_call_fail(c, "%s", why);
			return;
		}
		(void)k;
	}
	if (++c->rounds > MAX_ROUNDS) {
		json_object_put(wanted);
		tool_call_fail(c, "this call asked for input more than %d times",
		    MAX_ROUNDS);
		return;
	}
	if (strcmp(c->session->version, MCP_MODERN_VERSION) == 0) {
		snprintf(scope, sizeof(scope), "tools/call %s", c->tool->name);
		respond(&c->io, rpc_result(c->id, mcp_input_required(wanted, scope,
		    state)));
		call_free(c);
		return;
	}
	free(c->state);
	c->state = state ? strdup(state) : NULL;
	if (c->inputs == NULL)
		c->inputs = json_object_new_object();
	c->asking = 1;		/* held until every request is sent */
	json_object_object_foreach(wanted, key, r) {
		c->asking++;
		ask_client(c, key, r);
	}
	json_object_put(wanted);
	ask_settled(c);
}

/* --- asking the client (the stateful revisions) ------------------------- */

struct ask {
	struct tool_call	*call;
	struct event		*ev;
	int64_t			 deadline;
	char			 method[32];
	char			 input[64];	/* the handler's key */
	char			 key[128];	/* where the answer is parked */
};

static void
reply_key(const char *sid, const char *id, char *key, size_t len)
{
	snprintf(key, len, "mcp-reply:%s:%s", sid[0] ? sid : "-", id);
}

/* A client's answer to one of our requests: park it where the asker looks. */
static void
deliver_reply(const struct mcp_session *s, const struct rpc_msg *m)
{
	const char *id, *v;
	char key[128];

	if (replies == NULL || !json_object_is_type(m->id, json_type_string) ||
	    strncmp((id = json_object_get_string(m->id)), REPLY_PREFIX,
	    strlen(REPLY_PREFIX)) != 0 || strlen(id) > 64)
		return;
	reply_key(s->sid, id, key, sizeof(key));
	v = rpc_string(m->obj);
	if (shm_put(replies, key, strlen(key), v, strlen(v), 60000) == -1)
		logmsg(LOG_WARN, "cannot keep a client's answer (%zu bytes)",
		    strlen(v));
}

/* Every request of the round answered: run the handler again, or fail. */
static void
ask_settled(struct tool_call *c)
{
	if (--c->asking > 0)
		return;
	if (c->ask_error != NULL) {
		char *e = c->ask_error;

		c->ask_error = NULL;
		tool_call_fail(c, "%s", e);
		free(e);
		return;
	}
	c->tool->handler(c, c->args);
}

static void
ask_finish(struct ask *a, struct json_object *res, const char *err)
{
	struct tool_call *c = a->call;

	if (res != NULL)
		json_object_object_add(c->inputs, a->input, json_object_get(res));
	else if (c->ask_error == NULL &&
	    asprintf(&c->ask_error, "the client's answer to %s: %s", a->method,
	    err) == -1)
		c->ask_error = NULL;
	event_free(a->ev);
	free(a);
	ask_settled(c);
}

static void
on_ask_poll(evutil_socket_t fd, short what, void *arg)
{
	struct ask *a = arg;
	struct json_object *o, *res = NULL, *err = NULL, *msg = NULL;
	struct timeval tv = tv_ms(REPLY_POLL_MS);
	size_t len;
	char *v;

	(void)fd;
	(void)what;
	if (shm_get(replies, a->key, strlen(a->key), &v, &len) == 1) {
		shm_del(replies, a->key, strlen(a->key));
		o = json_tokener_parse(v);
		free(v);
		if (o != NULL) {
			json_object_object_get_ex(o, "result", &res);
			json_object_object_get_ex(o, "error", &err);
		}
		if (err != NULL)
			json_object_object_get_ex(err, "message", &msg);
		if (json_object_is_type(res, json_type_object))
			ask_finish(a, res, NULL);
		else
			ask_finish(a, NULL, err == NULL ? "not a JSON-RPC response"
			    " with a result object" : msg != NULL ?
			    json_object_get_string(msg) : "an error");
		json_object_put(o);
		return;
	}
	if (tool_call_cancelled(a->call) || now_ms() > a->deadline) {
		ask_finish(a, NULL, tool_call_cancelled(a->call) ? "not awaited:"
		    " the call was cancelled" : "none came in time");
		return;
	}
	evtimer_add(a->ev, &tv);
}

/* Send one request on the call's stream; ask_finish settles it. */
static void
ask_client(struct tool_call *c, const char *key, struct json_object *request)
{
	struct timeval tv = tv_ms(REPLY_POLL_MS);
	struct json_object *req, *m, *p;
	unsigned char rnd[8];
	struct ask *a;
	char id[32];

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->ev = evtimer_new(ev_base, on_ask_poll, a)) == NULL) {
		free(a);
		if (c->ask_error == NULL)
			c->ask_error = strdup("out of memory");
		ask_settled(c);
		return;
	}
	json_object_object_get_ex(request, "method", &m);
	json_object_object_get_ex(request, "params", &p);
	a->call = c;
	a->deadline = now_ms() + ASK_TIMEOUT_MS;
	strlcpy_(a->method, json_object_get_string(m), sizeof(a->method));
	strlcpy_(a->input, key, sizeof(a->input));
	if (c->io.notify == NULL || replies == NULL) {
		ask_finish(a, NULL, "this transport cannot carry requests to the"
		    " client (use /mcp or the stream protocol)");
		return;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		ask_finish(a, NULL, "no randomness for a request id");
		return;
	}
	strlcpy_(id, REPLY_PREFIX, sizeof(id));
	hex_encode(rnd, sizeof(rnd), id + strlen(REPLY_PREFIX));
	reply_key(c->session->sid, id, a->key, sizeof(a->key));
	req = json_object_new_object();
	json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(req, "id", json_object_new_string(id));
	json_object_object_add(req, "method", json_object_get(m));
	json_object_object_add(req, "params", json_object_get(p));
	c->io.notify(c->io.arg, req);
	evtimer_add(a->ev, &tv);
}

/* --- 2026-07-28: stateless requests with per-request _meta ----------------- */

/* Results of these carry ttlMs and cacheScope in 2026-07-28. */
static const char *const cacheable[] = {
	"tools/list", "prompts/list", "resources/list", "resources/templates/list",
	"resources/read", NULL
};

struct modern {
	struct mcp_io	 io;		/* the transport's */
	int		 cacheable;
};

static struct json_object *
meta_of(const struct rpc_msg *m)
{
	struct json_object *meta;

	if (m->params == NULL || !json_object_is_type(m->params, json_type_object) ||
	    !json_object_object_get_ex(m->params, "_meta", &meta) ||
	    !json_object_is_type(meta, json_type_object))
		return NULL;
	return meta;
}

int
mcp_is_modern(const struct rpc_msg *m)
{
	struct json_object *meta = meta_of(m);

	return meta != NULL && json_object_object_get_ex(meta, MCP_META_VERSION, NULL);
}

/* Every 2026-07-28 result says what it is; list results say how long it keeps. */
static void
modern_respond(void *arg, struct json_object *resp)
{
	struct modern *md = arg;
	struct json_object *r;

	if (resp != NULL && json_object_object_get_ex(resp, "result", &r) &&
	    json_object_is_type(r, json_type_object)) {
		if (!json_object_object_get_ex(r, "resultType", NULL))
			json_object_object_add(r, "resultType",
			    json_object_new_string("complete"));
		if (md->cacheable) {
			json_object_object_add(r, "ttlMs", json_object_new_int(60000));
			json_object_object_add(r, "cacheScope", json_object_new_string("public"));
		}
	}
	md->io.respond(md->io.arg, resp);
	free(md);
}

static void
modern_notify(void *arg, struct json_object *note)
{
	struct modern *md = arg;

	md->io.notify(md->io.arg, note);
}

static int
do_discover(const struct rpc_msg *m, const struct mcp_io *io)
{
	struct json_object *r = json_object_new_object(), *v, *meta, *info;
	size_t i;

	json_object_object_add(r, "resultType", json_object_new_string("complete"));
	v = json_object_new_array();
	json_object_array_add(v, json_object_new_string(MCP_MODERN_VERSION));
	for (i = 0; versions[i] != NULL; i++)
		json_object_array_add(v, json_object_new_string(versions[i]));
	json_object_object_add(r, "supportedVersions", v);
	/* 2026-07-28 has no resources/subscribe: not advertised there. */
	json_object_object_add(r, "capabilities", server_capabilities_for(1));
	json_object_object_add(r, "instructions", json_object_new_string(
	    "Cloud cost answers for Pulumi infrastructure; see tools/list."));
	json_object_object_add(r, "ttlMs", json_object_new_int(60000));
	json_object_object_add(r, "cacheScope", json_object_new_string("public"));
	info = json_object_new_object();
	json_object_object_add(info, "name", json_object_new_string(PCM_NAME));
	json_object_object_add(info, "version", json_object_new_string(PACKAGE_VERSION));
	meta = json_object_new_object();
	json_object_object_add(meta, "io.modelcontextprotocol/serverInfo", info);
	json_object_object_add(r, "_meta", meta);
	respond(io, rpc_result(m->id, r));
	return 1;
}

static int
dispatch_modern(struct mcp_session *s, const struct rpc_msg *m,
    const struct mcp_io *io)
{
	struct json_object *meta = meta_of(m), *v, *caps, *lvl, *data;
	const char *meth = m->method;
	struct modern *md;
	size_t i;
	int r;

	json_object_object_get_ex(meta, MCP_META_VERSION, &v);
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), MCP_MODERN_VERSION) != 0) {
		data = json_object_new_object();
		v = json_object_new_array();
		json_object_array_add(v, json_object_new_string(MCP_MODERN_VERSION));
		json_object_object_add(data, "supported", v);
		json_object_object_get_ex(meta, MCP_META_VERSION, &v);
		json_object_object_add(data, "requested", json_object_get(v));
		respond(io, rpc_error(m->id, MCP_ERR_UNSUPPORTED_VER,
		    "Unsupported protocol version", data));
		return 1;
	}
	if (!json_object_object_get_ex(meta, "io.modelcontextprotocol/clientCapabilities",
	    &caps) || !json_object_is_type(caps, json_type_object))
		return reply_error(m, io, RPC_INVALID_PARAMS, "params._meta needs"
		    " io.modelcontextprotocol/clientCapabilities");
	/* Stateless: everything this request needs is in its _meta. */
	strlcpy_(s->version, MCP_MODERN_VERSION, sizeof(s->version));
	s->initialized = s->ready = 1;
	s->client_caps = mcp_client_caps(caps);
	s->log_level = -2;	/* no log messages unless asked */
	if (json_object_object_get_ex(meta, "io.modelcontextprotocol/logLevel", &lvl) &&
	    json_object_is_type(lvl, json_type_string))
		for (i = 0; mcp_levels[i] != NULL; i++)
			if (strcmp(json_object_get_string(lvl), mcp_levels[i]) == 0)
				s->log_level = (int)i;
	if (strcmp(meth, "server/discover") == 0)
		return do_discover(m, io);
	/* Removed in 2026-07-28. */
	if (strcmp(meth, "initialize") == 0 || strcmp(meth, "ping") == 0 ||
	    strcmp(meth, "logging/setLevel") == 0 ||
	    strcmp(meth, "resources/subscribe") == 0 ||
	    strcmp(meth, "resources/unsubscribe") == 0)
		return reply_error(m, io, RPC_METHOD_NOT_FOUND, "Method not found:"
		    " %s (removed in %s)", meth, MCP_MODERN_VERSION);
	if ((md = calloc(1, sizeof(*md))) == NULL)
		return reply_error(m, io, RPC_INTERNAL_ERROR, "out of memory");
	md->io = *io;
	for (i = 0; cacheable[i] != NULL; i++)
		if (strcmp(meth, cacheable[i]) == 0)
			md->cacheable = 1;
	{
		struct mcp_io mio = { io->notify ? modern_notify : NULL,
		    modern_respond, md, io->transport, io->trace, io->request_id,
		    io->user };

		r = dispatch_method(s, MCP_SESSIONLESS, m, &mio);
	}
	return r;
}

/* --- metrics --------------------------------------------------------------- */

/*
 * Every request that reaches dispatch is measured from here to its
 * response: counted by transport, method and tool, timed, and its error
 * (JSON-RPC or a tool's isError) counted by kind.  Labels come from fixed
 * sets: a method we do not know is "other", a tool only a registered one.
 */
struct measured {
	struct mcp_io	 io;		/* the transport's */
	uint64_t	 t0_us;
	const char	*method;
	const char	*tool;
	int		 cost_query;
	struct span	 span;
};

static const char *
method_label(const char *m)
{
	static const char *const known[] = { "initialize", "ping", "tools/list",
	    "tools/call", "logging/setLevel", "server/discover", "resources/list",
	    "resources/read", "resources/templates/list", "resources/subscribe",
	    "resources/unsubscribe", "prompts/list", "prompts/get",
	    "completion/complete" };
	size_t i;

	for (i = 0; i < nitems(known); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static const char *
error_label(int code)
{
	switch (code) {
	case RPC_PARSE_ERROR:		return "parse_error";
	case RPC_INVALID_REQUEST:	return "invalid_request";
	case RPC_METHOD_NOT_FOUND:	return "method_not_found";
	case RPC_INVALID_PARAMS:	return "invalid_params";
	case RPC_INTERNAL_ERROR:	return "internal_error";
	case MCP_ERR_HEADER_MISMATCH:	return "header_mismatch";
	case MCP_ERR_MISSING_CAP:	return "missing_capability";
	case MCP_ERR_UNSUPPORTED_VER:	return "unsupported_version";
	default:			return "other";
	}
}

void
mcp_count_error(const char *transport, int code)
{
	char l[128];

	metrics_add(MET_ERRORS, metrics_labels(l, sizeof(l), "transport",
	    transport ? transport : "other", "type", error_label(code), NULL), 1);
}

/* The error a response carries: its kind, "tool_error", or NULL. */
static const char *
response_error(struct json_object *resp)
{
	struct json_object *e, *c, *r, *ie;

	if (json_object_object_get_ex(resp, "error", &e)) {
		json_object_object_get_ex(e, "code", &c);
		return error_label(json_object_get_int(c));
	}
	if (json_object_object_get_ex(resp, "result", &r) &&
	    json_object_object_get_ex(r, "isError", &ie) && json_object_get_boolean(ie))
		return "tool_error";
	return NULL;
}

static void
measured_respond(void *arg, struct json_object *resp)
{
	struct measured *w = arg;
	const char *tr = w->io.transport ? w->io.transport : "other";
	const char *err = resp ? response_error(resp) : "cancelled";
	char l[192];

	metrics_add(MET_REQUESTS, metrics_labels(l, sizeof(l), "transport", tr,
	    "method", w->method, "tool", w->tool, NULL), 1);
	metrics_observe(MET_REQUEST_DURATION, metrics_labels(l, sizeof(l),
	    "method", w->method, "tool", w->tool, NULL),
	    (double)(mono_usec() - w->t0_us) / 1e6);
	if (err != NULL)
		metrics_add(MET_ERRORS, metrics_labels(l, sizeof(l), "transport",
		    tr, "type", err, NULL), 1);
	if (w->cost_query)
		metrics_add(MET_COST_QUERIES, metrics_labels(l, sizeof(l), "tool",
		    w->tool, "result", err ? "error" : "ok", NULL), 1);
	if (err != NULL) {
		span_attr_str(&w->span, "error.type", err);
		span_fail(&w->span, err);
	}
	span_end(&w->span);
	if (w->io.respond != NULL)
		w->io.respond(w->io.arg, resp);
	else
		json_object_put(resp);
	free(w);
}

static void
measured_notify(void *arg, struct json_object *note)
{
	struct measured *w = arg;

	w->io.notify(w->io.arg, note);
}

/*
 * The request's span (OTel semantic conventions for MCP): a child of
 * params._meta.traceparent when the client sent one (MCP 2026-07-28
 * reserves it), else of the transport's span (an HTTP request), else a
 * new trace (the socket protocol).
 */
static void
start_span(struct measured *w, const struct rpc_msg *m, const struct mcp_io *io)
{
	struct json_object *meta = param(m, "_meta"), *tp;
	struct trace_ctx from_meta;
	const struct trace_ctx *parent = io->trace;
	char name[128];

	if (meta != NULL && json_object_object_get_ex(meta, "traceparent", &tp) &&
	    trace_parse(json_object_get_string(tp), &from_meta) == 0)
		parent = &from_meta;
	snprintf(name, sizeof(name), "%s%s%s", w->method, w->tool[0] ? " " : "", w->tool);
	span_start(&w->span, parent, name, io->trace != NULL && parent == io->trace ?
	    SPAN_INTERNAL : SPAN_SERVER);
	span_attr_str(&w->span, "mcp.method.name", w->method);
	if (w->tool[0])
		span_attr_str(&w->span, "gen_ai.tool.name", w->tool);
	if (m->id != NULL)
		span_attr_str(&w->span, "jsonrpc.request.id", json_object_get_string(m->id));
	span_attr_str(&w->span, "network.transport", io->transport ? io->transport : "");
}

static struct measured *
measure(const struct rpc_msg *m, const struct mcp_io *io)
{
	struct json_object *name;
	const struct tool *t;
	struct measured *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->io = *io;
	w->t0_us = mono_usec();
	w->method = method_label(m->method);
	w->tool = "";
	if (strcmp(w->method, "tools/call") == 0 && (name = param(m, "name")) != NULL &&
	    (t = tools_find(json_object_get_string(name))) != NULL) {
		w->tool = t->name;
		w->cost_query = t->cost_query;
	}
	start_span(w, m, io);
	return w;
}

/* --- dispatch ------------------------------------------------------------- */

static int	dispatch_request(struct mcp_session *, enum mcp_mode,
		    const struct rpc_msg *, const struct mcp_io *);

int
mcp_dispatch(struct mcp_session *s, enum mcp_mode mode, const struct rpc_msg *m,
    const struct mcp_io *io)
{
	struct measured *w;
	int r;

	if (m->kind != RPC_REQUEST || (w = measure(m, io)) == NULL)
		return dispatch_request(s, mode, m, io);
	{
		struct mcp_io mio = { io->notify ? measured_notify : NULL,
		    measured_respond, w, io->transport, io->trace, io->request_id,
		    io->user };
		struct trace_ctx ctx = w->span.ctx;

		/* Broker calls made for this request belong to its trace. */
		trace_set_current(&ctx);
		r = dispatch_request(s, mode, m, &mio);
		trace_set_current(NULL);
	}
	if (r == 0) {
		span_end(&w->span);
		free(w);	/* no response due: respond was never called */
	}
	return r;
}

static int
dispatch_request(struct mcp_session *s, enum mcp_mode mode,
    const struct rpc_msg *m, const struct mcp_io *io)
{
	const char *meth = m->method;

	if (m->kind == RPC_RESPONSE) {
		deliver_reply(s, m);
		return 0;
	}
	if (m->kind == RPC_NOTIFICATION) {
		if (strcmp(meth, "notifications/initialized") == 0)
			s->ready = 1;
		else if (strcmp(meth, "notifications/cancelled") == 0)
			do_cancel(s, m);
		/* Unknown notifications are ignored, as the spec says. */
		return 0;
	}
	if (mcp_is_modern(m))
		return dispatch_modern(s, m, io);
	if (strcmp(meth, "ping") == 0) {
		respond(io, rpc_result(m->id, NULL));
		return 1;
	}
	if (strcmp(meth, "initialize") == 0)
		return do_initialize(s, mode, m, io);
	return dispatch_method(s, mode, m, io);
}

/* The methods both eras share. */
static int
dispatch_method(struct mcp_session *s, enum mcp_mode mode,
    const struct rpc_msg *m, const struct mcp_io *io)
{
	const char *meth = m->method;

	if (conformance_on && conformance_handles(meth)) {
		if (mode == MCP_STATEFUL && !s->initialized)
			return reply_error(m, io, RPC_INVALID_REQUEST, "the"
			    " session is not initialized: send initialize first");
		return conformance_method(m, io);
	}
	if (strcmp(meth, "tools/list") != 0 && strcmp(meth, "tools/call") != 0 &&
	    strcmp(meth, "logging/setLevel") != 0)
		return reply_error(m, io, RPC_METHOD_NOT_FOUND,
		    "Method not found: %s", meth);
	if (mode == MCP_STATEFUL && !s->initialized)
		return reply_error(m, io, RPC_INVALID_REQUEST, "the session is not"
		    " initialized: send initialize first");
	if (strcmp(meth, "tools/list") == 0)
		return do_tools_list(m, io);
	if (strcmp(meth, "tools/call") == 0)
		return do_tools_call(s, m, io);
	return do_set_level(s, m, io);
}
