// The baseline of bench/plugins.pl: the same GetProjectedCost (and
// Supports + GetProjectedCost) calls made directly to the plugin by a
// grpc-js client.  node grpc-client.mjs ADDRESS N  ->  JSON on stdout.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', 't', 'npm', 'package.json'));
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const [address, n] = [process.argv[2], Number(process.argv[3] || 300)];
const def = loader.loadSync(join(here, '..', 'proto', 'costsource.proto'), { keepCase: true });
const Svc = grpc.loadPackageDefinition(def).finfocus.v1.CostSourceService;
const client = new Svc(address, grpc.credentials.createInsecure());
const resource = { provider: 'aws', resource_type: 'aws:ec2/instance:Instance', sku: 't3.medium', region: 'us-east-1' };
const call = (m, req) => new Promise((ok, bad) => client[m](req, (e, r) => (e ? bad(e) : ok(r))));
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn();	// warm up
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { p50: pct(t, 0.5), p99: pct(t, 0.99) };
}

const projected = await measure(() => call('GetProjectedCost', { resource }));
const pair = await measure(async () => { await call('Supports', { resource }); await call('GetProjectedCost', { resource }); });
console.log(JSON.stringify({ projected, pair, n }));
client.close();
