#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/util.h"
#include "catalog.h"
#include "money.h"
#include "spec.h"
#include "engine.h"
#include "jget.h"

/* --- usage assumptions ---------------------------------------------------- */

static const struct usage_def {
	const char	*key;
	double		 def;
	const char	*desc;
} usage_defs[] = {
	{ "storage_gb", 100, "GB stored in each bucket or storage account"
	  " (S3, Cloud Storage, Azure Blob)" },
	{ "requests_per_month", 1000000, "invocations of each Lambda function"
	  " per month" },
	{ "lambda_duration_ms", 100, "average duration of a Lambda invocation,"
	  " milliseconds" },
	{ "lb_lcu", 1, "average capacity units (LCU, NLCU) of each load"
	  " balancer per hour" },
	{ "nat_data_gb", 100, "GB processed by each NAT gateway per month" },
	{ "dynamodb_reads_millions", 1, "millions of read request units per"
	  " on-demand DynamoDB table per month" },
	{ "dynamodb_writes_millions", 1, "millions of write request units per"
	  " on-demand DynamoDB table per month" },
	{ "dynamodb_storage_gb", 1, "GB stored in each DynamoDB table" },
	{ "log_ingest_gb", 1, "GB ingested into each CloudWatch log group per"
	  " month (and kept one month)" },
	{ "data_transfer_gb", 100, "GB transferred per resource per month (spec"
	  " files billed per GB transferred)" },
};

/* --- one resource --------------------------------------------------------- */

enum rstatus { R_PRICED, R_FREE, R_UNPRICED };

struct rctx {
	const struct pstack	*s;
	const struct presource	*r;
	const struct cost_opts	*o;
	struct json_object	*in;		/* the inputs priced */
	char			 pkg[32];
	char			 region[64];
	const char		*region_from;
	struct json_object	*components;
	struct json_object	*used;		/* usage keys used -> value */
	struct json_object	*empty;		/* inputs when the document has none */
	double			 monthly;
	char			 currency[8];
	enum rstatus		 status;
	char			 reason[320];
	const char		*category;
};

static int	unpriced(struct rctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
unpriced(struct rctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->status == R_UNPRICED)
		return -1;	/* the first reason stands */
	va_start(ap, fmt);
	vsnprintf(x->reason, sizeof(x->reason), fmt, ap);
	va_end(ap);
	x->status = R_UNPRICED;
	return -1;
}

static int
no_charge(struct rctx *x, const char *why)
{
	x->status = R_FREE;
	strlcpy_(x->reason, why, sizeof(x->reason));
	return 0;
}

/* An input, unless it is a secret: those are never priced on. */
static struct json_object *
in_get(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return pulumi_is_secret(v) ? NULL : v;
}

static const char *
in_str(struct json_object *o, const char *k)
{
	struct json_object *v = in_get(o, k);

	return json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0 ? json_object_get_string(v) : NULL;
}

/* A number, or a string holding one ("20"). */
static int
in_num(struct json_object *o, const char *k, double *out)
{
	struct json_object *v = in_get(o, k);
	char *end;

	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)) {
		*out = json_object_get_double(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		*out = strtod(json_object_get_string(v), &end);
		return end != json_object_get_string(v) && *end == '\0' ? 0 : -1;
	}
	return -1;
}

static double
usage(struct rctx *x, const char *key)
{
	double v = 0;
	size_t i;

	for (i = 0; i < nitems(usage_defs); i++)
		if (strcmp(usage_defs[i].key, key) == 0)
			v = usage_defs[i].def;
	if (x->o->usage != NULL)
		(void)in_num(x->o->usage, key, &v);
	json_object_object_add(x->used, key, json_object_new_double(v));
	return v;
}

/* Add a component at a known price: quantity in the price's unit. */
static int
component_at(struct rctx *x, const char *name, const char *sku, double quantity,
    const char *unit, double amount, const char *currency, const char *source,
    const char *effective, const char *origin)
{
	struct json_object *c;
	double m;

	if (x->currency[0] && strcmp(x->currency, currency) != 0)
		return unpriced(x, "its prices are in different currencies (%s,"
		    " %s)", x->currency, currency);
	strlcpy_(x->currency, currency, sizeof(x->currency));
	m = amount * quantity;
	x->monthly += m;
	c = json_object_new_object();
	json_object_object_add(c, "name", json_object_new_string(name));
	json_object_object_add(c, "sku", json_object_new_string(sku ? sku : ""));
	json_object_object_add(c, "quantity", json_object_new_double(money_round(quantity)));
	json_object_object_add(c, "unit", json_object_new_string(unit));
	json_object_object_add(c, "unit_price", json_object_new_double(amount));
	json_object_object_add(c, "monthly_cost", json_object_new_double(money_round(m)));
	json_object_object_add(c, "currency", json_object_new_string(currency));
	json_object_object_add(c, "source", json_object_new_string(source));
	json_object_object_add(c, "effective_date", json_object_new_string(effective));
	json_object_object_add(c, "origin", json_object_new_string(origin));
	json_object_array_add(x->components, c);
	return 0;
}

/*
 * Add a priced component from the catalogue: quantity is in the price's
 * unit (hours for an hourly price, GB for a GB-month price, ...).  -1
 * when there is no price.
 */
static int
component(struct rctx *x, const char *name, const char *kind, const char *sku,
    double quantity, const char *what)
{
	const struct price *p = catalog_find(strncmp(x->pkg, "azure", 5) == 0 ?
	    "azure" : x->pkg, kind, sku, x->region[0] ? x->region : NULL);

	if (p == NULL)
		return unpriced(x, "no price for %s %s in %s in the catalogue or"
		    " spec files", what, sku ? sku : "(none)", x->region[0] ?
		    x->region : "an unknown region");
	return component_at(x, name, p->sku, quantity, p->unit, p->amount,
	    p->currency, p->source, p->effective, p->origin);
}

/* --- regions -------------------------------------------------------------- */

static void
set_region(struct rctx *x, const char *v, const char *from, int cut_zone)
{
	size_t n, i;

	if (v == NULL || x->region[0])
		return;
	strlcpy_(x->region, v, sizeof(x->region));
	n = strlen(x->region);
	if (cut_zone == 1 && n > 1 && isalpha((unsigned char)x->region[n - 1]) &&
	    isdigit((unsigned char)x->region[n - 2]))
		x->region[n - 1] = '\0';	/* us-west-2a -> us-west-2 */
	else if (cut_zone == 2 && n > 2 && x->region[n - 2] == '-')
		x->region[n - 2] = '\0';	/* us-central1-a -> us-central1 */
	/* Azure writes "East US" as well as "eastus", GCP bucket locations
	 * "US-CENTRAL1": region names compare in lower case, without spaces. */
	if (strncmp(x->pkg, "azure", 5) == 0 || strcmp(x->pkg, "gcp") == 0) {
		for (i = 0, n = 0; x->region[i]; i++)
			if (x->region[i] != ' ')
				x->region[n++] = (char)tolower((unsigned char)x->region[i]);
		x->region[n] = '\0';
	}
	x->region_from = from;
}

