// A cost-source plugin for the tests, on an independent gRPC stack
// (@grpc/grpc-js and @grpc/proto-loader) serving proto/costsource.proto.
// It follows the published startup protocol: the port from --port=N, else
// FINFOCUS_PLUGIN_PORT, else PULUMICOST_PLUGIN_PORT; "PORT=N" on stdout once
// it listens on 127.0.0.1; SIGTERM stops it.  TEST_PLUGIN_MODE chooses a
// behaviour: healthy (default), slow (TEST_PLUGIN_DELAY_MS on every call, or
// on those of TEST_PLUGIN_SLOW_RPCS),
// crash (exits after TEST_PLUGIN_CRASH_AFTER calls, default 0: at once),
// oldpkg (serves only pulumicost.v1), http1 (speaks HTTP/1.1), noport
// (never listens), garbage (answers with bytes that are not protobuf).
// TEST_PLUGIN_UNSUPPORTED: every price is $0 "not supported", no actual costs;
// TEST_PLUGIN_FAIL_PROJECTED: every price and actual cost fails with UNAVAILABLE.
// TEST_PLUGIN_BUDGET=NAME: GetBudgets reports a monthly budget of 150 USD by that name.
// TEST_PLUGIN_CRASH_ONCE=FILE: the first GetProjectedCost of all (FILE marks
// it) exits the process.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 'npm', 'package.json'));
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const mode = process.env.TEST_PLUGIN_MODE || 'healthy';
const name = process.env.TEST_PLUGIN_NAME || 'test-plugin';
const delay = Number(process.env.TEST_PLUGIN_DELAY_MS || 0);
// Which RPCs are slow (all when unset): a plugin can start fast and price slowly.
const slowRpcs = (process.env.TEST_PLUGIN_SLOW_RPCS || '').split(',').filter(Boolean);
const arg = process.argv.find((a) => a.startsWith('--port='));
const port = Number(arg ? arg.slice(7) : process.env.FINFOCUS_PLUGIN_PORT ||
  process.env.PULUMICOST_PLUGIN_PORT || 0);
let calls = 0;

process.on('SIGTERM', () => process.exit(0));
console.error(`${name}: starting in mode ${mode} on port ${port}`);


function serve() {
  let protoFile = join(here, '..', '..', 'proto', 'costsource.proto');
  if (mode === 'oldpkg') {
    // The same messages under the package name of pulumicost-spec <= 0.4.
    const dir = mkdtempSync(join(tmpdir(), 'oldpkg-'));
    const text = readFileSync(protoFile, 'utf8').replace('package finfocus.v1;', 'package pulumicost.v1;');
    protoFile = join(dir, 'costsource.proto');
    writeFileSync(protoFile, text);
  }
  const def = loader.loadSync(protoFile, { keepCase: true, longs: Number, enums: String,
    defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def);
  const svc = (mode === 'oldpkg' ? pkg.pulumicost : pkg.finfocus).v1.CostSourceService.service;
  const server = new grpc.Server();
  const impl = {};
  for (const [rpc, fn] of Object.entries(handlers)) {
    impl[rpc] = (call, cb) => {
      calls++;
      const once = process.env.TEST_PLUGIN_CRASH_ONCE;
      if (once && rpc === 'GetProjectedCost' && !existsSync(once)) {
        writeFileSync(once, 'crashed\n');
        console.error(`${name}: crashing once, on ${rpc}`);
        process.exit(3);
      }
      if (mode === 'crash' && calls > Number(process.env.TEST_PLUGIN_CRASH_AFTER || 0)) {
        console.error(`${name}: crashing on call ${calls}`);
        process.exit(3);
      }
      const answer = () => {
        try { fn(call.request, cb); } catch (e) { cb({ code: grpc.status.INTERNAL, details: String(e) }); }
      };
      if (delay > 0 && (slowRpcs.length === 0 || slowRpcs.includes(rpc))) setTimeout(answer, delay);
      else answer();
    };
  }
  if (mode === 'garbage') {
    // A method whose answer is not the message it claims to be.
    const raw = { ...svc };
    for (const k of Object.keys(raw)) raw[k] = { ...raw[k], responseSerialize: () => Buffer.from([0xff, 0xff, 0xff]) };
    server.addService(raw, impl);
  } else {
    server.addService(svc, impl);
  }
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) { console.error(`${name}: ${err.message}`); process.exit(1); }
    console.log(`PORT=${bound}`);
  });
}

function status(code, message) { return { code, details: message }; }

