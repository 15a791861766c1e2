#include "config.h"

#include <math.h>

#include "money.h"

void
money_add(struct json_object *obj, const char *key, const char *cur, double v)
{
	struct json_object *by, *old;

	if (!json_object_object_get_ex(obj, key, &by)) {
		by = json_object_new_object();
		json_object_object_add(obj, key, by);
	}
	/* Update in place: this runs once per charge and period. */
	if (json_object_object_get_ex(by, cur, &old))
		json_object_set_double(old, json_object_get_double(old) + v);
	else
		json_object_object_add(by, cur, json_object_new_double(v));
}

double
money_round(double v)
{
	return round(v * 1e6) / 1e6;
}

struct json_object *
money_rounded(struct json_object *by)
{
	struct json_object *o = json_object_new_object(), *per;

	json_object_object_foreach(by, k, v) {
		if (json_object_is_type(v, json_type_object)) {
			per = json_object_new_object();
			json_object_object_foreach(v, c, a)
				json_object_object_add(per, c, json_object_new_double(
				    money_round(json_object_get_double(a))));
			json_object_object_add(o, k, per);
		} else
			json_object_object_add(o, k, json_object_new_double(
			    money_round(json_object_get_double(v))));
	}
	return o;
}