static const char *
config_str(const struct pstack *s, const char *k)
{
	struct json_object *v;

	if (s->config == NULL || !json_object_object_get_ex(s->config, k, &v))
		return NULL;
	/* "aws:region": "us-east-1" or {"value": "us-east-1", ...} */
	if (json_object_is_type(v, json_type_object) &&
	    !json_object_object_get_ex(v, "value", &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* An Azure resource in a resource group: the group's location. */
static const char *
resource_group_location(const struct pstack *s, const char *rg)
{
	size_t i;

	for (i = 0; rg != NULL && i < s->n; i++)
		if (strcmp(s->r[i].type, "azure:core/resourceGroup:ResourceGroup") == 0 &&
		    in_str(pulumi_inputs(&s->r[i]), "name") != NULL &&
		    strcmp(in_str(pulumi_inputs(&s->r[i]), "name"), rg) == 0)
			return in_str(pulumi_inputs(&s->r[i]), "location");
	return NULL;
}

static void
resolve_region(struct rctx *x)
{
	const struct presource *prov = x->r->provider ?
	    pulumi_find_urn(x->s, x->r->provider) : NULL;
	struct json_object *pin = prov ? pulumi_inputs(prov) : NULL;
	char key[48];

	if (strcmp(x->pkg, "aws") == 0) {
		set_region(x, in_str(x->in, "region"), "inputs.region", 0);
		set_region(x, in_str(x->in, "availabilityZone"),
		    "inputs.availabilityZone", 1);
		set_region(x, in_str(pin, "region"), "provider", 0);
	} else if (strncmp(x->pkg, "azure", 5) == 0) {
		set_region(x, in_str(x->in, "location"), "inputs.location", 0);
		set_region(x, resource_group_location(x->s, in_str(x->in,
		    "resourceGroupName")), "resource group", 0);
		set_region(x, in_str(pin, "location"), "provider", 0);
	} else if (strcmp(x->pkg, "gcp") == 0) {
		set_region(x, in_str(x->in, "region"), "inputs.region", 0);
		set_region(x, in_str(x->in, "zone"), "inputs.zone", 2);
		set_region(x, in_str(x->in, "location"), "inputs.location", 0);
		set_region(x, in_str(pin, "region"), "provider", 0);
		set_region(x, in_str(pin, "zone"), "provider", 2);
	}
	snprintf(key, sizeof(key), "%s:region", x->pkg);
	set_region(x, config_str(x->s, key), "stack config", 0);
	snprintf(key, sizeof(key), "%s:location", x->pkg);
	set_region(x, config_str(x->s, key), "stack config", 0);
	set_region(x, x->o->default_region, "default_region", 0);
}

/* --- pricers, one per resource type ------------------------------------- */

typedef int (*pricer)(struct rctx *);

static int
need_region(struct rctx *x)
{
	if (x->region[0] == '\0')
		return unpriced(x, "its region is unknown: set it on the resource"
		    " or its provider, or pass default_region");
	return 0;
}

static int
hours(struct rctx *x, const char *name, const char *kind, const char *sku,
    double count, const char *what)
{
	return component(x, name, kind, sku, HOURS_PER_MONTH * count, what);
}

static int
p_ec2_volume(struct rctx *x, struct json_object *dev, const char *label,
    const char *def_type)
{
	const char *t = in_str(dev, "volumeType") ? in_str(dev, "volumeType") :
	    in_str(dev, "type") ? in_str(dev, "type") : def_type;
	double size, iops, tput;

	if (in_num(dev, "volumeSize", &size) == -1 && in_num(dev, "size", &size) == -1)
		return unpriced(x, "%s: the size comes from the image or snapshot"
		    " and is not in the inputs", label);
	if (component(x, label, "ebs", t, size, "EBS volume type") == -1)
		return -1;
	if (in_num(dev, "iops", &iops) == 0) {
		if (strcmp(t, "gp3") == 0 && iops > 3000)
			return component(x, "provisioned IOPS above 3,000",
			    "ebs-iops", "gp3", iops - 3000, "IOPS");
		if (strcmp(t, "io1") == 0 || strcmp(t, "io2") == 0)
			return component(x, "provisioned IOPS", "ebs-iops", "io1",
			    iops, "IOPS");
	}
	if (strcmp(t, "gp3") == 0 && in_num(dev, "throughput", &tput) == 0 &&
	    tput > 125)
		return component(x, "throughput above 125 MB/s", "ebs-throughput",
		    "gp3", tput - 125, "throughput");
	return 0;
}

static int
p_aws_instance(struct rctx *x)
{
	const char *t = in_str(x->in, "instanceType");
	struct json_object *root = in_get(x->in, "rootBlockDevice");

	x->category = "compute";
	if (t == NULL)
		return unpriced(x, "instanceType is not set");
	if (need_region(x) == -1 || hours(x, "instance hours", "ec2", t, 1,
	    "EC2 instance type") == -1)
		return -1;
	if (root != NULL && in_get(root, "volumeSize") != NULL)
		return p_ec2_volume(x, root, "root volume", "gp2");
	return 0;
}

static int
p_aws_volume(struct rctx *x)
{
	x->category = "storage";
	if (need_region(x) == -1)
		return -1;
	return p_ec2_volume(x, x->in, "volume", "gp2");
}

static int
p_aws_rds(struct rctx *x)
{
	const char *cls = in_str(x->in, "instanceClass") ? in_str(x->in,
	    "instanceClass") : in_str(x->in, "dbInstanceClass");
	const char *engine = in_str(x->in, "engine");
	const char *st = in_str(x->in, "storageType") ? in_str(x->in,
	    "storageType") : "gp2";
	struct json_object *maz = in_get(x->in, "multiAz");
	double n = maz && json_object_get_boolean(maz) ? 2 : 1, gb, iops;
	char kind[48];

	x->category = "database";
	if (cls == NULL)
		return unpriced(x, "instanceClass is not set");
	if (engine == NULL)
		return unpriced(x, "engine is not set");
	if (need_region(x) == -1)
		return -1;
	snprintf(kind, sizeof(kind), "rds-%s", strncmp(engine, "aurora", 6) == 0 ?
	    engine : strcmp(engine, "mariadb") == 0 ? "mariadb" : engine);
	if (hours(x, n > 1 ? "instance hours (Multi-AZ: two)" : "instance hours",
	    kind, cls, n, "RDS instance class") == -1)
		return -1;
	if (in_num(x->in, "allocatedStorage", &gb) == 0 &&
	    component(x, "storage", "rds-storage", st, gb * n, "RDS storage type") == -1)
		return -1;
	if (strcmp(st, "io1") == 0 && in_num(x->in, "iops", &iops) == 0)
		return component(x, "provisioned IOPS", "rds-iops", "io1", iops * n,
		    "RDS IOPS");
	return 0;
}

static int
storage_class_price(struct rctx *x, const char *kind, const char *cls)
{
	return component(x, "storage (usage assumption storage_gb)", kind, cls,
	    usage(x, "storage_gb"), "storage class");
}

static int
p_aws_s3(struct rctx *x)
{
	x->category = "storage";
	if (need_region(x) == -1)
		return -1;
	return storage_class_price(x, "s3", "STANDARD");
}

static int
p_aws_lambda(struct rctx *x)
{
	struct json_object *arch = in_get(x->in, "architectures");
	const char *a = "x86_64";
	double mem = 128, req, gbs;

	x->category = "compute";
	if (json_object_is_type(arch, json_type_array) &&
	    json_object_array_length(arch) > 0)
		a = json_object_get_string(json_object_array_get_idx(arch, 0));
	(void)in_num(x->in, "memorySize", &mem);
	if (need_region(x) == -1)
		return -1;
	req = usage(x, "requests_per_month");
	gbs = req * usage(x, "lambda_duration_ms") / 1000.0 * mem / 1024.0;
	if (component(x, "requests (usage assumption requests_per_month)",
	    "lambda-requests", a, req / 1e6, "Lambda architecture") == -1)
		return -1;
	return component(x, "compute GB-seconds (memorySize x duration x"
	    " requests)", "lambda-duration", a, gbs, "Lambda architecture");
}

static int
p_aws_lb(struct rctx *x)
{
	const char *t = in_str(x->in, "loadBalancerType") ?
	    in_str(x->in, "loadBalancerType") : "application";

	x->category = "network";
	if (strcmp(t, "gateway") == 0)
		return unpriced(x, "gateway load balancers are not in the catalogue");
	if (need_region(x) == -1 || hours(x, "load balancer hours", "elb", t, 1,
	    "load balancer type") == -1)
		return -1;
	return hours(x, "capacity units (usage assumption lb_lcu)", "elb-lcu", t,
	    usage(x, "lb_lcu"), "load balancer type");
}

static int
p_aws_nat(struct rctx *x)
{
	x->category = "network";
	if (need_region(x) == -1 ||
	    hours(x, "gateway hours", "nat", "gateway", 1, "NAT gateway") == -1)
		return -1;
	return component(x, "data processed (usage assumption nat_data_gb)",
	    "nat-data", "gateway", usage(x, "nat_data_gb"), "NAT gateway");
}

static int
p_aws_eip(struct rctx *x)
{
	x->category = "network";
	return hours(x, "public IPv4 address hours", "publicipv4", "address", 1,
	    "public IPv4 address");
}

static int
p_aws_eks(struct rctx *x)
{
	x->category = "compute";
	return hours(x, "cluster hours", "eks", "cluster", 1, "EKS");
}

static int
p_aws_nodegroup(struct rctx *x)
{
	struct json_object *types = in_get(x->in, "instanceTypes");
	struct json_object *sc = in_get(x->in, "scalingConfig");
	const char *t = "t3.medium";
	double n, disk = 20;

	x->category = "compute";
	if (json_object_is_type(types, json_type_array) &&
	    json_object_array_length(types) > 0)
		t = json_object_get_string(json_object_array_get_idx(types, 0));
	if (in_num(sc, "desiredSize", &n) == -1)
		return unpriced(x, "scalingConfig.desiredSize is not set");
	(void)in_num(x->in, "diskSize", &disk);
	if (need_region(x) == -1 || hours(x, "node instance hours", "ec2", t, n,
	    "EC2 instance type") == -1)
		return -1;
	return component(x, "node volumes (gp2)", "ebs", "gp2", disk * n,
	    "EBS volume type");
}

/* The launch template an autoscaling group names, in the same stack. */
static const struct presource *
launch_template(const struct pstack *s, struct json_object *ref)
{
	const char *id = in_str(ref, "id"), *name = in_str(ref, "name");
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct presource *r = &s->r[i];

		if (strcmp(r->type, "aws:ec2/launchTemplate:LaunchTemplate") != 0)
			continue;
		if ((id != NULL && r->id != NULL && strcmp(id, r->id) == 0) ||
		    (name != NULL && in_str(pulumi_inputs(r), "name") != NULL &&
		    strcmp(name, in_str(pulumi_inputs(r), "name")) == 0))
			return r;
	}
	return NULL;
}

static int
p_aws_asg(struct rctx *x)
{
	struct json_object *lt = in_get(x->in, "launchTemplate");
	const struct presource *tpl;
	const char *t;
	double n;

	x->category = "compute";
	if (in_num(x->in, "desiredCapacity", &n) == -1 &&
	    in_num(x->in, "minSize", &n) == -1)
		return unpriced(x, "neither desiredCapacity nor minSize is set");
	if (lt == NULL)
		return unpriced(x, "only groups with a launchTemplate are priced");
	if ((tpl = launch_template(x->s, lt)) == NULL)
		return unpriced(x, "its launch template is not in this stack");
	if ((t = in_str(pulumi_inputs(tpl), "instanceType")) == NULL)
		return unpriced(x, "its launch template sets no instanceType");
	if (need_region(x) == -1)
		return -1;
	return hours(x, "instance hours (desired capacity)", "ec2", t, n,
	    "EC2 instance type");
}

static int
p_aws_elasticache(struct rctx *x)
{
	const char *t = in_str(x->in, "nodeType");
	double n = 1, groups, replicas;

	x->category = "database";
	if (t == NULL)
		return unpriced(x, "nodeType is not set");
	if (in_num(x->in, "numCacheNodes", &n) == -1 &&
	    in_num(x->in, "numCacheClusters", &n) == -1 &&
	    in_num(x->in, "numNodeGroups", &groups) == 0) {
		replicas = 0;
		(void)in_num(x->in, "replicasPerNodeGroup", &replicas);
		n = groups * (replicas + 1);
	}
	if (need_region(x) == -1)
		return -1;
	return hours(x, "node hours", "elasticache", t, n, "ElastiCache node type");
}

static int
p_aws_dynamodb(struct rctx *x)
{
	const char *mode = in_str(x->in, "billingMode");
	double rcu = 0, wcu = 0;

	x->category = "database";
	if (need_region(x) == -1)
		return -1;
	if (mode != NULL && strcmp(mode, "PAY_PER_REQUEST") == 0) {
		if (component(x, "reads (usage assumption dynamodb_reads_millions)",
		    "dynamodb-read", "on-demand", usage(x, "dynamodb_reads_millions"),
		    "DynamoDB") == -1 ||
		    component(x, "writes (usage assumption dynamodb_writes_millions)",
		    "dynamodb-write", "on-demand", usage(x, "dynamodb_writes_millions"),
		    "DynamoDB") == -1)
			return -1;
	} else {
		(void)in_num(x->in, "readCapacity", &rcu);
		(void)in_num(x->in, "writeCapacity", &wcu);
		if (hours(x, "provisioned read capacity units", "dynamodb-rcu",
		    "provisioned", rcu, "DynamoDB") == -1 ||
		    hours(x, "provisioned write capacity units", "dynamodb-wcu",
		    "provisioned", wcu, "DynamoDB") == -1)
			return -1;
	}
	return component(x, "storage (usage assumption dynamodb_storage_gb)",
	    "dynamodb-storage", "standard", usage(x, "dynamodb_storage_gb"),
	    "DynamoDB");
}

static int
p_aws_kms(struct rctx *x)
{
	x->category = "other";
	return component(x, "customer managed key", "kms", "key", 1, "KMS");
}

static int
p_aws_secret(struct rctx *x)
{
	x->category = "other";
	return component(x, "secret", "secretsmanager", "secret", 1, "Secrets Manager");
}

static int
p_aws_ssm(struct rctx *x)
{
	const char *tier = in_str(x->in, "tier");

	x->category = "other";
	if (tier == NULL || strcmp(tier, "Standard") == 0)
		return no_charge(x, "standard SSM parameters have no charge");
	if (strcmp(tier, "Advanced") != 0)
		return unpriced(x, "tier %s is not in the catalogue", tier);
	return component(x, "advanced parameter", "ssm-parameter", "Advanced", 1,
	    "SSM parameter tier");
}

static int
p_aws_loggroup(struct rctx *x)
{
	double gb;

	x->category = "other";
	if (need_region(x) == -1)
		return -1;
	gb = usage(x, "log_ingest_gb");
	if (component(x, "ingestion (usage assumption log_ingest_gb)",
	    "cloudwatch-logs-ingest", "standard", gb, "CloudWatch Logs") == -1)
		return -1;
	return component(x, "storage of one month's logs", "cloudwatch-logs-storage",
	    "standard", gb, "CloudWatch Logs");
}

/* Azure managed disks are billed by tier: the smallest that holds the size. */
static int
azure_disk(struct rctx *x, const char *acct, double gb, const char *label)
{
	static const int sizes[] = { 32, 64, 128, 256, 512, 1024 };
	static const char *const num[] = { "4", "6", "10", "15", "20", "30" };
	char tier[8], prefix;
	size_t i;

	if (acct == NULL || strncmp(acct, "Premium", 7) == 0)
		prefix = 'P';
	else if (strncmp(acct, "StandardSSD", 11) == 0)
		prefix = 'E';
	else if (strncmp(acct, "Standard_", 9) == 0)
		prefix = 'S';
	else
		return unpriced(x, "%s: disk type %s is not in the catalogue",
		    label, acct);
	for (i = 0; i < nitems(sizes) && gb > sizes[i]; i++)
		;
	if (i == nitems(sizes))
		return unpriced(x, "%s: disks above 1 TiB are not in the catalogue",
		    label);
	snprintf(tier, sizeof(tier), "%c%s", prefix, num[i]);
	return component(x, label, "disk", tier, 1, "managed disk tier");
}

static int
p_azure_vm(struct rctx *x)
{
	const char *size = in_str(x->in, "size") ? in_str(x->in, "size") :
	    in_str(x->in, "vmSize");
	struct json_object *hw = in_get(x->in, "hardwareProfile"), *os;
	double gb;

	x->category = "compute";
	if (size == NULL && hw != NULL)
		size = in_str(hw, "vmSize");
	if (size == NULL)
		return unpriced(x, "the VM size is not set");
	if (strstr(x->r->type, "windowsVirtualMachine") != NULL)
		return unpriced(x, "Windows VM prices (with the licence) are not"
		    " in the catalogue");
	if (need_region(x) == -1 || hours(x, "VM hours", "vm", size, 1,
	    "VM size") == -1)
		return -1;
	os = in_get(x->in, "osDisk");
	if (os != NULL && in_num(os, "diskSizeGb", &gb) == 0)
		return azure_disk(x, in_str(os, "storageAccountType"), gb, "OS disk");
	return 0;
}

static int
p_azure_disk(struct rctx *x)
{
	double gb;

	x->category = "storage";
	if (in_num(x->in, "diskSizeGb", &gb) == -1)
		return unpriced(x, "diskSizeGb is not set");
	if (need_region(x) == -1)
		return -1;
	return azure_disk(x, in_str(x->in, "storageAccountType"), gb, "managed disk");
}

static int
p_azure_aks(struct rctx *x)
{
	const char *tier = in_str(x->in, "skuTier") ? in_str(x->in, "skuTier") : "Free";
	struct json_object *pool = in_get(x->in, "defaultNodePool");
	const char *vm = in_str(pool, "vmSize");
	double n;

	x->category = "compute";
	if (hours(x, "cluster management", "aks", tier, 1, "AKS tier") == -1)
		return -1;
	if (vm == NULL)
		return unpriced(x, "defaultNodePool.vmSize is not set");
	if (in_num(pool, "nodeCount", &n) == -1 && in_num(pool, "minCount", &n) == -1)
		return unpriced(x, "defaultNodePool.nodeCount is not set");
	if (need_region(x) == -1)
		return -1;
	return hours(x, "default node pool VM hours", "vm", vm, n, "VM size");
}

static int
p_azure_pool(struct rctx *x)
{
	const char *vm = in_str(x->in, "vmSize");
	double n;

	x->category = "compute";
	if (vm == NULL)
		return unpriced(x, "vmSize is not set");
	if (in_num(x->in, "nodeCount", &n) == -1 && in_num(x->in, "minCount", &n) == -1)
		return unpriced(x, "nodeCount is not set");
	if (need_region(x) == -1)
		return -1;
	return hours(x, "node VM hours", "vm", vm, n, "VM size");
}

static int
p_azure_storage(struct rctx *x)
{
	const char *tier = in_str(x->in, "accountTier");
	const char *repl = in_str(x->in, "accountReplicationType");
	const char *access = in_str(x->in, "accessTier") ? in_str(x->in,
	    "accessTier") : "Hot";
	char sku[32];

	x->category = "storage";
	if (tier != NULL && strcmp(tier, "Standard") != 0)
		return unpriced(x, "%s storage accounts are not in the catalogue", tier);
	if (need_region(x) == -1)
		return -1;
	snprintf(sku, sizeof(sku), "%s-%s", access, repl ? repl : "LRS");
	return storage_class_price(x, "storage", sku);
}

static int
p_azure_publicip(struct rctx *x)
{
	x->category = "network";
	return hours(x, "public IP hours", "publicip", in_str(x->in, "sku") ?
	    in_str(x->in, "sku") : "Basic", 1, "public IP SKU");
}

static int
p_azure_lb(struct rctx *x)
{
	const char *sku = in_str(x->in, "sku") ? in_str(x->in, "sku") : "Basic";

	x->category = "network";
	if (strcasecmp(sku, "Basic") == 0)
		return no_charge(x, "Basic load balancers have no charge");
	return hours(x, "load balancer hours (first five rules)", "lb", sku, 1,
	    "load balancer SKU");
}

static int
p_azure_sql(struct rctx *x)
{
	const char *sku = in_str(x->in, "skuName") ? in_str(x->in, "skuName") :
	    in_str(x->in, "requestedServiceObjectiveName");

	x->category = "database";
	if (sku == NULL)
		return unpriced(x, "skuName is not set");
	if (need_region(x) == -1)
		return -1;
	return component(x, "database (DTU model)", "sql", sku, 1, "SQL service objective");
}

static int
p_gcp_instance(struct rctx *x)
{
	const char *mt = in_str(x->in, "machineType");
	struct json_object *bd = in_get(x->in, "bootDisk");
	struct json_object *ip = in_get(bd, "initializeParams");
	double gb;

	x->category = "compute";
	if (mt == NULL)
		return unpriced(x, "machineType is not set");
	if (need_region(x) == -1 || hours(x, "instance hours", "compute", mt, 1,
	    "machine type") == -1)
		return -1;
	/* Unset, GCE makes the boot disk the image's size (10 GB for the
	 * public images) and pd-standard: said in the component's name. */
	return component(x, in_num(ip, "size", &gb) == 0 && in_str(ip, "type") ?
	    "boot disk" : "boot disk (unset size or type: 10 GB, pd-standard)",
	    "disk", in_str(ip, "type") ? in_str(ip, "type") : "pd-standard",
	    in_num(ip, "size", &gb) == 0 ? gb : 10, "disk type");
}

static int
p_gcp_disk(struct rctx *x)
{
	double gb;

	x->category = "storage";
	if (in_num(x->in, "size", &gb) == -1 &&
	    in_num(pulumi_outputs(x->r), "size", &gb) == -1)
		return unpriced(x, "size is not set (it comes from the image)");
	if (need_region(x) == -1)
		return -1;
	return component(x, "disk", "disk", in_str(x->in, "type") ?
	    in_str(x->in, "type") : "pd-standard", gb, "disk type");
}

static int
p_gcp_sql(struct rctx *x)
{
	struct json_object *st = in_get(x->in, "settings");
	const char *tier = in_str(st, "tier");
	const char *avail = in_str(st, "availabilityType");
	double n = avail && strcmp(avail, "REGIONAL") == 0 ? 2 : 1, gb;

	x->category = "database";
	if (tier == NULL)
		return unpriced(x, "settings.tier is not set");
	if (need_region(x) == -1 || hours(x, n > 1 ? "instance hours (regional:"
	    " two)" : "instance hours", "sql", tier, n, "Cloud SQL tier") == -1)
		return -1;
	return component(x, in_num(st, "diskSize", &gb) == 0 ? "storage" :
	    "storage (diskSize unset: 10 GB, the Cloud SQL default)",
	    "sql-storage", in_str(st, "diskType") ? in_str(st, "diskType") :
	    "PD_SSD", (in_num(st, "diskSize", &gb) == 0 ? gb : 10) * n,
	    "Cloud SQL disk type");
}

static int
p_gcp_bucket(struct rctx *x)
{
	x->category = "storage";
	if (need_region(x) == -1)
		return -1;
	return storage_class_price(x, "storage", in_str(x->in, "storageClass") ?
	    in_str(x->in, "storageClass") : "STANDARD");
}

static int
p_gcp_dns(struct rctx *x)
{
	x->category = "network";
	return component(x, "managed zone", "dns", "zone", 1, "Cloud DNS");
}

static int
p_gcp_gke(struct rctx *x)
{
	x->category = "compute";
	return hours(x, "cluster management", "gke", "cluster", 1, "GKE");
}

static const struct {
	const char	*type;
	pricer		 fn;
} pricers[] = {
	{ "aws:ec2/instance:Instance", p_aws_instance },
	{ "aws:ebs/volume:Volume", p_aws_volume },
	{ "aws:rds/instance:Instance", p_aws_rds },
	{ "aws:s3/bucket:Bucket", p_aws_s3 },
	{ "aws:s3/bucketV2:BucketV2", p_aws_s3 },
	{ "aws:lambda/function:Function", p_aws_lambda },
	{ "aws:lb/loadBalancer:LoadBalancer", p_aws_lb },
	{ "aws:alb/loadBalancer:LoadBalancer", p_aws_lb },
	{ "aws:ec2/natGateway:NatGateway", p_aws_nat },
	{ "aws:ec2/eip:Eip", p_aws_eip },
	{ "aws:eks/cluster:Cluster", p_aws_eks },
	{ "aws:eks/nodeGroup:NodeGroup", p_aws_nodegroup },
	{ "aws:autoscaling/group:Group", p_aws_asg },
	{ "aws:elasticache/cluster:Cluster", p_aws_elasticache },
	{ "aws:elasticache/replicationGroup:ReplicationGroup", p_aws_elasticache },
	{ "aws:dynamodb/table:Table", p_aws_dynamodb },
	{ "aws:kms/key:Key", p_aws_kms },
	{ "aws:secretsmanager/secret:Secret", p_aws_secret },
	{ "aws:ssm/parameter:Parameter", p_aws_ssm },
	{ "aws:cloudwatch/logGroup:LogGroup", p_aws_loggroup },
	{ "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", p_azure_vm },
	{ "azure:compute/windowsVirtualMachine:WindowsVirtualMachine", p_azure_vm },
	{ "azure:compute/virtualMachine:VirtualMachine", p_azure_vm },
	{ "azure-native:compute:VirtualMachine", p_azure_vm },
	{ "azure:compute/managedDisk:ManagedDisk", p_azure_disk },
	{ "azure:containerservice/kubernetesCluster:KubernetesCluster", p_azure_aks },
	{ "azure:containerservice/kubernetesClusterNodePool:KubernetesClusterNodePool",
	  p_azure_pool },
	{ "azure:storage/account:Account", p_azure_storage },
	{ "azure:network/publicIp:PublicIp", p_azure_publicip },
	{ "azure:lb/loadBalancer:LoadBalancer", p_azure_lb },
	{ "azure:mssql/database:Database", p_azure_sql },
	{ "azure:sql/database:Database", p_azure_sql },
	{ "gcp:compute/instance:Instance", p_gcp_instance },
	{ "gcp:compute/disk:Disk", p_gcp_disk },
	{ "gcp:sql/databaseInstance:DatabaseInstance", p_gcp_sql },
	{ "gcp:storage/bucket:Bucket", p_gcp_bucket },
	{ "gcp:dns/managedZone:ManagedZone", p_gcp_dns },
	{ "gcp:container/cluster:Cluster", p_gcp_gke },
};

/*
 * Types with no charge of their own, by prefix, with the reason.  Cost
 * that runs through them (a launch template's instances) is counted where
 * it is billed.
 */
static const struct {
	const char	*prefix;
	const char	*why;
} free_types[] = {
	{ "pulumi:", "Pulumi's own bookkeeping (providers, stacks)" },
	{ "aws:iam/", "IAM has no charge" },
	{ "aws:ec2/securityGroup", "security groups have no charge" },
	{ "aws:vpc/securityGroup", "security groups have no charge" },
	{ "aws:ec2/vpc:", "VPCs have no charge" },
	{ "aws:ec2/subnet:", "subnets have no charge" },
	{ "aws:ec2/routeTable", "route tables have no charge" },
	{ "aws:ec2/route:", "routes have no charge" },
	{ "aws:ec2/internetGateway", "internet gateways have no charge" },
	{ "aws:ec2/launchTemplate:", "billed through the instances that use it" },
	{ "aws:ec2/keyPair:", "key pairs have no charge" },
	{ "aws:lambda/permission:", "permissions have no charge" },
	{ "aws:s3/bucketNotification", "billed through the bucket" },
	{ "aws:s3/bucketPolicy", "billed through the bucket" },
	{ "aws:s3/bucketPublicAccessBlock", "billed through the bucket" },
	{ "aws:s3/bucketAcl", "billed through the bucket" },
	{ "aws:s3/bucketVersioning", "billed through the bucket" },
	{ "aws:s3/bucketOwnershipControls", "billed through the bucket" },
	{ "aws:s3/bucketServerSideEncryption", "billed through the bucket" },
	{ "aws:s3/bucketObject", "billed through the bucket" },
	{ "aws:kms/alias:", "aliases have no charge" },
	{ "aws:cloudwatch/logSubscriptionFilter", "billed through the log group" },
	{ "aws:eks/addon:", "add-ons run on the cluster's nodes" },
	{ "aws:sns/topicSubscription", "billed through the topic" },
	{ "azure:core/resourceGroup:", "resource groups have no charge" },
	{ "azure-native:resources:ResourceGroup", "resource groups have no charge" },
	{ "azure:network/virtualNetwork:", "virtual networks have no charge" },
	{ "azure:network/subnet:", "subnets have no charge" },
	{ "azure:network/networkSecurityGroup", "security groups have no charge" },
	{ "azure:network/networkInterface:", "network interfaces have no charge" },
	{ "azure:storage/container:", "billed through the storage account" },
	{ "azure:storage/blob:", "billed through the storage account" },
	{ "gcp:compute/network:", "VPC networks have no charge" },
	{ "gcp:compute/subnetwork:", "subnetworks have no charge" },
	{ "gcp:compute/firewall:", "firewall rules have no charge" },
	{ "gcp:dns/recordSet:", "billed through the managed zone" },
	{ "gcp:sql/user:", "billed through the database instance" },
	{ "gcp:sql/database:", "billed through the database instance" },
	{ "gcp:serviceaccount/", "service accounts have no charge" },
	{ "gcp:projects/iam", "IAM has no charge" },
	{ "kubernetes:", "runs on the cluster's nodes, which are priced" },
	{ "random:", "not a cloud resource" },
	{ "tls:", "not a cloud resource" },
	{ "command:", "not a cloud resource" },
};

/* --- spec files ----------------------------------------------------------- */

/* The SKU of a resource, by provider (PulumiCost core's key order). */
static const char *
resource_sku(struct rctx *x)
{
	static const char *const aws[] = { "instanceType", "instanceClass",
	    "dbInstanceClass", "nodeType", "volumeType", "type", "sku", "tier", NULL };
	static const char *const azure[] = { "vmSize", "size", "skuName", "sku",
	    "tier", NULL };
	static const char *const gcp[] = { "machineType", "tier", "type",
	    "storageClass", NULL };
	static const char *const other[] = { "sku", "type", "tier", NULL };
	const char *const *keys = strcmp(x->pkg, "aws") == 0 ? aws :
	    strncmp(x->pkg, "azure", 5) == 0 ? azure : strcmp(x->pkg, "gcp") == 0 ?
	    gcp : other;
	const char *v;
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if ((v = in_str(x->in, keys[i])) != NULL)
			return v;
	if ((v = in_str(in_get(x->in, "settings"), "tier")) != NULL)
		return v;	/* Cloud SQL */
	return NULL;
}

/* A size in GB from the inputs, or -1. */
static double
resource_gb(struct rctx *x)
{
	static const char *const keys[] = { "size", "sizeGb", "volumeSize",
	    "allocatedStorage", "diskSizeGb", "diskSize", NULL };
	double v;
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (in_num(x->in, keys[i], &v) == 0)
			return v;
	return -1;
}

static double
meta_num(struct json_object *spec_meta, struct rctx *x, const char *k1,
    const char *k2)
{
	double v;

	if (in_num(x->in, k1, &v) == 0 || in_num(x->in, k2, &v) == 0 ||
	    in_num(spec_meta, k1, &v) == 0 || in_num(spec_meta, k2, &v) == 0)
		return v;
	return -1;
}

/* Volume through tiers: [min, max) at each tier's rate (max 0: no end). */
static double
tiered(struct json_object *tiers, double q)
{
	double total = 0, lo, hi, rate;
	size_t i, n = json_object_array_length(tiers);

	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tiers, i);

		lo = hi = rate = 0;
		(void)in_num(t, "min_quantity", &lo);
		(void)in_num(t, "max_quantity", &hi);
		(void)in_num(t, "rate_per_unit", &rate);
		if (q <= lo)
			continue;
		total += ((hi > 0 && q > hi ? hi : q) - lo) * rate;
	}
	return total;
}

