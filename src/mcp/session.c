#include "config.h"

#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../core/util.h"
#include "jsonrpc.h"
#include "session.h"

static void
key_of(const char *id, char *key, size_t len)
{
	snprintf(key, len, "mcp-session:%s", id);
}

int
session_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == SESSION_ID_LEN;
}

int
session_store(struct shm *s, const char *id, const struct mcp_session *ms,
    int64_t ttl_ms)
{
	struct json_object *o = json_object_new_object();
	const char *v;
	char key[64];
	int r;

	json_object_object_add(o, "version", json_object_new_string(ms->version));
	json_object_object_add(o, "initialized", json_object_new_boolean(ms->initialized));
	json_object_object_add(o, "ready", json_object_new_boolean(ms->ready));
	json_object_object_add(o, "log_level", json_object_new_int(ms->log_level));
	json_object_object_add(o, "client", json_object_new_string(ms->client));
	json_object_object_add(o, "client_caps", json_object_new_int(ms->client_caps));
	v = rpc_string(o);
	key_of(id, key, sizeof(key));
	r = shm_put(s, key, strlen(key), v, strlen(v), ttl_ms);
	json_object_put(o);
	return r;
}

int
session_create(struct shm *s, const struct mcp_session *ms, int64_t ttl_ms,
    char *id)
{
	unsigned char rnd[SESSION_ID_LEN / 2];

	/* Unguessable: the id is the only credential a session has. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	hex_encode(rnd, sizeof(rnd), id);
	return session_store(s, id, ms, ttl_ms);
}

int
session_load(struct shm *s, const char *id, struct mcp_session *ms,
    int64_t ttl_ms)
{
	struct json_object *o, *v;
	char key[64], *val;
	size_t len;
	int r;

	if (!session_id_valid(id))
		return 0;
	key_of(id, key, sizeof(key));
	if ((r = shm_get(s, key, strlen(key), &val, &len)) != 1)
		return r;
	o = json_tokener_parse(val);
	free(val);
	if (o == NULL)
		return 0;
	mcp_session_init(ms);
	if (json_object_object_get_ex(o, "version", &v))
		strlcpy_(ms->version, json_object_get_string(v), sizeof(ms->version));
	if (json_object_object_get_ex(o, "initialized", &v))
		ms->initialized = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "ready", &v))
		ms->ready = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "log_level", &v))
		ms->log_level = json_object_get_int(v);
	if (json_object_object_get_ex(o, "client", &v))
		strlcpy_(ms->client, json_object_get_string(v), sizeof(ms->client));
	if (json_object_object_get_ex(o, "client_caps", &v))
		ms->client_caps = json_object_get_int(v);
	strlcpy_(ms->sid, id, sizeof(ms->sid));
	json_object_put(o);
	/* Each use restarts the idle timer (in place: nothing is rewritten). */
	shm_touch(s, key, strlen(key), ttl_ms);
	return 1;
}

int
session_delete(struct shm *s, const char *id)
{
	char key[64];

	if (!session_id_valid(id))
		return 0;
	key_of(id, key, sizeof(key));
	return shm_del(s, key, strlen(key)) == 1 ? 1 : 0;
}
