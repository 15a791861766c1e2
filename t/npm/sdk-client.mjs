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
  out.ping = await client.ping();
  out.ok = true;
} catch (e) {
  out.error = String(e?.message ?? e);
}
await client.close().catch(() => {});
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