static const char *const hourly_modes[] = { "per_hour", "on_demand", "reserved",
	"spot", "preemptible", "savings_plan", "committed_use", "hybrid_benefit",
	NULL };
static const char *const usage_modes[] = { "per_request", "per_operation",
	"per_transaction", "per_execution", "per_invocation", "per_api_call",
	"per_lookup", "per_query", NULL };

static int
in_list(const char *const *l, const char *v)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, v) == 0)
			return 1;
	return 0;
}

/*
 * Price a resource from a spec file.  1 when a spec applies (priced, or
 * unpriced with the spec's reason), 0 when none does.
 */
static int
price_by_spec(struct rctx *x)
{
	struct spec_price sp;
	const struct spec *s;
	struct json_object *meta = NULL;
	const char *sku = resource_sku(x), *m, *unit;
	char svc[48], label[160], origin[300], eff[16];
	double q = -1, gb, n;

	if (spec_active == NULL)
		return 0;
	pulumi_type_module(x->r->type, svc, sizeof(svc));
	s = spec_find(spec_active, strncmp(x->pkg, "azure", 5) == 0 ? "azure" :
	    x->pkg, svc, x->r->type, sku, x->region[0] ? x->region : NULL);
	if (s == NULL)
		return 0;
	spec_describe(s, &sp);
	meta = sp.meta;
	m = sp.mode;
	snprintf(origin, sizeof(origin), "spec:%s", sp.file);
	snprintf(eff, sizeof(eff), "%.10s", sp.effective);
	if (sp.not_implemented != NULL) {
		unpriced(x, "the spec file %s says not_implemented: %s", sp.file,
		    sp.not_implemented);
		return 1;
	}
	gb = resource_gb(x);
	unit = "hour";
	if (sp.core) {
		if (strcmp(m, "monthlyEstimate") == 0)
			q = 1, unit = "month";
		else if (strcmp(m, "pricePerGBMonth") == 0) {
			if (gb < 0) {
				unpriced(x, "the spec file %s prices per GB-month and"
				    " the inputs give no size", sp.file);
				return 1;
			}
			q = gb, unit = "gb-month";
		} else
			q = HOURS_PER_MONTH;
	} else if (in_list(hourly_modes, m))
		q = HOURS_PER_MONTH;
	else if (strcmp(m, "per_minute") == 0)
		q = HOURS_PER_MONTH * 60, unit = "minute";
	else if (strcmp(m, "per_second") == 0)
		q = HOURS_PER_MONTH * 3600, unit = "second";
	else if (strcmp(m, "per_day") == 0)
		q = HOURS_PER_MONTH / 24, unit = "day";
	else if (strcmp(m, "per_month") == 0 || strcmp(m, "flat") == 0)
		q = 1, unit = "month";
	else if (strcmp(m, "per_year") == 0)
		q = 1.0 / 12, unit = "year";
	else if (strcmp(m, "per_gb_month") == 0 || strcmp(m, "per_gb_hour") == 0 ||
	    strcmp(m, "per_gb_day") == 0 || strcmp(m, "tiered") == 0) {
		if (gb < 0)
			gb = usage(x, "storage_gb");
		q = gb * (strcmp(m, "per_gb_hour") == 0 ? HOURS_PER_MONTH :
		    strcmp(m, "per_gb_day") == 0 ? HOURS_PER_MONTH / 24 : 1);
		unit = strcmp(m, "per_gb_hour") == 0 ? "gb-hour" :
		    strcmp(m, "per_gb_day") == 0 ? "gb-day" : "gb-month";
	} else if (in_list(usage_modes, m))
		q = usage(x, "requests_per_month"), unit = "request";
	else if (strcmp(m, "per_data_transfer_gb") == 0 ||
	    strcmp(m, "per_bandwidth_gb") == 0)
		q = usage(x, "data_transfer_gb"), unit = "gb";
	else if (strcmp(m, "per_iops") == 0 || strcmp(m, "per_provisioned_iops") == 0) {
		if (in_num(x->in, "iops", &q) == -1) {
			unpriced(x, "the spec file %s prices per IOPS and the inputs"
			    " give no iops", sp.file);
			return 1;
		}
		unit = "iops-month";
	} else if (strcmp(m, "per_rcu") == 0 || strcmp(m, "per_wcu") == 0) {
		if (in_num(x->in, m[4] == 'r' ? "readCapacity" : "writeCapacity", &n) == -1) {
			unpriced(x, "the spec file %s prices per %s and the inputs"
			    " give no capacity", sp.file, m + 4);
			return 1;
		}
		q = n * HOURS_PER_MONTH, unit = "capacity-unit-hour";
	} else if (strncmp(m, "per_cpu", 7) == 0 || strncmp(m, "per_vcpu", 8) == 0 ||
	    strncmp(m, "per_memory_gb", 13) == 0) {
		int mem = strncmp(m, "per_memory_gb", 13) == 0;

			n = mem ? meta_num(meta, x, "memory_gb", "memoryGb") :
		    meta_num(meta, x, "vcpu_count", "vcpus");
		if (n < 0) {
			unpriced(x, "the spec file %s prices per %s and the inputs"
			    " do not give it", sp.file, mem ? "GB of memory" : "vCPU");
			return 1;
		}
		q = n * (strstr(m, "_hour") != NULL ? HOURS_PER_MONTH : 1);
		unit = mem ? "memory-gb" : "vcpu";
	} else {
		unpriced(x, "the spec file %s uses billing mode %s, which needs"
		    " usage the inputs do not give", sp.file, m);
		return 1;
	}
	if (strcmp(x->category, "other") == 0)
		x->category = strstr(unit, "gb") != NULL ? "storage" : "compute";
	snprintf(label, sizeof(label), "%s (spec %s)", m, sp.file);
	if (sp.tiers != NULL && strcmp(m, "tiered") == 0) {
		double total = tiered(sp.tiers, q);

		component_at(x, label, sp.sku ? sp.sku : sku, q, unit,
		    q > 0 ? total / q : 0, sp.currency, sp.source, eff, origin);
	} else
		component_at(x, label, sp.sku ? sp.sku : sku, q, unit, sp.rate,
		    sp.currency, sp.source, eff, origin);
	return 1;
}

