#include "config.h"

#include <math.h>

#include "jget.h"

struct json_object *
jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, k, &v) ? v : NULL;
}

struct json_object *
jget_obj(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return json_object_is_type(v, json_type_object) ? v : NULL;
}

const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

double
jnum(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double) ? json_object_get_double(v) : NAN;
}
