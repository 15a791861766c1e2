/*
 * The messages of the cost-source plugin protocol (proto/costsource.proto)
 * as tables for the codec (pb.h), and its RPCs by name.
 */
#ifndef PCM_COSTSOURCE_H
#define PCM_COSTSOURCE_H

#include "pb.h"

struct cs_rpc {
	const char		*name;		/* "GetProjectedCost" */
	const struct pb_msg	*req, *resp;
};

/* The RPC of that name, or NULL. */
const struct cs_rpc *cs_rpc(const char *name);
/* google.rpc.Status, with finfocus.v1.ErrorDetail among its details. */
extern const struct pb_msg cs_status, cs_error_detail;

#endif