static int
free_type(const char *type, const char **why)
{
	size_t i;

	for (i = 0; i < nitems(free_types); i++)
		if (strncmp(free_types[i].prefix, type, strlen(free_types[i].prefix)) == 0) {
			*why = free_types[i].why;
			return 1;
		}
	return 0;
}

/* A cost-source plugin's answer for this resource, when one gave one. */
static int
price_by_plugin(struct rctx *x)
{
	struct json_object *a;
	const char *plugin, *cur, *detail;
	char source[400], origin[200];

	/* The stack's plugin answers ({plugin, cost_per_month, currency,
	 * unit_price, billing_detail}) come ahead of spec files and the
	 * catalogue. */
	if (x->s->plugin_prices == NULL ||
	    !json_object_object_get_ex(x->s->plugin_prices, x->r->urn, &a))
		return 0;
	plugin = in_str(a, "plugin") ? in_str(a, "plugin") : "plugin";
	cur = in_str(a, "currency") ? in_str(a, "currency") : "USD";
	detail = in_str(a, "billing_detail") ? in_str(a, "billing_detail") : "";
	snprintf(source, sizeof(source), "plugin %s%s%s", plugin, *detail ? ": " : "",
	    detail);
	snprintf(origin, sizeof(origin), "plugin:%s", plugin);
	component_at(x, "plugin estimate", resource_sku(x), 1, "month",
	    json_object_get_double(json_object_object_get(a, "cost_per_month")), cur,
	    source, "", origin);
	return 1;
}

