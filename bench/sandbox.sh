#!/usr/bin/env bash
# `agent-runtime sandbox up` on a running sandbox with nothing to change: wall time of
# the whole command, and the part spent in `pulumi up` (the engine's own Duration),
# median of BENCH_RUNS. Runs its own sandbox (pool perfsb, 10.213.62; state under
# $BENCH_STATE/sandbox) so a developer's sandbox is never touched; torn down at the end.
# Usage: bench/sandbox.sh   (as root)
# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
export AGENT_RUNTIME_SANDBOX_POOL=${BENCH_SANDBOX_POOL:-perfsb}
export AGENT_RUNTIME_SANDBOX_SUBNET=${BENCH_SANDBOX_SUBNET:-10.213.62}
export AGENT_RUNTIME_SANDBOX_STATE=$BENCH_STATE/sandbox
cli=("$REPO/bin/agent-runtime" sandbox)
down() { "${cli[@]}" down >"$BENCH_STATE/sandbox-down.log" 2>&1 || bash "$REPO/scripts/hostpool.sh" down --pool "$AGENT_RUNTIME_SANDBOX_POOL" >/dev/null 2>&1 || true; }
trap down EXIT
rm -f "$BENCH_STATE/ssh.log"
t=$(now)
BENCH_SSH_LOG=$BENCH_STATE/ssh.log "${cli[@]}" up >"$BENCH_STATE/sandbox-first.log" 2>&1 || die "first sandbox up failed (log: $BENCH_STATE/sandbox-first.log)"
first=$(since "$t") first_ssh=$(ssh_count "$BENCH_STATE/ssh.log")
declare -a walls engine sshs
for ((run = 1; run <= BENCH_RUNS; run++)); do
  rm -f "$BENCH_STATE/ssh.log"
  t=$(now)
  BENCH_SSH_LOG=$BENCH_STATE/ssh.log "${cli[@]}" up >"$BENCH_STATE/sandbox-noop.log" 2>&1 || die "sandbox up failed"
  walls+=("$(since "$t")") sshs+=("$(ssh_count "$BENCH_STATE/ssh.log")")
  engine+=("$(awk '/^Duration: / { sub(/s$/, "", $2); print $2 }' "$BENCH_STATE/sandbox-noop.log" | tail -n 1)")
  grep -q ' unchanged' "$BENCH_STATE/sandbox-noop.log" || log "note: run $run changed something"
done
W=$(median "${walls[@]}") E=$(median "${engine[@]}")
printf '\nsandbox up with nothing to change (example team, 4 hosts); median of %s runs; %s\n' "$BENCH_RUNS" "$(load_note)"
printf '%-24s %8s %12s\n' what wall_s remote_cmds
printf '%-24s %8s %12s\n' "first sandbox up" "$first" "$first_ssh"
printf '%-24s %8s %12s\n' "no-op sandbox up" "$W" "$(median "${sshs[@]}")"
printf '%-24s %8s %12s\n' "  of which pulumi up" "$E" -
printf 'all runs (s): %s\n' "${walls[*]}"
printf 'SUMMARY sandbox: no-op sandbox up %s s wall (engine %s s), %s remote commands\n' "$W" "$E" "$(median "${sshs[@]}")"
