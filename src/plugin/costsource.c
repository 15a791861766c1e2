#include "config.h"

#include <string.h>

#include "../core/util.h"
#include "costsource.h"

#define F(n, name, t)		{ n, name, t, 0, NULL, NULL }
#define R(n, name, t)		{ n, name, t, 1, NULL, NULL }
#define M(n, name, m)		{ n, name, PB_MESSAGE, 0, &m, NULL }
#define RM(n, name, m)		{ n, name, PB_MESSAGE, 1, &m, NULL }
#define E(n, name, e)		{ n, name, PB_ENUM, 0, NULL, e }
#define RE(n, name, e)		{ n, name, PB_ENUM, 1, NULL, e }

static const char *const growth_types[] = { "GROWTH_TYPE_UNSPECIFIED",
	"GROWTH_TYPE_NONE", "GROWTH_TYPE_LINEAR", "GROWTH_TYPE_EXPONENTIAL", NULL };
static const char *const metric_kinds[] = { "METRIC_KIND_UNSPECIFIED",
	"METRIC_KIND_CARBON_FOOTPRINT", "METRIC_KIND_ENERGY", "METRIC_KIND_WATER", NULL };
static const char *const capabilities[] = { "PLUGIN_CAPABILITY_UNSPECIFIED",
	"PLUGIN_CAPABILITY_PROJECTED_COSTS", "PLUGIN_CAPABILITY_ACTUAL_COSTS",
	"PLUGIN_CAPABILITY_CARBON", "PLUGIN_CAPABILITY_RECOMMENDATIONS",
	"PLUGIN_CAPABILITY_DRY_RUN", "PLUGIN_CAPABILITY_BUDGETS",
	"PLUGIN_CAPABILITY_ENERGY", "PLUGIN_CAPABILITY_WATER",
	"PLUGIN_CAPABILITY_PRICING_SPEC", "PLUGIN_CAPABILITY_ESTIMATE_COST",
	"PLUGIN_CAPABILITY_DISMISS_RECOMMENDATIONS", NULL };
static const char *const usage_profiles[] = { "USAGE_PROFILE_UNSPECIFIED",
	"USAGE_PROFILE_PROD", "USAGE_PROFILE_DEV", "USAGE_PROFILE_BURST", NULL };
static const char *const pricing_categories[] = {
	"FOCUS_PRICING_CATEGORY_UNSPECIFIED", "FOCUS_PRICING_CATEGORY_STANDARD",
	"FOCUS_PRICING_CATEGORY_COMMITTED", "FOCUS_PRICING_CATEGORY_DYNAMIC",
	"FOCUS_PRICING_CATEGORY_OTHER", NULL };
static const char *const fallback_hints[] = { "FALLBACK_HINT_UNSPECIFIED",
	"FALLBACK_HINT_NONE", "FALLBACK_HINT_RECOMMENDED", "FALLBACK_HINT_REQUIRED", NULL };
static const char *const rec_categories[] = { "RECOMMENDATION_CATEGORY_UNSPECIFIED",
	"RECOMMENDATION_CATEGORY_COST", "RECOMMENDATION_CATEGORY_PERFORMANCE",
	"RECOMMENDATION_CATEGORY_SECURITY", "RECOMMENDATION_CATEGORY_RELIABILITY",
	"RECOMMENDATION_CATEGORY_ANOMALY", NULL };
static const char *const rec_actions[] = { "RECOMMENDATION_ACTION_TYPE_UNSPECIFIED",
	"RECOMMENDATION_ACTION_TYPE_RIGHTSIZE", "RECOMMENDATION_ACTION_TYPE_TERMINATE",
	"RECOMMENDATION_ACTION_TYPE_PURCHASE_COMMITMENT",
	"RECOMMENDATION_ACTION_TYPE_ADJUST_REQUESTS", "RECOMMENDATION_ACTION_TYPE_MODIFY",
	"RECOMMENDATION_ACTION_TYPE_DELETE_UNUSED", "RECOMMENDATION_ACTION_TYPE_MIGRATE",
	"RECOMMENDATION_ACTION_TYPE_CONSOLIDATE", "RECOMMENDATION_ACTION_TYPE_SCHEDULE",
	"RECOMMENDATION_ACTION_TYPE_REFACTOR", "RECOMMENDATION_ACTION_TYPE_OTHER",
	"RECOMMENDATION_ACTION_TYPE_INVESTIGATE", NULL };