static void
price_one(struct rctx *x)
{
	const char *why;
	size_t i;

	/* No-charge types stay so; otherwise spec files come first. */
	if (free_type(x->r->type, &why)) {
		no_charge(x, why);
		return;
	}
	if (price_by_plugin(x) || price_by_spec(x))
		return;
	for (i = 0; i < nitems(pricers); i++)
		if (strcmp(pricers[i].type, x->r->type) == 0) {
			if (pricers[i].fn(x) == 0 && x->status == R_PRICED &&
			    json_object_array_length(x->components) == 0)
				unpriced(x, "nothing priceable in its inputs");
			return;
		}
	unpriced(x, "resource type %s has no pricing rule", x->r->type);
}

static void
rctx_init(struct rctx *x, const struct pstack *s, const struct presource *r,
    const struct cost_opts *o, struct json_object *in)
{
	memset(x, 0, sizeof(*x));
	x->s = s;
	x->r = r;
	x->o = o;
	x->in = in ? in : (x->empty = json_object_new_object());
	x->components = json_object_new_array();
	x->used = json_object_new_object();
	x->category = "other";
	pulumi_type_package(r->type, x->pkg, sizeof(x->pkg));
	resolve_region(x);
}

static void
rctx_free(struct rctx *x)
{
	json_object_put(x->components);
	json_object_put(x->used);
	json_object_put(x->empty);
}

