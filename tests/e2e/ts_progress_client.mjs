// A host built on the official MCP TypeScript SDK: starts `python -m fw_mcp` over stdio, calls `chat`
// CALLS times with a progress handler, and prints one JSON line: the SDK's errors and, per call, the
// progress it saw and the result. Run by tests/e2e/test_typescript_client.py (argv: python, calls).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [python, calls] = process.argv.slice(2);
const transport = new StdioClientTransport({
  command: python,
  args: ["-m", "fw_mcp"],
  env: {
    FIREWORKS_API_KEY: process.env.FIREWORKS_API_KEY,
    FIREWORKS_BASE_URL: process.env.FIREWORKS_BASE_URL,
    FW_MCP_LOG_LEVEL: "WARNING",
    PATH: process.env.PATH,
  },
  stderr: "inherit",
});
const client = new Client({ name: "fw-mcp-ts-test", version: "0" });
const errors = [];
client.onerror = (error) => errors.push(String(error));
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
const results = [];
for (let i = 0; i < Number(calls); i++) {
  const progress = [];
  const result = await client.callTool(
    { name: "chat", arguments: { prompt: `Call ${i}: tell me about progress notifications` } },
    undefined,
    { onprogress: (p) => progress.push(p) },
  );
  results.push({ progress, text: result.structuredContent?.text ?? null, isError: result.isError ?? false });
}
await client.close();
console.log(JSON.stringify({ errors, tools, results }));
