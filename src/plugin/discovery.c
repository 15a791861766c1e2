#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/util.h"
#include "../mcp/jsonrpc.h"
#include "discovery.h"

#define MAX_MANIFEST	(1024 * 1024)

struct semver {
	unsigned long	 n[3];
	const char	*pre;		/* after '-', up to '+' or end */
	size_t		 prelen;
};

static int
parse_semver(const char *s, struct semver *v)
{
	char *end;
	int i;

	if (*s == 'v' || *s == 'V')
		s++;
	for (i = 0; i < 3; i++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		v->n[i] = strtoul(s, &end, 10);
		if (errno != 0 || (end - s > 1 && *s == '0'))
			return -1;
		s = end;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	v->pre = NULL;
	v->prelen = 0;
	if (*s == '-') {
		v->pre = ++s;
		while (*s && *s != '+') {
			if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
				return -1;
			s++;
		}
		v->prelen = (size_t)(s - v->pre);
		if (v->prelen == 0)
			return -1;
	}
	if (*s == '+') {
		for (s++; *s; s++)
			if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
				return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/* Pre-release identifiers, dot by dot: numbers below words, numerically. */
static int
cmp_pre(const char *a, size_t al, const char *b, size_t bl)
{
	while (al > 0 && bl > 0) {
		size_t x = strcspn(a, "."), y = strcspn(b, ".");
		int an, bn, c;

		x = x < al ? x : al;
		y = y < bl ? y : bl;
		an = strspn(a, "0123456789") >= x;
		bn = strspn(b, "0123456789") >= y;
		if (an && bn)
			c = x != y ? (x < y ? -1 : 1) : strncmp(a, b, x);
		else if (an != bn)
			c = an ? -1 : 1;
		else {
			c = strncmp(a, b, x < y ? x : y);
			if (c == 0 && x != y)
				c = x < y ? -1 : 1;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += x, al -= x, b += y, bl -= y;
		if (al > 0)
			a++, al--;
		if (bl > 0)
			b++, bl--;
	}
	return al == bl ? 0 : al > 0 ? 1 : -1;
}

int
semver_cmp(const char *a, const char *b)
{
	struct semver x, y;
	int i;

	if (parse_semver(a, &x) == -1 || parse_semver(b, &y) == -1)
		return -2;
	for (i = 0; i < 3; i++)
		if (x.n[i] != y.n[i])
			return x.n[i] < y.n[i] ? -1 : 1;
	if (x.pre == NULL || y.pre == NULL)
		return x.pre == y.pre ? 0 : x.pre == NULL ? 1 : -1;
	return cmp_pre(x.pre, x.prelen, y.pre, y.prelen);
}

static void	skipped(struct discovery *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
skipped(struct discovery *d, const char *path, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "reason", json_object_new_string(why));
	json_object_array_add(d->skipped, o);
}

/* dir/name into buf: -1 when it would not fit (a path that long is skipped). */
static int
join(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
any_name(const char *n)
{
	return n[0] != '.';
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_exec_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

/* The binary of a version directory, by the rules above; NULL with why. */
static char *
pick_binary(const char *vdir, const char *name, char *why, size_t whylen)
{
	char path[PATH_MAX], **names;
	const char *rules[3] = { "finfocus-plugin-", "", "pulumicost-plugin-" };
	size_t i, n;
	char *found = NULL;

	for (i = 0; i < 3; i++) {
		snprintf(why, whylen, "%s%s", rules[i], name);
		if (join(path, sizeof(path), vdir, why) == 0 && is_exec_file(path))
			return strdup(path);
	}
	if (dir_names(vdir, any_name, &names, &n) == -1) {
		snprintf(why, whylen, "cannot read it: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < n && found == NULL; i++)
		if (utf8_valid(names[i], strlen(names[i])) &&
		    join(path, sizeof(path), vdir, names[i]) == 0 &&
		    strcmp(names[i], "plugin.manifest.json") != 0 && is_exec_file(path))
			found = strdup(path);
	dir_names_free(names, n);
	if (found == NULL)
		snprintf(why, whylen, "no executable file (expected finfocus-plugin-%s"
		    " or %s)", name, name);
	return found;
}

/* The version a manifest states (either shape), or NULL. */
static const char *
jver(struct json_object *m)
{
	struct json_object *meta, *v;

	if (json_object_object_get_ex(m, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "version", &v))
		return json_object_get_string(v);
	return json_object_object_get_ex(m, "version", &v) ?
	    json_object_get_string(v) : NULL;
}

/* A manifest's JSON, by the strict parser all outside JSON goes through. */
static struct json_object *
manifest_json(const char *path, char *why, size_t whylen)
{
	struct json_object *m;
	char *text;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return NULL;
	}
	if (read_all_fd(fd, &text, MAX_MANIFEST, &len) < 0) {
		snprintf(why, whylen, "cannot read it");
		close(fd);
		return NULL;
	}
	close(fd);
	m = rpc_parse(text, len, why, whylen);
	free(text);
	return m;
}

/* plugin.manifest.json: the flat core shape, or the spec schema's. */
static struct json_object *
read_manifest(struct discovery *d, const char *vdir, const char *name,
    const char *version)
{
	char path[PATH_MAX], why[200];
	struct json_object *m, *meta, *v;
	const char *mname, *mver;
	struct stat st;

	if (join(path, sizeof(path), vdir, "plugin.manifest.json") == -1 ||
	    stat(path, &st) == -1)
		return NULL;
	if (st.st_size > MAX_MANIFEST) {
		skipped(d, path, "manifest ignored: larger than %s", "1 MB");
		return NULL;
	}
	if ((m = manifest_json(path, why, sizeof(why))) == NULL ||
	    !json_object_is_type(m, json_type_object)) {
		skipped(d, path, "manifest ignored: %s", m ? "not a JSON object" : why);
		json_object_put(m);
		return NULL;
	}
	meta = json_object_object_get_ex(m, "metadata", &meta) &&
	    json_object_is_type(meta, json_type_object) &&
	    json_object_object_get_ex(meta, "name", NULL) ? meta : m;
	mname = json_object_object_get_ex(meta, "name", &v) ? json_object_get_string(v) : NULL;
	mver = json_object_object_get_ex(meta, "version", &v) ? json_object_get_string(v) : NULL;
	if ((mname && strcmp(mname, name) != 0) ||
	    (mver && version != NULL && semver_cmp(mver, version) != 0)) {
		skipped(d, path, "manifest ignored: its name and version (%s) do not"
		    " match the directory", mname ? mname : "?");
		json_object_put(m);
		return NULL;
	}
	return m;
}

static int
add_entry(struct discovery *d, const char *name, const char *version,
    const char *vdir, char *binary, struct json_object *manifest)
{
	struct plugin_entry *nv = reallocarray(d->v, d->n + 1, sizeof(*nv));

	if (nv == NULL) {
		free(binary);
		json_object_put(manifest);
		return -1;
	}
	d->v = nv;
	nv[d->n].name = strdup(name);
	nv[d->n].version = strdup(version);
	nv[d->n].dir = strdup(vdir);
	nv[d->n].binary = binary;
	nv[d->n].manifest = manifest;
	d->n++;
	return 0;
}

static int
known(const struct discovery *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return 1;
	return 0;
}

/* One <name> directory: its highest valid version. */
static int
scan_name(struct discovery *d, const char *root, const char *name)
{
	char ndir[PATH_MAX], vdir[PATH_MAX], why[300], **vers, *bin;
	const char *best = NULL;
	size_t i, n;
	int rc = 0;

	/* Names appear in answers (skipped, plugins): UTF-8 only. */
	if (!utf8_valid(name, strlen(name))) {
		skipped(d, root, "%s", "a directory whose name is not UTF-8 (rename it)");
		return 0;
	}
	if (join(ndir, sizeof(ndir), root, name) == -1) {
		skipped(d, root, "%s: path too long", name);
		return 0;
	}
	if (!is_dir(ndir)) {
		skipped(d, ndir, "%s", "not a directory");
		return 0;
	}
	if (known(d, name)) {
		skipped(d, ndir, "%s", "a plugin of this name was found earlier");
		return 0;
	}
	if (dir_names(ndir, any_name, &vers, &n) == -1) {
		skipped(d, ndir, "cannot read it: %s", strerror(errno));
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!utf8_valid(vers[i], strlen(vers[i])))
			skipped(d, ndir, "%s", "a directory whose name is not UTF-8");
		else if (join(vdir, sizeof(vdir), ndir, vers[i]) == -1)
			skipped(d, ndir, "%s: path too long", vers[i]);
		else if (semver_cmp(vers[i], "0.0.0") == -2)
			skipped(d, vdir, "%s", "not a semantic version");
		else if (!is_dir(vdir))
			skipped(d, vdir, "%s", "not a directory");
		else if (best == NULL || semver_cmp(vers[i], best) > 0) {
			if (best != NULL && join(why, sizeof(why), ndir, best) == 0)
				skipped(d, why, "%s", "a higher version is installed");
			best = vers[i];
		} else
			skipped(d, vdir, "%s", "a higher version is installed");
	}
	if (best == NULL)
		skipped(d, ndir, "%s", "no version directory");
	else if (join(vdir, sizeof(vdir), ndir, best) == 0) {
		if ((bin = pick_binary(vdir, name, why, sizeof(why))) == NULL)
			skipped(d, vdir, "%s", why);
		else
			rc = add_entry(d, name, best, vdir, bin, read_manifest(d, vdir,
			    name, best));
	}
	dir_names_free(vers, n);
	return rc;
}

struct discovery *
discover_plugins(const char *const *dirs, size_t ndirs, size_t nreport)
{
	struct discovery *d = calloc(1, sizeof(*d));
	char **names;
	size_t i, k, n;

	if (d == NULL)
		return NULL;
	d->skipped = json_object_new_array();
	d->dirs = json_object_new_array();
	for (i = 0; i < ndirs; i++) {
		if (dirs[i] == NULL || *dirs[i] == '\0')
			continue;
		json_object_array_add(d->dirs, json_object_new_string(dirs[i]));
		if (dir_names(dirs[i], any_name, &names, &n) == -1) {
			if (errno != ENOENT && (i < nreport || errno != EACCES))
				skipped(d, dirs[i], "cannot read the plugin directory: %s",
				    strerror(errno));
			continue;
		}
		for (k = 0; k < n; k++)
			if (scan_name(d, dirs[i], names[k]) == -1) {
				dir_names_free(names, n);
				discovery_free(d);
				return NULL;
			}
		dir_names_free(names, n);
	}
	return d;
}

struct discovery *
discover_binary(const char *path, char *why, size_t whylen)
{
	struct discovery *d;
	char real[PATH_MAX], dir[PATH_MAX], *slash, *bin;
	const char *base, *name;
	struct json_object *m;

	if (realpath(path, real) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!is_exec_file(real)) {
		snprintf(why, whylen, "%s: not an executable regular file", path);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->skipped = json_object_new_array();
	d->dirs = json_object_new_array();
	snprintf(dir, sizeof(dir), "%s", real);
	slash = strrchr(dir, '/');
	*slash = '\0';
	base = slash + 1 - dir + real;
	name = strncmp(base, "finfocus-plugin-", 16) == 0 ? base + 16 :
	    strncmp(base, "pulumicost-plugin-", 18) == 0 ? base + 18 : base;
	json_object_array_add(d->dirs, json_object_new_string(dir));
	if ((bin = strdup(real)) == NULL) {
		discovery_free(d);
		return NULL;
	}
	/* The version its manifest states, else none known. */
	m = read_manifest(d, dir, name, NULL);
	if (add_entry(d, name, m != NULL && jver(m) != NULL ? jver(m) : "0.0.0", dir,
	    bin, m) == -1) {
		discovery_free(d);
		return NULL;
	}
	return d;
}

void
discovery_free(struct discovery *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].version);
		free(d->v[i].dir);
		free(d->v[i].binary);
		json_object_put(d->v[i].manifest);
	}
	free(d->v);
	json_object_put(d->skipped);
	json_object_put(d->dirs);
	free(d);
}