const handlers = {
  Name(req, cb) { cb(null, { name }); },
  GetPluginInfo(req, cb) {
    cb(null, { name, version: process.env.TEST_PLUGIN_VERSION || '1.2.3', spec_version: '0.5.1',
      providers: ['aws'], metadata: { mode, api_key: 'sk-test-secret' },
      capabilities: ['PLUGIN_CAPABILITY_PROJECTED_COSTS', 'PLUGIN_CAPABILITY_ACTUAL_COSTS',
        'PLUGIN_CAPABILITY_RECOMMENDATIONS', 'PLUGIN_CAPABILITY_BUDGETS'] });
  },
  Supports(req, cb) {
    const r = req.resource;
    if (!r) return cb(status(grpc.status.INVALID_ARGUMENT, 'resource is required'));
    const ok = r.provider === 'aws' && /ec2\/instance|ebs\/volume/.test(r.resource_type || '');
    if (process.env.TEST_PLUGIN_UNSUPPORTED || process.env.TEST_PLUGIN_FAIL_PROJECTED) return cb(null, { supported: r.provider === 'aws' });
    cb(null, { supported: ok, reason: ok ? '' : `${r.resource_type} is not priced by ${name}`,
      capabilities_enum: ['PLUGIN_CAPABILITY_PROJECTED_COSTS'] });
  },
  GetProjectedCost(req, cb) {
    const r = req.resource;
    if (process.env.TEST_PLUGIN_FAIL_PROJECTED) return cb(status(grpc.status.UNAVAILABLE, 'pricing backend down'));
    if (process.env.TEST_PLUGIN_UNSUPPORTED) return cb(null, { currency: 'USD', cost_per_month: 0, billing_detail: 'not supported by this plugin' });
    if (!r || !r.provider) return cb(status(grpc.status.INVALID_ARGUMENT, 'resource.provider is required'));
    switch (r.resource_type) {
      case 'invalid:resource': return cb(status(grpc.status.INVALID_ARGUMENT, 'unknown resource type'));
      case 'forbidden:resource': return cb(status(grpc.status.PERMISSION_DENIED, 'not allowed'));
      case 'error:internal': return cb(status(grpc.status.INTERNAL, 'internal error'));
      case 'error:unavailable': return cb(status(grpc.status.UNAVAILABLE, 'backend down'));
      case 'error:notfound': return cb(status(grpc.status.NOT_FOUND, 'no such resource'));
      default: break;
    }
    if (r.resource_type === 'aws:ec2/instance:Instance') {
      const hourly = { 't3.micro': 0.0111, 't3.medium': 0.0444 }[r.sku];
      if (hourly === undefined) return cb(null, { currency: 'USD', cost_per_month: 0, billing_detail: `sku ${r.sku} not supported` });
      return cb(null, { unit_price: hourly, currency: 'USD', cost_per_month: hourly * 730,
        billing_detail: `${name}: on-demand Linux, 730 hrs/month`, pricing_category: 'FOCUS_PRICING_CATEGORY_STANDARD' });
    }
    cb(null, { currency: 'USD', cost_per_month: 0, billing_detail: `${r.resource_type} not supported` });
  },
  GetActualCost(req, cb) {
    const secs = (t) => (t ? Number(t.seconds || 0) : 0);
    if (!req.resource_id && !req.arn) return cb(status(grpc.status.INVALID_ARGUMENT, 'resource_id is required'));
    if (secs(req.start) > secs(req.end)) return cb(status(grpc.status.INVALID_ARGUMENT, 'start is after end'));
    if (process.env.TEST_PLUGIN_FAIL_PROJECTED) return cb(status(grpc.status.UNAVAILABLE, 'cost backend down'));
    if (process.env.TEST_PLUGIN_UNSUPPORTED) return cb(null, { results: [] });
    // Five daily results, paged.
    const all = [1, 2, 3, 4, 5].map((d) => ({ timestamp: { seconds: 1725148800 + 86400 * (d - 1), nanos: 0 },
      cost: d * 1.5, usage_amount: 24, usage_unit: 'Hrs', source: name }));
    const size = req.page_size || 50;
    const from = Number(req.page_token || 0);
    const next = from + size < all.length ? String(from + size) : '';
    cb(null, { results: all.slice(from, from + size), next_page_token: next, total_count: all.length });
  },
  GetPricingSpec(req, cb) {
    cb(null, { spec: { provider: 'aws', resource_type: 'ec2', sku: 't3.micro', region: 'us-east-1',
      billing_mode: 'per_hour', rate_per_unit: 0.0111, currency: 'USD', unit: 'hour', source: name } });
  },
  EstimateCost(req, cb) { cb(null, { currency: 'USD', cost_monthly: 42 }); },
  GetRecommendations(req, cb) {
    cb(null, { recommendations: [{ id: 'r1', category: 'RECOMMENDATION_CATEGORY_COST',
      action_type: 'RECOMMENDATION_ACTION_TYPE_RIGHTSIZE', description: 'smaller instance',
      resource: { id: process.env.TEST_PLUGIN_REC_ID || 'i-1', provider: 'aws', resource_type: 'ec2' },
      impact: { estimated_savings: 12.5, currency: 'USD' }, source: name }] });
  },
  GetBudgets(req, cb) {
    if (!process.env.TEST_PLUGIN_BUDGET) return cb(null, { budgets: [], summary: { total_budgets: 0 } });
    cb(null, { budgets: [{ id: 'pb-1', name: process.env.TEST_PLUGIN_BUDGET, source: name,
      amount: { limit: 150, currency: 'USD' }, period: 'BUDGET_PERIOD_MONTHLY',
      thresholds: [{ percentage: 50, type: 'THRESHOLD_TYPE_ACTUAL' }],
      status: { current_spend: 42, currency: 'USD', health: 'BUDGET_HEALTH_STATUS_OK' } }],
      summary: { total_budgets: 1, budgets_ok: 1 } });
  },
  DryRun(req, cb) { cb(null, { configuration_valid: true, resource_type_supported: true }); },
};

if (mode === 'noport') {
  setInterval(() => {}, 1000);
} else if (mode === 'http1') {
  const srv = createServer((s) => {
    s.on('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  });
  srv.listen(port, '127.0.0.1', () => console.log(`PORT=${srv.address().port}`));
} else {
  serve();
}
