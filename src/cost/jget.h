/*
 * Reading members of parsed JSON documents (Pulumi state, specs, price
 * lists, our own answers): absent, of another type, or asked of something
 * that is not an object, they read as NULL (NAN for numbers).
 */
#ifndef PCM_JGET_H
#define PCM_JGET_H

#include <json-c/json.h>

struct json_object *jget(struct json_object *o, const char *k);
struct json_object *jget_obj(struct json_object *o, const char *k);
const char	*jstr(struct json_object *o, const char *k);
double		 jnum(struct json_object *o, const char *k);	/* int or double */

#endif
