/*
 * Plugin answers: the protobuf decoder for every CostSourceService
 * response type (the first byte picks one) and for google.rpc.Status.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../src/plugin/costsource.h"
#include "../src/plugin/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rpcs[] = { "Name", "GetPluginInfo", "Supports",
	    "GetProjectedCost", "GetActualCost", "GetRecommendations", "GetBudgets",
	    "GetPricingSpec", "EstimateCost", "DryRun" };
	const struct cs_rpc *r;
	const struct pb_msg *m;
	char why[256];

	if (size == 0)
		return 0;
	if (data[0] % 11 == 10)
		m = &cs_status;
	else if ((r = cs_rpc(rpcs[data[0] % 11 % 10])) != NULL)
		m = r->resp;
	else
		return 0;
	json_object_put(pb_decode(m, data + 1, size - 1, why, sizeof(why)));
	return 0;
}
