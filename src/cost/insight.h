/*
 * What the analysis tools over actual spend share (src/cost/insight.c):
 * the call's state (cost basis, filters, the stack's join), the stack's
 * scope of the billing data, times, amounts and metadata.  The tools are
 * one file each: anomalies.c, forecast.c, budget.c, recommend.c and
 * tags_actual.c (doc/analysis.md).
 */
#ifndef PCM_INSIGHT_H
#define PCM_INSIGHT_H

#include <stdint.h>

#include <json-c/json.h>

#include "../core/conf.h"
#include "daily.h"

struct focus_store;
struct pstack;
struct tool;
struct tool_call;

#define DAY		86400
#define MAX_CURRENCIES	8
#define DAYS_PER_MONTH	30.4375

#define SCOPE_ARGS \
	"\"stack_name\":{\"type\":\"string\",\"minLength\":1}," \
	"\"source\":{\"enum\":[\"state\",\"preview\"]}," \
	"\"cost_basis\":{\"enum\":[\"effective\",\"billed\",\"list\"]}," \
	"\"currency\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}$\"}," \
	"\"filters\":{\"type\":\"object\",\"properties\":{" \
	"\"service\":{\"type\":\"string\"},\"region\":{\"type\":\"string\"}," \
	"\"account\":{\"type\":\"string\"},\"tags\":{\"type\":\"object\"," \
	"\"additionalProperties\":{\"type\":\"string\"}}},\"additionalProperties\":false}"

#define TIME_RANGE \
	"{\"type\":\"object\",\"required\":[\"start\",\"end\"],\"properties\":{" \
	"\"start\":{\"type\":\"string\"},\"end\":{\"type\":\"string\"}}}"

struct insight {
	struct json_object	*args;
	struct strlist		 tag_keys, tag_values;	/* filters.tags */
	struct join		*j;
	struct daily_query	 q;
	const struct conf_budget *budget;	/* track_budget by name */
	struct json_object	*plugin_recs, *plugin_errors;	/* plugins' own */
	struct json_object	*plugin_budget;	/* track_budget of a plugin's */
	int64_t			 plugins_asked;	/* how many plugins answered */
};

struct insight	*insight_new(struct tool_call *, struct json_object *args);
void		 insight_free(void *);
const char	*arg_str(const struct insight *, const char *k);
int		 add_tag_filter(struct insight *, const char *k, const char *v);
/* Charges of the stack's resources, or all of them when no stack is named. */
int		 insight_scope(struct tool_call *, struct insight *, struct pstack *);
int64_t		 day_floor(int64_t);
int64_t		 day_ceil(int64_t);
const char	*fmt_time(int64_t, int date_only, char *buf, size_t len);
struct json_object *iso_time(int64_t);
/* An amount rounded, null when there is none; a percentage likewise. */
struct json_object *money(double);
struct json_object *pct(double);
/* A time argument: -1 after answering the call with why. */
int		 time_arg(struct tool_call *, struct json_object *o, const char *key,
		    const char *what, int64_t *out);
struct json_object *scope_meta(const struct insight *, const struct focus_store *,
		    const struct daily *);
/* The days of d with data: the first, and how many (complete ones). */
void		 data_days(const struct daily *, int *first, int *n);
void		 no_spend(struct tool_call *, const struct insight *,
		    const struct focus_store *);
/* x[a..b] summed (a may be negative: from 0). */
double		 series_sum(const double *x, int a, int b);
uint32_t	 fnv32(const char *);

extern const struct tool t_detect_anomalies, t_forecast_costs, t_track_budget,
		    t_get_recs;

#endif