/* The monthly cost with other inputs (the state before an update). */
static int
price_with(const struct pstack *s, const struct presource *r,
    const struct cost_opts *o, struct json_object *in, double *monthly,
    char *currency, size_t clen)
{
	struct rctx x;
	int rc;

	rctx_init(&x, s, r, o, in);
	price_one(&x);
	rc = x.status == R_UNPRICED ? -1 : 0;
	*monthly = x.status == R_PRICED ? x.monthly : 0;
	strlcpy_(currency, x.currency[0] ? x.currency : "", clen);
	rctx_free(&x);
	return rc;
}

static struct json_object *
tags_of(struct json_object *in)
{
	struct json_object *t = in_get(in, "tags");

	if (t == NULL)
		t = in_get(in, "labels");
	return json_object_is_type(t, json_type_object) ? pulumi_redact(t) : NULL;
}

/*
 * Inputs unchanged by the update (the same text, or none kept from before):
 * the price before is the price after, since nothing else a price reads
 * differs between the two.  Most steps of a preview are "same".
 */
static int
same_inputs(const struct presource *r)
{
	return r->old_is_new || r->old_text == NULL ||
	    (r->in_text != NULL && strcmp(r->old_text, r->in_text) == 0);
}

static const char *const status_names[] = { "priced", "no_charge", "unpriced" };

/* One resource's record; *status set; NULL when it does not exist after. */
static struct json_object *
resource_record(const struct pstack *s, const struct presource *r,
    const struct cost_opts *o, struct rctx *x)
{
	struct json_object *rec = json_object_new_object(), *t;
	char svc[48], cur[8];
	double before;

	rctx_init(x, s, r, o, pulumi_inputs(r));
	if (!r->custom)
		no_charge(x, "a component resource: its children are priced");
	else
		price_one(x);
	pulumi_type_module(r->type, svc, sizeof(svc));
	json_object_object_add(rec, "urn", json_object_new_string(r->urn));
	json_object_object_add(rec, "name", json_object_new_string(r->name));
	json_object_object_add(rec, "type", json_object_new_string(r->type));
	json_object_object_add(rec, "provider", json_object_new_string(x->pkg));
	json_object_object_add(rec, "service", json_object_new_string(svc));
	json_object_object_add(rec, "category", json_object_new_string(x->category));
	json_object_object_add(rec, "region", x->region[0] ?
	    json_object_new_string(x->region) : NULL);
	if (x->region_from != NULL)
		json_object_object_add(rec, "region_from",
		    json_object_new_string(x->region_from));
	json_object_object_add(rec, "op", json_object_new_string(r->op));
	json_object_object_add(rec, "status",
	    json_object_new_string(status_names[x->status]));
	if (x->status == R_PRICED) {
		json_object_object_add(rec, "monthly_cost",
		    json_object_new_double(money_round(x->monthly)));
		json_object_object_add(rec, "hourly_cost",
		    json_object_new_double(money_round(x->monthly / HOURS_PER_MONTH)));
		json_object_object_add(rec, "currency", json_object_new_string(x->currency));
	} else if (x->status == R_FREE) {
		json_object_object_add(rec, "monthly_cost", json_object_new_double(0));
		json_object_object_add(rec, "hourly_cost", json_object_new_double(0));
	} else
		json_object_object_add(rec, "monthly_cost", NULL);
	if (x->reason[0])
		json_object_object_add(rec, "reason", json_object_new_string(x->reason));
	json_object_object_add(rec, "components", json_object_get(x->components));
	if (json_object_object_length(x->used) > 0)
		json_object_object_add(rec, "usage_assumptions", json_object_get(x->used));
	if ((t = tags_of(pulumi_inputs(r))) != NULL)
		json_object_object_add(rec, "tags", t);
	/* A preview says what the update changes. */
	if (s->kind == PULUMI_PREVIEW && r->custom && x->status != R_UNPRICED) {
		if (!r->before)
			before = 0;
		else if (same_inputs(r))
			before = x->status == R_PRICED ? x->monthly : 0;
		else if (price_with(s, r, o, pulumi_old_inputs(r), &before, cur,
		    sizeof(cur)) == -1)
			before = NAN;
		if (!isnan(before))
			json_object_object_add(rec, "monthly_cost_before",
			    json_object_new_double(money_round(before)));
	}
	return rec;
}