static const char *const rec_priorities[] = { "RECOMMENDATION_PRIORITY_UNSPECIFIED",
	"RECOMMENDATION_PRIORITY_LOW", "RECOMMENDATION_PRIORITY_MEDIUM",
	"RECOMMENDATION_PRIORITY_HIGH", "RECOMMENDATION_PRIORITY_CRITICAL", NULL };
static const char *const budget_periods_pb[] = { "BUDGET_PERIOD_UNSPECIFIED",
	"BUDGET_PERIOD_DAILY", "BUDGET_PERIOD_WEEKLY", "BUDGET_PERIOD_MONTHLY",
	"BUDGET_PERIOD_QUARTERLY", "BUDGET_PERIOD_ANNUALLY", NULL };
static const char *const budget_health[] = { "BUDGET_HEALTH_STATUS_UNSPECIFIED",
	"BUDGET_HEALTH_STATUS_OK", "BUDGET_HEALTH_STATUS_WARNING",
	"BUDGET_HEALTH_STATUS_CRITICAL", "BUDGET_HEALTH_STATUS_EXCEEDED", NULL };
static const char *const threshold_types[] = { "THRESHOLD_TYPE_UNSPECIFIED",
	"THRESHOLD_TYPE_ACTUAL", "THRESHOLD_TYPE_FORECASTED", NULL };
static const char *const error_categories[] = { "ERROR_CATEGORY_UNSPECIFIED",
	"ERROR_CATEGORY_TRANSIENT", "ERROR_CATEGORY_PERMANENT",
	"ERROR_CATEGORY_CONFIGURATION", NULL };

static const struct pb_field empty_f[] = { { 0, "", PB_STRING, 0, NULL, NULL } };
static const struct pb_msg empty = { "Empty", empty_f, 0 };

static const struct pb_field name_resp_f[] = { F(1, "name", PB_STRING) };
static PB_MSG(name_resp, "NameResponse", name_resp_f);

static const struct pb_field descriptor_f[] = {
	F(1, "provider", PB_STRING), F(2, "resource_type", PB_STRING),
	F(3, "sku", PB_STRING), F(4, "region", PB_STRING),
	F(5, "tags", PB_MAP_SS), F(6, "utilization_percentage", PB_DOUBLE),
	F(7, "id", PB_STRING), F(8, "arn", PB_STRING),
	E(9, "growth_type", growth_types), F(10, "growth_rate", PB_DOUBLE),
};
static PB_MSG(descriptor, "ResourceDescriptor", descriptor_f);

static const struct pb_field supports_req_f[] = { M(1, "resource", descriptor) };
static PB_MSG(supports_req, "SupportsRequest", supports_req_f);
static const struct pb_field supports_resp_f[] = {
	F(1, "supported", PB_BOOL), F(2, "reason", PB_STRING),
	F(3, "capabilities", PB_MAP_SB), RE(4, "supported_metrics", metric_kinds),
	RE(5, "capabilities_enum", capabilities),
};
static PB_MSG(supports_resp, "SupportsResponse", supports_resp_f);

static const struct pb_field impact_f[] = {
	E(1, "kind", metric_kinds), F(2, "value", PB_DOUBLE), F(3, "unit", PB_STRING),
};
static PB_MSG(impact, "ImpactMetric", impact_f);

static const struct pb_field dry_resp_f[] = {
	F(2, "configuration_valid", PB_BOOL), R(3, "configuration_errors", PB_STRING),
	F(4, "resource_type_supported", PB_BOOL),
};
static PB_MSG(dry_resp, "DryRunResponse", dry_resp_f);

