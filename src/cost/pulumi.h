/*
 * Pulumi ingest: `pulumi preview --json` (the real previewDigest with
 * steps[].newState/oldState, and the simplified steps with top-level
 * type/inputs), `pulumi stack export` (version 3) and DIY-backend
 * checkpoints ({"version":3,"checkpoint":{...}}), into one list of
 * resources.  Strings and objects point into the parsed document, which
 * the stack owns.
 *
 * Preview steps are merged by URN (a replacement is several steps of one
 * resource).  What each op means for the month after the update:
 *
 *   op                   before  after   inputs after
 *   create                 no     yes    newState
 *   update                 yes    yes    newState (old: oldState)
 *   same                   yes    yes    newState or oldState
 *   replace                yes    yes    newState (old: oldState)
 *   create-replacement     yes    yes    newState
 *   delete-replaced        yes    --     (the replacement is counted)
 *   delete                 yes    no     -- (old: oldState)
 *   import                 no     yes    newState (now managed here)
 *   read                   no     no     external, not managed by the stack
 *   refresh                yes    yes    newState or oldState
 *   discard, discard-replaced, remove-pending-replace: no and no.
 *
 * A stack export or checkpoint is the stack as deployed: every custom
 * resource exists, before and after.
 */
#ifndef PCM_PULUMI_H
#define PCM_PULUMI_H

#include <stddef.h>

#include <json-c/json.h>

enum pulumi_kind { PULUMI_PREVIEW, PULUMI_EXPORT, PULUMI_CHECKPOINT };

/*
 * One resource.  Its strings are its own; its inputs and outputs are kept
 * as compact JSON text and parsed when asked for (pulumi_inputs, ...),
 * so a stack of tens of MB costs about its size in memory, not the
 * several times more a parsed tree would.  pulumi_release drops what
 * was parsed.
 */
struct presource {
	char			*urn, *type;
	const char		*name;		/* points into urn */
	char			*id;		/* cloud id, when deployed */
	char			*parent;	/* URN or NULL */
	char			*provider;	/* provider resource URN, or NULL */
	const char		*op;		/* "create", ...; "state" for exports */
	int			 custom;
	int			 before, after;	/* exists before / after */
	/* compact JSON text, NULL when absent; old NULL with old_is_new */
	char			*in_text, *old_text, *out_text, *deps_text;
	int			 old_is_new;
	/* parsed on demand (mutable even through a const resource) */
	struct json_object	*in_c, *old_c, *out_c, *deps_c;
};

struct pstack {
	enum pulumi_kind	 kind;
	struct json_object	*config;	/* preview config ("aws:region") */
	char			*stack, *project;
	struct presource	*r;
	size_t			 n;
	struct json_object	*by_urn;	/* URN -> index into r */
	/* Previews without --show-sames count unchanged resources they do
	 * not list: changeSummary.same against the same steps present. */
	int64_t			 sames_counted, sames_listed;
	/* What cost-source plugins priced of it, by URN (NULL: none asked). */
	struct json_object	*plugin_prices;
	struct json_object	*plugin_errors;
};

/* Inputs after the update, before it, outputs, dependencies: parsed on
 * first use and kept until pulumi_release; NULL when absent. */
struct json_object *pulumi_inputs(const struct presource *);
struct json_object *pulumi_old_inputs(const struct presource *);
struct json_object *pulumi_outputs(const struct presource *);
struct json_object *pulumi_deps(const struct presource *);
void		 pulumi_release(const struct presource *);

/*
 * Parse a document of len bytes.  NULL with a message saying what, where
 * and why ("steps[3]: op must be a string").
 */
struct pstack	*pulumi_parse(const char *buf, size_t len, char *err,
		    size_t errlen);
void		 pulumi_free(struct pstack *);
const char	*pulumi_kind_name(enum pulumi_kind);

/* Lookups within a stack; NULL when absent. */
const struct presource *pulumi_find_urn(const struct pstack *, const char *urn);
/* The package of a type token: "aws" of "aws:ec2/instance:Instance". */
void		 pulumi_type_package(const char *type, char *out, size_t len);
/* The module: "ec2" of "aws:ec2/instance:Instance", "compute" of
 * "azure-native:compute:VirtualMachine". */
void		 pulumi_type_module(const char *type, char *out, size_t len);
/* Is this value a Pulumi secret (the signature envelope, or "[secret]")? */
int		 pulumi_is_secret(struct json_object *);
/* A copy of v with every secret replaced by "[secret]" (new reference). */
struct json_object *pulumi_redact(struct json_object *v);

#endif
