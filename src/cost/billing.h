/*
 * The broker's side of billing data: the FOCUS files named by
 * billing.focus (files, or directories of *.csv and *.csv.gz) loaded into
 * one store image in a sealed memfd, which workers map read-only.  The
 * image is rebuilt when a file changes (size or mtime) and otherwise
 * shared as it is.
 */
#ifndef PCM_BILLING_H
#define PCM_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

struct conf;
struct focus_store;
struct json_object;
struct strlist;

/*
 * The files that paths name (a file, a directory's *.csv and *.csv.gz in
 * name order, or builtin:example-billing) appended to files; with sig, a
 * line per file of its size and time.  0, or -1 with why.
 */
int	 billing_files(const struct strlist *paths, struct json_object *files,
	    FILE *sig, char *why, size_t whylen);

/* Those files loaded into s and indexed: 0, or -1 with why. */
int	 billing_load(struct focus_store *s, struct json_object *files, char *why,
	    size_t whylen);

/*
 * A new descriptor of the current image (the caller closes it), with its
 * row and bad-row counts; -1 with why (none configured, a file unusable).
 */
int	 billing_image_fd(const struct conf *, int64_t *rows, int64_t *bad,
	    char *why, size_t whylen);

#endif