static const struct pb_field projected_req_f[] = {
	M(1, "resource", descriptor), F(2, "utilization_percentage", PB_DOUBLE),
	E(3, "growth_type", growth_types), F(4, "growth_rate", PB_DOUBLE),
	F(5, "dry_run", PB_BOOL), E(6, "usage_profile", usage_profiles),
};
static PB_MSG(projected_req, "GetProjectedCostRequest", projected_req_f);
static const struct pb_field projected_resp_f[] = {
	F(1, "unit_price", PB_DOUBLE), F(2, "currency", PB_STRING),
	F(3, "cost_per_month", PB_DOUBLE), F(4, "billing_detail", PB_STRING),
	RM(5, "impact_metrics", impact), E(6, "growth_type", growth_types),
	M(7, "dry_run_result", dry_resp), E(8, "pricing_category", pricing_categories),
	F(9, "spot_interruption_risk_score", PB_DOUBLE),
	F(10, "prediction_interval_lower", PB_DOUBLE),
	F(11, "prediction_interval_upper", PB_DOUBLE),
	F(12, "confidence_level", PB_DOUBLE),
};
static PB_MSG(projected_resp, "GetProjectedCostResponse", projected_resp_f);

static const struct pb_field actual_req_f[] = {
	F(1, "resource_id", PB_STRING), F(2, "start", PB_TIMESTAMP),
	F(3, "end", PB_TIMESTAMP), F(4, "tags", PB_MAP_SS), F(5, "arn", PB_STRING),
	F(6, "dry_run", PB_BOOL), F(7, "page_size", PB_INT32),
	F(8, "page_token", PB_STRING),
};
static PB_MSG(actual_req, "GetActualCostRequest", actual_req_f);
static const struct pb_field actual_result_f[] = {
	F(1, "timestamp", PB_TIMESTAMP), F(2, "cost", PB_DOUBLE),
	F(3, "usage_amount", PB_DOUBLE), F(4, "usage_unit", PB_STRING),
	F(5, "source", PB_STRING), RM(7, "impact_metrics", impact),
};
static PB_MSG(actual_result, "ActualCostResult", actual_result_f);
static const struct pb_field actual_resp_f[] = {
	RM(1, "results", actual_result), E(2, "fallback_hint", fallback_hints),
	M(3, "dry_run_result", dry_resp), F(4, "next_page_token", PB_STRING),
	F(5, "total_count", PB_INT32),
};
static PB_MSG(actual_resp, "GetActualCostResponse", actual_resp_f);

static const struct pb_field hint_f[] = {
	F(1, "metric", PB_STRING), F(2, "unit", PB_STRING),
};
static PB_MSG(hint, "UsageMetricHint", hint_f);
static const struct pb_field tier_f[] = {
	F(1, "min_quantity", PB_DOUBLE), F(2, "max_quantity", PB_DOUBLE),
	F(3, "rate_per_unit", PB_DOUBLE), F(4, "description", PB_STRING),
};
static PB_MSG(tier, "PricingTier", tier_f);
static const struct pb_field spec_f[] = {
	F(1, "provider", PB_STRING), F(2, "resource_type", PB_STRING),
	F(3, "sku", PB_STRING), F(4, "region", PB_STRING),
	F(5, "billing_mode", PB_STRING), F(6, "rate_per_unit", PB_DOUBLE),
	F(7, "currency", PB_STRING), F(8, "description", PB_STRING),
	RM(9, "metric_hints", hint), F(10, "plugin_metadata", PB_MAP_SS),
	F(11, "source", PB_STRING), F(12, "unit", PB_STRING),
	R(13, "assumptions", PB_STRING), RM(14, "pricing_tiers", tier),
};
static PB_MSG(spec, "PricingSpec", spec_f);
static const struct pb_field spec_req_f[] = { M(1, "resource", descriptor) };
static PB_MSG(spec_req, "GetPricingSpecRequest", spec_req_f);
static const struct pb_field spec_resp_f[] = { M(1, "spec", spec) };
static PB_MSG(spec_resp, "GetPricingSpecResponse", spec_resp_f);

