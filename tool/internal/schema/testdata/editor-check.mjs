// editor-check.mjs drives yaml-language-server, the language server of
// VS Code's YAML extension and of many other editors, over LSP as an
// editor does, on a plugship.yaml that starts with the scaffold's
// yaml-language-server line, and prints what it completes and reports.
//
//   npm install yaml-language-server@1
//   node editor-check.mjs <repository root> [<file>]
//
// The schema URLs of the modeline (raw.githubusercontent.com) are served
// from the repository's schemas/ folder by a loopback HTTP server, as
// GitHub serves them, so that the check runs offline: the file's text is
// given to the server with that prefix swapped for the loopback one.
// It exits non-zero unless completion at the top level offers every
// top-level field the file lacks, completion in contract offers symbols,
// and a misspelt field is reported.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = process.argv[2] ?? ".";
const base = "https://raw.githubusercontent.com/plugship/plugship/main/schemas/";
const http = createServer((req, res) => {
  try {
    const body = readFileSync(join(root, "schemas", req.url.replace(/^\/+/, "")));
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
const local = `http://127.0.0.1:${http.address().port}/`;

const given = process.argv[3]
  ? readFileSync(process.argv[3], "utf8")
  : `# yaml-language-server: $schema=${base}plugship.schema.json\nversion: 1\n`;
const text = given.replaceAll(base, local);

const server = spawn(join(process.cwd(), "node_modules/.bin/yaml-language-server"), ["--stdio"], { stdio: ["pipe", "pipe", "inherit"] });
let buffer = Buffer.alloc(0);
let nextId = 1;
const pending = new Map();
const diagnostics = [];
server.stdout.on("data", (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  for (;;) {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const length = Number(/Content-Length: (\d+)/i.exec(buffer.subarray(0, end).toString())[1]);
    if (buffer.length < end + 4 + length) return;
    const msg = JSON.parse(buffer.subarray(end + 4, end + 4 + length).toString());
    buffer = buffer.subarray(end + 4 + length);
    if (msg.id !== undefined && pending.has(msg.id) && msg.method === undefined) {
      pending.get(msg.id)(msg.result);
      pending.delete(msg.id);
    } else if (msg.id !== undefined && msg.method) {
      // A request of the server's (workspace/configuration, ...): answer it.
      const result = msg.method === "workspace/configuration"
        ? msg.params.items.map(() => ({ validate: true, completion: true, hover: true, schemaStore: { enable: false } }))
        : null;
      send({ jsonrpc: "2.0", id: msg.id, result });
    } else if (msg.method === "textDocument/publishDiagnostics") {
      diagnostics.push(...msg.params.diagnostics);
    }
  }
});
function send(msg) {
  const body = Buffer.from(JSON.stringify(msg));
  server.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
  server.stdin.write(body);
}
function request(method, params) {
  const id = nextId++;
  send({ jsonrpc: "2.0", id, method, params });
  return new Promise((ok) => pending.set(id, ok));
}
const notify = (method, params) => send({ jsonrpc: "2.0", method, params });
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

await request("initialize", { processId: process.pid, rootUri: null, capabilities: { textDocument: { completion: { completionItem: { snippetSupport: true } } }, workspace: { configuration: true } } });
notify("initialized", {});
notify("workspace/didChangeConfiguration", { settings: { yaml: { validate: true, completion: true, schemaStore: { enable: false } } } });

const labels = async (uri, content, line, character) => {
  notify("textDocument/didOpen", { textDocument: { uri, languageId: "yaml", version: 1, text: content } });
  const r = await request("textDocument/completion", { textDocument: { uri }, position: { line, character } });
  return (r?.items ?? r ?? []).map((i) => i.label);
};
const lines = text.split("\n");
const top = await labels("file:///check/top/plugship.yaml", text + "\n", lines.length, 0);
const inContract = await labels("file:///check/contract/plugship.yaml", `${lines[0]}\ncontract:\n  \n`, 2, 2);
notify("textDocument/didOpen", { textDocument: { uri: "file:///check/bad/plugship.yaml", languageId: "yaml", version: 1, text: `${lines[0]}\ncontracts: {}\n` } });
await sleep(3000);

console.log("completion at the top level:", top.join(", "));
console.log("completion in contract:", inContract.join(", "));
console.log("diagnostics of a misspelt field:", diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join("; "));
const present = new Set([...text.matchAll(/^([a-z_]+):/gm)].map((m) => m[1]));
const missing = ["version", "contract", "folders", "sigstore"].filter((f) => !present.has(f));
const ok = missing.length > 0 && missing.every((f) => top.includes(f)) &&
  inContract.includes("symbols") && diagnostics.some((d) => /contracts/.test(d.message));
server.kill();
http.close();
console.log(ok ? "ok: the editor completes and checks plugship.yaml from its schema" : "FAILED");
process.exit(ok ? 0 : 1);
