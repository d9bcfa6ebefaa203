#!/usr/bin/env bash
# test.sh — the whole test suite: unit tests (plan, renders, validation, mocks for
# cloud resources), end-to-end tests (real Pulumi engine against local
# systemd-nspawn hosts) and the vm tier (the same on a QEMU VM: limits enforced, auditd
# running). Sets up whatever is missing first. Needs root on Linux.
# Extra arguments go to vitest (e.g. `scripts/test.sh --project unit`).
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: the end-to-end tests boot local hosts (systemd-nspawn, network namespaces): run as root" >&2
  exit 1
fi
env_file=$(scripts/setup.sh --hosts --print-env)
# shellcheck source=/dev/null
source "$env_file"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
report=$(mktemp /tmp/agent-runtime-vitest.XXXXXX.json)
trap 'rm -f "$report"' EXIT
status=0
# Formatting is prettier's (.prettierrc.json, .prettierignore): a file it would change
# fails the run, after the tests so they still report. Fix with: npx prettier --write .
format=0
node node_modules/prettier/bin/prettier.cjs --check --log-level warn . || format=$?
# Types: the program and tests, and agentctl (bundler resolution: src/agentctl/tsconfig.json).
types=0
node node_modules/typescript/bin/tsc --noEmit -p . || types=$?
node node_modules/typescript/bin/tsc --noEmit -p src/agentctl || types=$?
node node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line, whatever the reporter printed above.
# shellcheck disable=SC2016 # JavaScript template literal, not shell
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests+r.numTodoTests} skipped`)' "$report" || true
if ((types)); then
  echo "test.sh: tsc found type errors (listed above)" >&2
  ((status)) || status=$types
fi
if ((format)); then
  echo "test.sh: prettier --check found unformatted files (listed above); run: npx prettier --write ." >&2
  ((status)) || status=$format
fi
exit "$status"