static const struct pb_field estimate_req_f[] = {
	F(1, "resource_type", PB_STRING), F(2, "attributes", PB_STRUCT),
};
static PB_MSG(estimate_req, "EstimateCostRequest", estimate_req_f);
static const struct pb_field estimate_resp_f[] = {
	F(1, "currency", PB_STRING), F(2, "cost_monthly", PB_DOUBLE),
	E(3, "pricing_category", pricing_categories),
	F(4, "spot_interruption_risk_score", PB_DOUBLE),
};
static PB_MSG(estimate_resp, "EstimateCostResponse", estimate_resp_f);

static const struct pb_field rec_filter_f[] = {
	F(1, "provider", PB_STRING), F(2, "region", PB_STRING),
	F(3, "resource_type", PB_STRING), E(4, "category", rec_categories),
	E(5, "action_type", rec_actions),
};
static PB_MSG(rec_filter, "RecommendationFilter", rec_filter_f);
static const struct pb_field rec_resource_f[] = {
	F(1, "id", PB_STRING), F(2, "name", PB_STRING), F(3, "provider", PB_STRING),
	F(4, "resource_type", PB_STRING), F(5, "region", PB_STRING),
	F(6, "sku", PB_STRING), F(7, "tags", PB_MAP_SS),
};
static PB_MSG(rec_resource, "ResourceRecommendationInfo", rec_resource_f);
static const struct pb_field rec_impact_f[] = {
	F(1, "estimated_savings", PB_DOUBLE), F(2, "currency", PB_STRING),
	F(3, "projection_period", PB_STRING), F(4, "current_cost", PB_DOUBLE),
	F(5, "projected_cost", PB_DOUBLE), F(6, "savings_percentage", PB_DOUBLE),
};
static PB_MSG(rec_impact, "RecommendationImpact", rec_impact_f);
static const struct pb_field rec_f[] = {
	F(1, "id", PB_STRING), E(2, "category", rec_categories),
	E(3, "action_type", rec_actions), M(4, "resource", rec_resource),
	M(10, "impact", rec_impact), E(11, "priority", rec_priorities),
	F(12, "confidence_score", PB_DOUBLE), F(13, "description", PB_STRING),
	R(14, "reasoning", PB_STRING), F(15, "source", PB_STRING),
};
static PB_MSG(rec, "Recommendation", rec_f);
static const struct pb_field recs_req_f[] = {
	M(1, "filter", rec_filter), F(2, "projection_period", PB_STRING),
	F(3, "page_size", PB_INT32), F(4, "page_token", PB_STRING),
	R(5, "excluded_recommendation_ids", PB_STRING),
	RM(6, "target_resources", descriptor), E(7, "usage_profile", usage_profiles),
};
static PB_MSG(recs_req, "GetRecommendationsRequest", recs_req_f);
static const struct pb_field recs_resp_f[] = {
	RM(1, "recommendations", rec), F(3, "next_page_token", PB_STRING),
};
static PB_MSG(recs_resp, "GetRecommendationsResponse", recs_resp_f);

