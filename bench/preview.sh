#!/usr/bin/env bash
# `pulumi preview` of generated teams (bench/lib/bigTeam.ts: one lead, a senior per ten
# developers mentoring two) on an empty stack: wall time, resource count, and peak
# resident memory of the engine (pulumi CLI), the language host, the program (node) and
# the dynamic providers. No host is contacted: a preview runs no step.
# Usage: bench/preview.sh [N...]   (default 10 50 200 500; as root; BENCH_RUNS=3)
# wall_log_s: one more run per size with Pulumi's automatic debug log on, as a CLI with its
# own PULUMI_HOME writes it (BENCH_PREVIEW_LOGGED=0 skips it); the others run without it.
# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/peakmem.sh
source "$BENCH_DIR/lib/peakmem.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(10 50 200 500)
key=$BENCH_STATE/preview-admin
[[ -f $key ]] || ssh-keygen -q -t ed25519 -N '' -C bench-admin -f "$key"
dir=$BENCH_STATE/preview
rows=()
# preview_once N TEAM: one preview on a fresh stack; sets wall, mem (4 roles) and count.
preview_once() {
  local n=$1 team=$2 t pid
  # stack_init reads the pool key from hosts.json; a preview needs only some key pair.
  rm -rf "$dir"
  mkdir -p "$dir/home" "$dir/backend" "$dir/work"
  printf 'name: agent-runtime\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n    tsconfig: %s/tsconfig.run.json\nmain: %s\n' "$REPO" "$REPO" >"$dir/work/Pulumi.yaml"
  pulumi_in "$dir" stack init bench >/dev/null 2>&1
  pulumi_in "$dir" config set agent-runtime:teamFile "$team" >/dev/null
  pulumi_in "$dir" config set agent-runtime:executor ssh >/dev/null
  pulumi_in "$dir" config set agent-runtime:adminKeyPath "$key" >/dev/null
  pulumi_in "$dir" config set agent-runtime:adminPublicKey "$(cat "$key.pub")" >/dev/null
  pulumi_in "$dir" config set agent-runtime:archiveDir "$dir/archives" >/dev/null
  t=$(now)
  pulumi_in "$dir" preview --json >"$dir/preview.json" 2>"$dir/preview.err" &
  pid=$!
  peak_mem "$pid" "$dir/mem"
  wait "$pid" || die "preview of $n developers failed: $(tail -n 5 "$dir/preview.err")"
  wall=$(since "$t")
  mem=$(cat "$dir/mem")
  count=$(node -e 'const p=require(process.argv[1]); console.log(Object.values(p.changeSummary).reduce((a,b)=>a+b,0))' "$dir/preview.json")
}
for n in "${sizes[@]}"; do
  team=$BENCH_STATE/preview-team-$n.yaml
  "${TSX[@]}" "$BENCH_DIR/lib/bigTeam.ts" "$n" >"$team"
  walls=() mems=()
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    preview_once "$n" "$team"
    walls+=("$wall") mems+=("$mem")
  done
  # Once more with Pulumi's automatic debug log, which a CLI with its own PULUMI_HOME
  # writes (the runs above go without it, as the sandbox and the tests run: stack_env).
  logged=-
  if [[ ${BENCH_PREVIEW_LOGGED:-1} == 1 ]]; then
    AGENT_RUNTIME_PULUMI_LOGS=1 preview_once "$n" "$team"
    logged=$wall
  fi
  # memory: the run with the median wall time is not special; report each role's median
  # shellcheck disable=SC2046 # one number per line
  med() { median $(printf '%s\n' "${mems[@]}" | awk -v c="$1" '{ print $c }'); }
  rows+=("$(printf '%-6s %10s %10s %9s %9s %9s %10s %12s' "$n" "$(median "${walls[@]}")" "$count" "$(med 1)" "$(med 2)" "$(med 3)" "$(med 4)" "$logged")")
  log "preview $n: ${walls[*]} s; with the automatic log: $logged s"
done
printf '\npreview scaling: empty stack, executor ssh; median of %s runs; %s\n' "$BENCH_RUNS" "$(load_note)"
printf '%-6s %10s %10s %9s %9s %9s %10s %12s\n' devs wall_s resources engineMB langhostMB programMB providersMB wall_log_s
printf '%s\n' "${rows[@]}"
printf 'SUMMARY preview: %s\n' "$(printf '%s\n' "${rows[@]}" | awk '{ printf "%s%s devs %s s (%s resources)", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