struct json_object *
cost_descriptors(const struct pstack *s, const struct cost_opts *o)
{
	struct json_object *arr = json_object_new_array(), *d, *t;
	const char *why, *sku;
	struct rctx x;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct presource *r = &s->r[i];

		if (!r->custom || strncmp(r->type, "pulumi:", 7) == 0 ||
		    free_type(r->type, &why) || (r->op != NULL && strcmp(r->op, "delete") == 0))
			continue;
		rctx_init(&x, s, r, o, pulumi_inputs(r));
		d = json_object_new_object();
		json_object_object_add(d, "urn", json_object_new_string(r->urn));
		json_object_object_add(d, "provider", json_object_new_string(
		    strncmp(x.pkg, "azure", 5) == 0 ? "azure" : x.pkg));
		json_object_object_add(d, "resource_type", json_object_new_string(r->type));
		if ((sku = resource_sku(&x)) != NULL)
			json_object_object_add(d, "sku", json_object_new_string(sku));
		if (x.region[0])
			json_object_object_add(d, "region", json_object_new_string(x.region));
		if ((t = tags_of(x.in)) != NULL) {
			struct json_object *st = json_object_new_object();

			/* The protocol's tags are strings. */
			json_object_object_foreach(t, k, v)
				if (json_object_is_type(v, json_type_string))
					json_object_object_add(st, k, json_object_get(v));
			json_object_object_add(d, "tags", st);
			json_object_put(t);
		}
		json_object_array_add(arr, d);
		pulumi_release(r);
		rctx_free(&x);
	}
	return arr;
}

/* --- filters and grouping ------------------------------------------------- */

static int
icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; hay[i]; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return 1;
	return n == 0;
}

