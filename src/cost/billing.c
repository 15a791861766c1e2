#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../core/conf.h"
#include "../core/util.h"
#include "billing.h"
#include "focus.h"

/* The billing sample of the example stack (conf/), compiled in. */
extern const char example_billing_csv[];
#define BUILTIN_BILLING	"builtin:example-billing"

static struct {
	int		 fd;		/* the sealed image, or -1 */
	char		*signature;	/* the files it was built from */
	int64_t		 rows, bad;
} img = { -1, NULL, 0, 0 };

static int
focus_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 4 && strcmp(n + l - 4, ".csv") == 0) ||
	    (l > 7 && strcmp(n + l - 7, ".csv.gz") == 0));
}

static void
add_file(struct json_object *files, FILE *sig, const char *path,
    const struct stat *st)
{
	json_object_array_add(files, json_object_new_string(path));
	if (sig != NULL)
		fprintf(sig, "%s:%lld:%lld\n", path, (long long)st->st_size,
		    (long long)st->st_mtime);
}

int
billing_files(const struct strlist *paths, struct json_object *files, FILE *sig,
    char *why, size_t whylen)
{
	struct stat st;
	char path[4096];
	size_t i;

	for (i = 0; i < paths->n; i++) {
		const char *p = paths->v[i];

		if (strncmp(p, "builtin:", 8) == 0) {
			if (strcmp(p, BUILTIN_BILLING) != 0)
				return errorf(why, whylen, "%s: not built in (there is"
				    " %s)", p, BUILTIN_BILLING);
			json_object_array_add(files, json_object_new_string(p));
			if (sig != NULL)
				fprintf(sig, "%s\n", p);
			continue;
		}
		/* File names appear in answers (sources, bad rows): UTF-8 only. */
		if (!utf8_valid(p, strlen(p)))
			return errorf(why, whylen, "a billing path is not UTF-8");
		if (stat(p, &st) == -1)
			return errorf(why, whylen, "%s: %s", p, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			char **names;
			size_t n, k;

			if (dir_names(p, focus_name, &names, &n) == -1)
				return errorf(why, whylen, "%s: %s", p, strerror(errno));
			for (k = 0; k < n; k++) {
				if (!utf8_valid(names[k], strlen(names[k]))) {
					dir_names_free(names, n);
					return errorf(why, whylen, "%s: holds a billing"
					    " file whose name is not UTF-8 (rename it)", p);
				}
				snprintf(path, sizeof(path), "%s/%s", p, names[k]);
				if (stat(path, &st) == 0)
					add_file(files, sig, path, &st);
			}
			dir_names_free(names, n);
		} else
			add_file(files, sig, p, &st);
	}
	return 0;
}

int
billing_load(struct focus_store *s, struct json_object *files, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < json_object_array_length(files); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(files, i));

		if ((strcmp(p, BUILTIN_BILLING) == 0 ? focus_load_buffer(s, p,
		    example_billing_csv, strlen(example_billing_csv), why, whylen) :
		    focus_load_file(s, p, why, whylen)) == -1)
			return -1;
	}
	focus_index(s);
	return 0;
}

static int
build(struct json_object *files, char *why, size_t whylen)
{
	struct focus_store *s = focus_store_new();
	char *buf = NULL;
	size_t len = 0, off;
	int fd;

	if (s == NULL)
		return errorf(why, whylen, "out of memory");
	if (billing_load(s, files, why, whylen) == -1) {
		focus_store_free(s);
		return -1;
	}
	if (focus_store_image(s, &buf, &len) == -1) {
		focus_store_free(s);
		return errorf(why, whylen, "out of memory");
	}
	img.rows = (int64_t)focus_count(s);
	{
		struct json_object *b = focus_bad_rows(s), *n;

		json_object_object_get_ex(b, "count", &n);
		img.bad = json_object_get_int64(n);
		json_object_put(b);
	}
	focus_store_free(s);
	if ((fd = memfd_create("pcm-billing", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1) {
		free(buf);
		return errorf(why, whylen, "memfd_create: %s", strerror(errno));
	}
	for (off = 0; off < len; ) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w <= 0) {
			free(buf);
			close(fd);
			return errorf(why, whylen, "writing the billing image: %s",
			    strerror(errno));
		}
		off += (size_t)w;
	}
	free(buf);
	/* Workers map it; nobody may change it under them. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL);
	if (img.fd != -1)
		close(img.fd);
	img.fd = fd;
	return 0;
}

int
billing_image_fd(const struct conf *c, int64_t *rows, int64_t *bad, char *why,
    size_t whylen)
{
	struct json_object *files;
	char *sig = NULL;
	size_t siglen = 0;
	FILE *f;
	int rc = 0;

	if (c->billing_focus.n == 0)
		return errorf(why, whylen, "no billing data: billing.focus names no"
		    " FOCUS export");
	if ((f = open_memstream(&sig, &siglen)) == NULL)
		return errorf(why, whylen, "out of memory");
	files = json_object_new_array();
	rc = billing_files(&c->billing_focus, files, f, why, whylen);
	fclose(f);
	if (rc == 0 && json_object_array_length(files) == 0)
		rc = errorf(why, whylen, "no billing data: billing.focus has no .csv"
		    " or .csv.gz files");
	if (rc == 0 && (img.fd == -1 || img.signature == NULL ||
	    strcmp(img.signature, sig) != 0)) {
		rc = build(files, why, whylen);
		if (rc == 0) {
			free(img.signature);
			img.signature = sig;
			sig = NULL;
		}
	}
	free(sig);
	json_object_put(files);
	if (rc == -1)
		return -1;
	*rows = img.rows;
	*bad = img.bad;
	return dup(img.fd);
}
