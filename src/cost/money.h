/*
 * Amounts by key and currency: sums kept per currency, never across, and
 * reported to a millionth so no binary-fraction noise reaches an answer.
 */
#ifndef PCM_MONEY_H
#define PCM_MONEY_H

#include <json-c/json.h>

/* obj[key][currency] += v */
void		 money_add(struct json_object *obj, const char *key,
		    const char *currency, double v);
double		 money_round(double);
/* A copy of {key: {currency: amount}} (or {key: amount}), rounded. */
struct json_object *money_rounded(struct json_object *by);

#endif