static const char *
rec_str(struct json_object *rec, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(rec, k, &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/*
 * filters: provider (exact), resource_type (substring of the type token,
 * or the service), region (exact), name_pattern (a shell glob on the name;
 * a plain word matches as a substring), tags (every key equal).
 */
static int
matches(struct json_object *rec, struct json_object *f)
{
	struct json_object *tags, *tv;
	const char *v, *have;

	if (f == NULL)
		return 1;
	if ((v = in_str(f, "provider")) != NULL &&
	    strcasecmp(v, rec_str(rec, "provider")) != 0)
		return 0;
	if ((v = in_str(f, "resource_type")) != NULL &&
	    !icontains(rec_str(rec, "type"), v) &&
	    strcasecmp(v, rec_str(rec, "service")) != 0)
		return 0;
	if ((v = in_str(f, "region")) != NULL && (rec_str(rec, "region") == NULL ||
	    strcasecmp(v, rec_str(rec, "region")) != 0))
		return 0;
	if ((v = in_str(f, "name_pattern")) != NULL) {
		have = rec_str(rec, "name");
		if (strpbrk(v, "*?[") != NULL ? fnmatch(v, have, 0) != 0 :
		    !icontains(have, v))
			return 0;
	}
	if ((tags = in_get(f, "tags")) != NULL) {
		json_object_object_get_ex(rec, "tags", &tv);
		json_object_object_foreach(tags, k, want) {
			if ((have = in_str(tv, k)) == NULL ||
			    strcmp(have, json_object_get_string(want)) != 0)
				return 0;
		}
	}
	return 1;
}

static const char *const group_dims[] = {
	"provider", "service", "region", "type", "category", NULL
};

int
cost_check_opts(const struct cost_opts *o, char *why, size_t len)
{
	size_t i, j, n;
	const char *g;

	if (o->group_by != NULL) {
		n = json_object_array_length(o->group_by);
		for (i = 0; i < n; i++) {
			g = json_object_get_string(json_object_array_get_idx(o->group_by, i));
			for (j = 0; group_dims[j] != NULL; j++)
				if (strcmp(group_dims[j], g) == 0)
					break;
			if (group_dims[j] == NULL && !(strncmp(g, "tag:", 4) == 0 &&
			    g[4] != '\0')) {
				snprintf(why, len, "group_by[%zu]: \"%s\" is not one of"
				    " provider, service, region, type, category,"
				    " tag:KEY", i, g);
				return -1;
			}
		}
	}
	if (o->usage != NULL) {
		json_object_object_foreach(o->usage, k, v) {
			for (i = 0; i < nitems(usage_defs); i++)
				if (strcmp(usage_defs[i].key, k) == 0)
					break;
			if (i == nitems(usage_defs)) {
				snprintf(why, len, "usage.%s: unknown assumption (known:"
				    " storage_gb, requests_per_month, lambda_duration_ms,"
				    " lb_lcu, nat_data_gb, dynamodb_reads_millions,"
				    " dynamodb_writes_millions, dynamodb_storage_gb,"
				    " log_ingest_gb)", k);
				return -1;
			}
			if ((!json_object_is_type(v, json_type_int) &&
			    !json_object_is_type(v, json_type_double)) ||
			    json_object_get_double(v) < 0) {
				snprintf(why, len, "usage.%s: must be a number >= 0", k);
				return -1;
			}
		}
	}
	return 0;
}

/* The group key of a record for one dimension. */
static void
group_key(struct json_object *rec, const char *dim, char *out, size_t len)
{
	struct json_object *tags;
	const char *v;

	if (strncmp(dim, "tag:", 4) == 0) {
		json_object_object_get_ex(rec, "tags", &tags);
		v = in_str(tags, dim + 4);
		snprintf(out, len, "%s", v ? v : "(untagged)");
		return;
	}
	v = rec_str(rec, dim);
	snprintf(out, len, "%s", v ? v : "(unknown)");
}

/*
 * {"aws": {"USD": 1.5}} becomes {"aws": 1.5} when there is one currency;
 * with several, the amounts stay apart by currency.
 */
static struct json_object *
flatten(struct json_object *by, int single)
{
	struct json_object *o = json_object_new_object(), *per;

	json_object_object_foreach(by, k, v) {
		per = single ? NULL : json_object_new_object();
		json_object_object_foreach(v, c, amount) {
			struct json_object *m = json_object_new_double(
			    money_round(json_object_get_double(amount)));

			if (single)
				json_object_object_add(o, k, m);
			else
				json_object_object_add(per, c, m);
		}
		if (!single)
			json_object_object_add(o, k, per);
	}
	return o;
}

struct json_object *
cost_projected(const struct pstack *s, const struct cost_opts *o)
{
	struct json_object *ans = json_object_new_object(), *list, *rec;
	struct json_object *by[5], *groups, *unp, *assume, *totals, *before;
	struct json_object *cov, *meta, *v, *used_all = json_object_new_object();
	static const char *const dims[] = { "provider", "service", "region",
	    "category", "type" };
	size_t i, d, npriced = 0, nfree = 0, nunpriced = 0, ngone = 0, nlisted = 0;
	char key[512];
	struct rctx x;
	const char *cur;
	time_t now = time(NULL);
	char ts[32];

	list = json_object_new_array();
	unp = json_object_new_array();
	totals = json_object_new_object();
	before = json_object_new_object();
	groups = json_object_new_object();
	for (d = 0; d < nitems(dims); d++)
		by[d] = json_object_new_object();
	for (i = 0; i < s->n; i++) {
		const struct presource *r = &s->r[i];

		/* What this resource's inputs parsed into is dropped once it is
		 * priced: the peak is one resource's tree, not the stack's. */
		if (i > 0)
			pulumi_release(&s->r[i - 1]);
		if (!r->after) {
			if (r->before)
				ngone++;
			/* What the update removes lowers the cost. */
			if (r->before && r->custom && s->kind == PULUMI_PREVIEW) {
				double m;
				char c[8];

				if (price_with(s, r, o, pulumi_old_inputs(r), &m, c,
				    sizeof(c)) == 0 && c[0])
					money_add(before, "total", c, m);
			}
			continue;
		}
		rec = resource_record(s, r, o, &x);
		if (!matches(rec, o->filters)) {
			json_object_put(rec);
			rctx_free(&x);
			continue;
		}
		json_object_object_foreach(x.used, uk, uv)
			json_object_object_add(used_all, uk, json_object_get(uv));
		nlisted++;
		if (x.status == R_PRICED) {
			npriced++;
			cur = x.currency;
			money_add(totals, "total", cur, x.monthly);
			for (d = 0; d < nitems(dims); d++) {
				group_key(rec, dims[d], key, sizeof(key));
				money_add(by[d], key, cur, x.monthly);
			}
			if (o->group_by != NULL) {
				size_t g, ng = json_object_array_length(o->group_by);
				size_t off = 0;

				key[0] = '\0';
				for (g = 0; g < ng && off < sizeof(key); g++) {
					char part[160];

					group_key(rec, json_object_get_string(
					    json_object_array_get_idx(o->group_by, g)),
					    part, sizeof(part));
					off += (size_t)snprintf(key + off, sizeof(key) - off,
					    "%s%s", g ? " / " : "", part);
				}
				money_add(groups, key, cur, x.monthly);
			}
		} else if (x.status == R_FREE)
			nfree++;
		else {
			nunpriced++;
			v = json_object_new_object();
			json_object_object_add(v, "urn", json_object_new_string(r->urn));
			json_object_object_add(v, "type", json_object_new_string(r->type));
			json_object_object_add(v, "reason", json_object_new_string(x.reason));
			json_object_array_add(unp, v);
		}
		if (json_object_object_get_ex(rec, "monthly_cost_before", &v) &&
		    x.status == R_PRICED)
			money_add(before, "total", x.currency,
			    json_object_get_double(v));
		if (s->kind != PULUMI_PREVIEW || o->include_unchanged ||
		    strcmp(r->op, "same") != 0 || x.status == R_UNPRICED)
			json_object_array_add(list, rec);
		else
			json_object_put(rec);
		rctx_free(&x);
	}
	if (s->n > 0)
		pulumi_release(&s->r[s->n - 1]);
	{
		int single = 0;
		struct json_object *t;

		if (json_object_object_get_ex(totals, "total", &t))
			single = json_object_object_length(t) == 1;
		else
			single = 1;
		/* The headline figure: one currency, or none and per currency. */
		if (!json_object_object_get_ex(totals, "total", &t)) {
			json_object_object_add(ans, "total_monthly", json_object_new_double(0));
			json_object_object_add(ans, "total_hourly", json_object_new_double(0));
			json_object_object_add(ans, "currency", json_object_new_string("USD"));
		} else if (single) {
			json_object_object_foreach(t, c, amount) {
				double m = money_round(json_object_get_double(amount));

				json_object_object_add(ans, "total_monthly", json_object_new_double(m));
				json_object_object_add(ans, "total_hourly",
				    json_object_new_double(money_round(m / HOURS_PER_MONTH)));
				json_object_object_add(ans, "currency", json_object_new_string(c));
			}
		} else {
			json_object_object_add(ans, "total_monthly", NULL);
			json_object_object_add(ans, "currency", NULL);
			struct json_object *f = flatten(totals, 0), *tt;

			json_object_object_get_ex(f, "total", &tt);
			json_object_object_add(ans, "totals_by_currency",
			    json_object_get(tt));
			json_object_put(f);
		}
		json_object_object_add(ans, "by_provider", flatten(by[0], single));
		json_object_object_add(ans, "by_service", flatten(by[1], single));
		json_object_object_add(ans, "by_region", flatten(by[2], single));
		json_object_object_add(ans, "by_category", flatten(by[3], single));
		json_object_object_add(ans, "by_type", flatten(by[4], single));
		if (o->group_by != NULL) {
			struct json_object *g = json_object_new_object();

			json_object_object_add(g, "dimensions", json_object_get(o->group_by));
			json_object_object_add(g, "totals", flatten(groups, single));
			json_object_object_add(ans, "groups", g);
		}
		if (s->kind == PULUMI_PREVIEW && single) {
			double b = 0, a = 0;
			struct json_object *bt;

			if (json_object_object_get_ex(before, "total", &bt)) {
				json_object_object_foreach(bt, c, amount) {
					(void)c;
					b = json_object_get_double(amount);
				}
			}
			json_object_object_get_ex(ans, "total_monthly", &v);
			a = json_object_get_double(v);
			json_object_object_add(ans, "monthly_cost_before",
			    json_object_new_double(money_round(b)));
			json_object_object_add(ans, "monthly_change",
			    json_object_new_double(money_round(a - b)));
		}
	}
	json_object_object_add(ans, "resources", list);
	cov = json_object_new_object();
	json_object_object_add(cov, "resources", json_object_new_int64((int64_t)nlisted));
	json_object_object_add(cov, "priced", json_object_new_int64((int64_t)npriced));
	json_object_object_add(cov, "no_charge", json_object_new_int64((int64_t)nfree));
	json_object_object_add(cov, "unpriced", json_object_new_int64((int64_t)nunpriced));
	json_object_object_add(cov, "removed_by_update", json_object_new_int64((int64_t)ngone));
	json_object_object_add(cov, "percent_priced", json_object_new_double(nlisted ?
	    round(1000.0 * (double)(npriced + nfree) / (double)nlisted) / 10 : 100));
	if (s->plugin_prices != NULL)
		json_object_object_add(cov, "priced_by_plugins", json_object_new_int64(
		    (int64_t)json_object_object_length(s->plugin_prices)));
	json_object_object_add(ans, "coverage", cov);
	json_object_object_add(ans, "unpriced", unp);
	/* Plugins that failed: their resources were priced without them. */
	if (s->plugin_errors != NULL)
		json_object_object_add(ans, "plugin_errors", json_object_get(s->plugin_errors));
	assume = json_object_new_array();
	json_object_object_foreach(used_all, uk, uv) {
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "key", json_object_new_string(uk));
		json_object_object_add(a, "value", json_object_get(uv));
		for (i = 0; i < nitems(usage_defs); i++)
			if (strcmp(usage_defs[i].key, uk) == 0)
				json_object_object_add(a, "description",
				    json_object_new_string(usage_defs[i].desc));
		json_object_array_add(assume, a);
	}
	json_object_object_add(ans, "assumptions", assume);
	meta = json_object_new_object();
	json_object_object_add(meta, "source", json_object_new_string("projected"));
	json_object_object_add(meta, "input", json_object_new_string(pulumi_kind_name(s->kind)));
	if (s->stack)
		json_object_object_add(meta, "stack", json_object_new_string(s->stack));
	if (s->project)
		json_object_object_add(meta, "project", json_object_new_string(s->project));
	json_object_object_add(meta, "hours_per_month", json_object_new_double(HOURS_PER_MONTH));
	if (s->kind == PULUMI_PREVIEW && s->sames_counted > s->sames_listed) {
		char note[300];

		snprintf(note, sizeof(note), "the preview counts %lld unchanged"
		    " resources but lists %lld: total_monthly covers only what it"
		    " lists (monthly_change is complete); run pulumi preview --json"
		    " --show-sames for the whole stack",
		    (long long)s->sames_counted, (long long)s->sames_listed);
		json_object_object_add(meta, "notes", json_object_new_array());
		json_object_array_add(json_object_object_get(meta, "notes"),
		    json_object_new_string(note));
		json_object_object_add(cov, "unchanged_not_listed", json_object_new_int64(
		    s->sames_counted - s->sames_listed));
	}
	json_object_object_add(meta, "method", json_object_new_string(
	    "on-demand list prices from the price book (spec files, then the"
	    " built-in catalogue) x 730 hours a month, or x the stated usage"
	    " assumptions; unpriced resources are listed, not counted as zero"));
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	json_object_object_add(meta, "generated_at", json_object_new_string(ts));
	json_object_object_add(ans, "metadata", meta);
	for (d = 0; d < nitems(dims); d++)
		json_object_put(by[d]);
	json_object_put(groups);
	json_object_put(totals);
	json_object_put(before);
	json_object_put(used_all);
	return ans;
}

struct json_object *
cost_resource(const struct pstack *s, const char *urn, const struct cost_opts *o)
{
	const struct presource *r = pulumi_find_urn(s, urn);
	struct json_object *rec;
	struct rctx x;

	if (r == NULL)
		return NULL;
	rec = resource_record(s, r, o, &x);
	rctx_free(&x);
	return rec;
}
