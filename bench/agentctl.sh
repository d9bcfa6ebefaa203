#!/usr/bin/env bash
# agentctl benchmark (bench/agentctl.ts): boots 4 local hosts, provisions the example
# team, starts 10 sessions per agent user, times the lead's `agentctl ls --all-servers`
# and the full-screen view's refresh. Run as root from a clone: bash bench/agentctl.sh [runs]
set -euo pipefail
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
env_file=$(scripts/setup.sh --hosts --print-env)
# shellcheck source=/dev/null
source "$env_file"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
exec node node_modules/tsx/dist/cli.mjs bench/agentctl.ts "$@"
