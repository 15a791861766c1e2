// Drive pulumicost-mcp with the official TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in package.json) and print one JSON
// summary line.  usage: node sdk-client.mjs http URL | stdio CMD ARGS...
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, target, ...rest] = process.argv.slice(2);
const transport = mode === 'stdio'
  ? new StdioClientTransport({ command: target, args: rest, stderr: 'inherit' })
  : new StreamableHTTPClientTransport(new URL(target));
const client = new Client({ name: 'pcm-sdk-check', version: '1.0.0' }, { capabilities: {} });
const out = { ok: false };
try {
  await client.connect(transport);
  out.server = client.getServerVersion();
  out.protocol = transport.protocolVersion ?? null;
  // Every page, following nextCursor.
  const names = [];
  let cursor, pages = 0;
  do {
    const r = await client.listTools(cursor ? { cursor } : {});
    names.push(...r.tools.map((t) => t.name));
    cursor = r.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  out.tools = names;
  out.pages = pages;
  // Progress through the SDK's own handler.
  const progress = [];
  const r = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined,
    { onprogress: (p) => progress.push(p.progress) });
  out.progress = progress;
  out.progressText = r.content?.[0]?.text;
  // structuredContent validated by the SDK against outputSchema (listTools
  // above primed its validators; only the last page's tools are validated,
  // so list once more without paging when the tool is on another page).
  if (names.includes('test_echo')) {
    await client.listTools();
    const e = await client.callTool({ name: 'test_echo', arguments: { k: 'v' } });
    out.structured = e.structuredContent;
  }
  // The cost tools, each validated by the SDK against its outputSchema:
  // list the page that holds the tool (the SDK keeps the validators of the
  // last listing), then call it on the bundled example stack.
  const costCalls = {
    analyze_projected_costs: { stack_name: 'example' },
    compare_costs: { baseline: { stack_name: 'example' },
      target: { stack_name: 'example', source: 'preview' } },
    analyze_resource_cost: { stack_name: 'example',
      resource_urn: 'urn:pulumi:prod::shop::aws:ebs/volume:Volume::ci-cache' },
    query_cost_by_tags: { stack_name: 'example', tag_keys: ['team'] },
    analyze_stack_comprehensive: { stack_name: 'example', include_recommendations: true },
    get_actual_costs: { stack_name: 'example',
      time_range: { start: '2026-09-01', end: '2026-10-01' } },
    detect_cost_anomalies: { stack_name: 'example',
      time_range: { start: '2026-09-01', end: '2026-11-01' } },
    forecast_costs: { stack_name: 'example',
      forecast_period: { start: '2026-11-01', end: '2026-12-01' } },
    track_budget: { stack_name: 'example', budget_amount: 900, period: 'MONTHLY',
      as_of: '2026-10-20' },
    get_optimization_recommendations: { stack_name: 'example' },
  };
  out.cost = {};
  for (const [name, args] of Object.entries(costCalls)) {
    if (!names.includes(name)) continue;
    let c;
    do {
      const page = await client.listTools(c ? { cursor: c } : undefined);
      if (page.tools.some((t) => t.name === name)) break;
      c = page.nextCursor;
    } while (c);
    try {
      const r = await client.callTool({ name, arguments: args });
      out.cost[name] = { ok: !r.isError, keys: Object.keys(r.structuredContent ?? {}).sort() };
    } catch (e) {
      out.cost[name] = { ok: false, error: String(e?.message ?? e) };
    }
  }
  out.ping = await client.ping();
  out.ok = true;
} catch (e) {
  out.error = String(e?.message ?? e);
}
await client.close().catch(() => {});
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
