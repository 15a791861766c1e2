// The peer of bench/peers.pl: an MCP server on the official TypeScript SDK
// (@modelcontextprotocol/sdk 1.32.2, the stateless Streamable HTTP pattern
// its documentation gives: a Server and a transport per request, JSON
// responses), listing the same tools as pulumicost-mcp and implementing
// analyze_projected_costs the same way per call: parse the preview text,
// price each step, sum by provider, service, region, category and type,
// count coverage, list the changed resources and write the text summary.  Its price
// for each resource shape comes from shapes.json, which peers.pl fills from
// pulumicost-mcp's own answer for that shape alone, so both servers give
// the same totals (peers.pl checks) and the comparison is of the servers,
// not of two catalogues.
//
//   node bench/node-peer.cjs PORT TOOLS_JSON SHAPES_JSON NPM_DIR
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { createRequire } = require('node:module');

const [port, toolsFile, shapesFile, npmDir] = process.argv.slice(2);
const sdk = createRequire(path.join(npmDir, 'package.json'));
const { Server } = sdk('@modelcontextprotocol/sdk/server/index.js');
const { StreamableHTTPServerTransport } = sdk('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { ListToolsRequestSchema, CallToolRequestSchema } = sdk('@modelcontextprotocol/sdk/types.js');

const tools = JSON.parse(fs.readFileSync(toolsFile, 'utf8'));
const shapes = new Map(Object.entries(JSON.parse(fs.readFileSync(shapesFile, 'utf8'))));
const TOP = 20;

function shapeKey(step) {
  const n = step.newState || {};
  return [n.type, step.op, JSON.stringify(n.inputs || {}),
    JSON.stringify((step.oldState || {}).inputs || null)].join('|');
}

function add(map, k, v) { if (k) map[k] = Math.round(((map[k] || 0) + v) * 1e5) / 1e5; }

function analyze(text) {
  const doc = JSON.parse(text);
  const sum = { total_monthly: 0, total_hourly: 0, currency: 'USD', by_provider: {},
    by_service: {}, by_region: {}, by_category: {}, by_type: {}, monthly_cost_before: 0 };
  const cov = { resources: 0, priced: 0, no_charge: 0, unpriced: 0, removed_by_update: 0 };
  const priced = [], unpriced = [];
  for (const step of doc.steps || []) {
    const n = step.newState;
    if (!n) continue;
    const s = shapes.get(shapeKey(step));
    if (!s) throw new Error(`no price for ${n.urn}`);
    cov.resources++;
    if (s.status === 'unpriced') {
      cov.unpriced++;
      unpriced.push({ urn: n.urn, type: n.type, reason: s.reason });
      continue;
    }
    if (s.status !== 'priced') { cov.no_charge++; continue; }
    cov.priced++;
    const r = { ...s.resource, urn: n.urn, name: n.urn.slice(n.urn.lastIndexOf('::') + 2),
      tags: (n.inputs || {}).tags };
    priced.push(r);
    sum.total_monthly += r.monthly_cost;
    sum.monthly_cost_before += r.monthly_cost_before || 0;
    add(sum.by_provider, r.provider, r.monthly_cost);
    add(sum.by_service, r.service, r.monthly_cost);
    add(sum.by_region, r.region, r.monthly_cost);
    add(sum.by_category, r.category, r.monthly_cost);
    add(sum.by_type, r.type, r.monthly_cost);
  }
  sum.total_monthly = Math.round(sum.total_monthly * 1e5) / 1e5;
  sum.total_hourly = Math.round(sum.total_monthly / 730 * 1e6) / 1e6;	// 730 hours a month
  sum.monthly_cost_before = Math.round(sum.monthly_cost_before * 1e5) / 1e5;
  sum.monthly_change = Math.round((sum.total_monthly - sum.monthly_cost_before) * 1e5) / 1e5;
  cov.percent_priced = cov.resources ? Math.round(1000 * (cov.priced + cov.no_charge) / cov.resources) / 10 : 100;
  // Listed, as pulumicost-mcp lists them: the changed ones, in document
  // order, then the unpriced (unchanged resources count in the totals).
  const listed = priced.filter((r) => r.op !== 'same').slice(0, TOP)
    .concat(unpriced.map((u) => ({ urn: u.urn, type: u.type, status: 'unpriced', reason: u.reason })));
  const out = { ...sum, resources: listed, coverage: cov, unpriced };
  const lines = [
    `Projected monthly cost: ${out.total_monthly.toFixed(2)} USD (${out.total_hourly.toFixed(4)} per hour)`,
    `Change from this update: ${out.monthly_change >= 0 ? '+' : ''}${out.monthly_change.toFixed(2)} USD a month (before: ${out.monthly_cost_before.toFixed(2)})`,
    `Resources: ${cov.resources} (${cov.priced} priced, ${cov.no_charge} with no charge, ${cov.unpriced} unpriced); ${cov.percent_priced.toFixed(1)}% covered`,
    ...out.resources.filter((r) => r.status === 'priced')
      .map((r) => `${r.monthly_cost.toFixed(2).padStart(12)} USD  ${r.type} ${r.name} (${r.region})`),
  ];
  return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: out, isError: false };
}

function mcpServer() {
  const s = new Server({ name: 'node-peer', version: '1.0.0' }, { capabilities: { tools: {} } });
  s.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  s.setRequestHandler(CallToolRequestSchema, async (req) => {
    if (req.params.name !== 'analyze_projected_costs')
      return { content: [{ type: 'text', text: `not implemented in the peer: ${req.params.name}` }], isError: true };
    const a = req.params.arguments || {};
    try {
      return analyze(typeof a.pulumi_json === 'string' ? a.pulumi_json : JSON.stringify(a.pulumi_json));
    } catch (e) {
      return { content: [{ type: 'text', text: String(e.message) }], isError: true };
    }
  });
  return s;
}

http.createServer(async (req, res) => {
  if (req.method !== 'POST' || req.url !== '/mcp') { res.writeHead(404).end(); return; }
  const chunks = [];
  for await (const c of req) chunks.push(c);
  let body;
  try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch {
    res.writeHead(400).end(); return;
  }
  const server = mcpServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}).listen(Number(port), '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
