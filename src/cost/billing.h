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

struct conf;

/*
 * A new descriptor of the current image (the caller closes it), with its
 * row and bad-row counts; -1 with why (none configured, a file unusable).
 */
int	 billing_image_fd(const struct conf *, int64_t *rows, int64_t *bad,
	    char *why, size_t whylen);

#endif
