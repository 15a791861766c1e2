#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cors.h"

int
cors_origin_allowed(const struct conf *c, const char *origin)
{
	size_t i;

	if (!c->cors_enabled || origin == NULL)
		return 0;
	for (i = 0; i < c->cors_origins.n; i++)
		if (strcmp(c->cors_origins.v[i], "*") == 0 ||
		    strcasecmp(c->cors_origins.v[i], origin) == 0)
			return 1;
	return 0;
}

static void
add_joined(struct http_request *r, const char *name, const struct strlist *l)
{
	char v[1024];
	size_t i, o = 0;

	v[0] = '\0';
	for (i = 0; i < l->n && o < sizeof(v); i++)
		o += (size_t)snprintf(v + o, sizeof(v) - o, "%s%s", i ? ", " : "",
		    l->v[i]);
	if (l->n > 0)
		http_add_header(r, name, v);
}

int
cors_handle(const struct conf *c, struct http_request *r)
{
	const char *origin = http_header(r, "Origin");
	int preflight = strcmp(r->method, "OPTIONS") == 0 &&
	    http_header(r, "Access-Control-Request-Method") != NULL;
	char age[32];

	if (!c->cors_enabled || origin == NULL)
		return 0;
	if (!cors_origin_allowed(c, origin)) {
		if (!preflight)
			return 0;
		http_reply_error(r, 403, "Origin is not allowed (cors.allowed_origins)");
		return 1;
	}
	http_add_header(r, "Access-Control-Allow-Origin", origin);
	http_add_header(r, "Vary", "Origin");
	if (!preflight) {
		add_joined(r, "Access-Control-Expose-Headers", &c->cors_exposed);
		return 0;
	}
	add_joined(r, "Access-Control-Allow-Methods", &c->cors_methods);
	add_joined(r, "Access-Control-Allow-Headers", &c->cors_headers);
	snprintf(age, sizeof(age), "%lld", (long long)(c->cors_max_age / 1000));
	http_add_header(r, "Access-Control-Max-Age", age);
	http_reply(r, 204, NULL, NULL, 0);
	return 1;
}