static const struct pb_field budget_filter_f[] = {
	R(1, "providers", PB_STRING), R(2, "regions", PB_STRING),
	R(3, "resource_types", PB_STRING), F(4, "tags", PB_MAP_SS),
};
static PB_MSG(budget_filter, "BudgetFilter", budget_filter_f);
static const struct pb_field budget_amount_f[] = {
	F(1, "limit", PB_DOUBLE), F(2, "currency", PB_STRING),
};
static PB_MSG(budget_amount, "BudgetAmount", budget_amount_f);
static const struct pb_field threshold_f[] = {
	F(1, "percentage", PB_DOUBLE), E(2, "type", threshold_types),
	F(3, "triggered", PB_BOOL), F(4, "triggered_at", PB_TIMESTAMP),
};
static PB_MSG(threshold, "BudgetThreshold", threshold_f);
static const struct pb_field budget_status_f[] = {
	F(1, "current_spend", PB_DOUBLE), F(2, "forecasted_spend", PB_DOUBLE),
	F(3, "percentage_used", PB_DOUBLE), F(4, "percentage_forecasted", PB_DOUBLE),
	F(5, "currency", PB_STRING), E(6, "health", budget_health),
};
static PB_MSG(budget_status, "BudgetStatus", budget_status_f);
static const struct pb_field budget_f[] = {
	F(1, "id", PB_STRING), F(2, "name", PB_STRING), F(3, "source", PB_STRING),
	M(4, "amount", budget_amount), E(5, "period", budget_periods_pb),
	M(6, "filter", budget_filter), RM(7, "thresholds", threshold),
	M(8, "status", budget_status),
};
static PB_MSG(budget, "Budget", budget_f);
static const struct pb_field budget_summary_f[] = {
	F(1, "total_budgets", PB_INT32), F(2, "budgets_ok", PB_INT32),
	F(3, "budgets_warning", PB_INT32), F(4, "budgets_exceeded", PB_INT32),
	F(5, "budgets_critical", PB_INT32),
};
static PB_MSG(budget_summary, "BudgetSummary", budget_summary_f);
static const struct pb_field budgets_req_f[] = {
	M(1, "filter", budget_filter), F(2, "include_status", PB_BOOL),
};
static PB_MSG(budgets_req, "GetBudgetsRequest", budgets_req_f);
static const struct pb_field budgets_resp_f[] = {
	RM(1, "budgets", budget), M(2, "summary", budget_summary),
};
static PB_MSG(budgets_resp, "GetBudgetsResponse", budgets_resp_f);

static const struct pb_field info_resp_f[] = {
	F(1, "name", PB_STRING), F(2, "version", PB_STRING),
	F(3, "spec_version", PB_STRING), R(4, "providers", PB_STRING),
	F(5, "metadata", PB_MAP_SS), RE(6, "capabilities", capabilities),
};
static PB_MSG(info_resp, "GetPluginInfoResponse", info_resp_f);

static const struct pb_field dry_req_f[] = {
	M(1, "resource", descriptor), F(2, "simulation_parameters", PB_MAP_SS),
};
static PB_MSG(dry_req, "DryRunRequest", dry_req_f);

static const struct pb_field any_f[] = {
	F(1, "type_url", PB_STRING), F(2, "value", PB_BYTES),
};
static PB_MSG(any, "Any", any_f);
static const struct pb_field status_f[] = {
	F(1, "code", PB_INT32), F(2, "message", PB_STRING), RM(3, "details", any),
};
PB_MSG(cs_status, "google.rpc.Status", status_f);
static const struct pb_field error_detail_f[] = {
	F(1, "code", PB_INT32), E(2, "category", error_categories),
	F(3, "message", PB_STRING), F(4, "details", PB_MAP_SS),
	F(5, "retry_after_seconds", PB_INT32), F(6, "timestamp", PB_TIMESTAMP),
};
PB_MSG(cs_error_detail, "finfocus.v1.ErrorDetail", error_detail_f);

static const struct cs_rpc rpcs[] = {
	{ "Name", &empty, &name_resp },
	{ "Supports", &supports_req, &supports_resp },
	{ "GetActualCost", &actual_req, &actual_resp },
	{ "GetProjectedCost", &projected_req, &projected_resp },
	{ "GetPricingSpec", &spec_req, &spec_resp },
	{ "EstimateCost", &estimate_req, &estimate_resp },
	{ "GetRecommendations", &recs_req, &recs_resp },
	{ "GetBudgets", &budgets_req, &budgets_resp },
	{ "GetPluginInfo", &empty, &info_resp },
	{ "DryRun", &dry_req, &dry_resp },
};

const struct cs_rpc *
cs_rpc(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(rpcs); i++)
		if (strcmp(rpcs[i].name, name) == 0)
			return &rpcs[i];
	return NULL;
}
