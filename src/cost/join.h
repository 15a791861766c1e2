/*
 * Joining billing charges to a stack's resources (doc/actual.md): first
 * by the charge's ResourceId, equal to a resource's id, arn, selfLink or
 * URN; then by the tag keys of billing.join_tags, whose value in the
 * charge's Tags is a resource's id or URN, or the value of the same tag
 * on the stack's resources: one resource, that resource; several (a
 * stack-wide tag), the stack's, under "(tag KEY=VALUE)".  A charge that
 * joins to nothing is unattributed.
 */
#ifndef PCM_JOIN_H
#define PCM_JOIN_H

#include <stddef.h>

#include "focus.h"
#include "pulumi.h"

struct join;
struct strlist;

struct join	*join_new(const struct pstack *, const struct strlist *tag_keys);
void		 join_free(struct join *);
/*
 * What a charge joins to: an index for join_name (the stack's resources
 * first, in stack order, then tag groups), or -1.  Answers are cached by
 * the charge's interned ResourceId and Tags, so a join is used with one
 * store only.
 */
int		 join_row(struct join *, const struct focus_store *,
		    const struct focus_row *);
const char	*join_name(const struct join *, int);
/* The resource of a cloud id, ARN or URN: its index, or -1. */
int		 join_id(const struct join *, const char *id);
/* How many names, and how many ids the stack's resources carry. */
size_t		 join_count(const struct join *);
size_t		 join_ids(const struct join *);
/* The rule, for answers' metadata. */
const char	*join_rule(const struct join *);

#endif
