#include "config.h"

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "realip.h"

/* addr within net/bits, both of one family: 1, else 0. */
static int
prefix_match(const unsigned char *a, const unsigned char *net, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ net[full]) & (0xff << (8 - rest))) == 0;
}

static int
entry_matches(const char *entry, const char *addr)
{
	unsigned char a[16], n[16];
	char net[64], *slash;
	int fam, bits, max;

	if (strcmp(entry, "unix") == 0 || strcmp(addr, "unix") == 0)
		return strcmp(entry, addr) == 0;
	fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max = fam == AF_INET6 ? 128 : 32;
	if (inet_pton(fam, addr, a) != 1 || strlcpy_(net, entry, sizeof(net)) >= sizeof(net))
		return 0;
	bits = max;
	if ((slash = strchr(net, '/')) != NULL) {
		*slash = '\0';
		bits = atoi(slash + 1);
		if (bits < 0 || bits > max)
			return 0;
	}
	return inet_pton(fam, net, n) == 1 && prefix_match(a, n, bits);
}

int
realip_trusted(const struct strlist *l, const char *addr)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (entry_matches(l->v[i], addr))
			return 1;
	return 0;
}

/* A numeric address of either family: the only thing we take from XFF. */
static int
numeric(const char *s)
{
	unsigned char b[16];

	return inet_pton(strchr(s, ':') ? AF_INET6 : AF_INET, s, b) == 1;
}

void
realip_apply(const struct conf *c, struct http_request *r)
{
	const char *xff = http_header(r, "X-Forwarded-For");
	char buf[1024], *p, *e, *client = NULL;

	if (xff == NULL || c->trusted_proxies.n == 0 ||
	    !realip_trusted(&c->trusted_proxies, r->remote) ||
	    strlcpy_(buf, xff, sizeof(buf)) >= sizeof(buf))
		return;
	/* Right to left: each hop appended the address it saw. */
	for (;;) {
		p = strrchr(buf, ',');
		e = p ? p + 1 : buf;
		e += strspn(e, " \t");
		e[strcspn(e, " \t")] = '\0';
		if (!numeric(e))
			break;		/* garbage: keep what we have */
		client = e;
		if (!realip_trusted(&c->trusted_proxies, e) || p == NULL)
			break;
		*p = '\0';
	}
	if (client != NULL)
		strlcpy_(r->remote, client, sizeof(r->remote));
}
