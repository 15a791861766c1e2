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
struct event_base;
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
 * The current image to cb: at once when it is up to date or cannot be
 * made, else when a child process has built it (the broker goes on
 * answering meanwhile); calls while a build is under way wait for it.
 * fd is a new descriptor the callback closes, with the row and bad-row
 * counts; or -1 with why (none configured, a file unusable).
 */
typedef void (*billing_cb)(int fd, int64_t rows, int64_t bad, const char *why,
	    void *arg);
void	 billing_image(struct event_base *, const struct conf *, billing_cb,
	    void *arg);
/* A load under way stopped, its waiters told, the image let go. */
void	 billing_stop(void);

#endif
