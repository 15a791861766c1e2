/*
 * Finding cost-source plugins on disk (the PulumiCost / FinFocus layout):
 *   <dir>/<name>/<version>/<binary>   [plugin.manifest.json beside it]
 * The highest semantic version of a name wins; the binary is
 * finfocus-plugin-<name>, else <name>, else pulumicost-plugin-<name>, else
 * the first executable regular file by name.  Symlinked directories are
 * followed.  Every entry passed over is reported with the reason.
 */
#ifndef PCM_DISCOVERY_H
#define PCM_DISCOVERY_H

#include <stddef.h>

#include <json-c/json.h>

struct plugin_entry {
	char			*name, *version, *dir, *binary;
	struct json_object	*manifest;	/* or NULL */
};

struct discovery {
	struct plugin_entry	*v;
	size_t			 n;
	struct json_object	*skipped;	/* [{path, reason}] */
	struct json_object	*dirs;		/* the directories scanned */
};

/*
 * Scan the directories in order (a name found in an earlier one wins);
 * missing directories are not errors, nor unreadable ones after the
 * first nreport (the implicit homes).  NULL when out of memory.
 */
struct discovery *discover_plugins(const char *const *dirs, size_t ndirs,
		    size_t nreport);
/*
 * One plugin by the path of its binary (validation of a plugin that is not
 * installed): named after the file without a finfocus-plugin- or
 * pulumicost-plugin- prefix, its manifest read when one is beside it.
 * NULL with why when the path is not an executable regular file.
 */
struct discovery *discover_binary(const char *path, char *why, size_t whylen);
void		 discovery_free(struct discovery *);
/* Compare two versions by semver precedence (a leading "v" allowed); -2
 * when either is not one. */
int		 semver_cmp(const char *, const char *);

#endif
