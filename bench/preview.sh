#!/usr/bin/env bash
# `pulumi preview` of generated teams (bench/lib/bigTeam.ts: one lead, a senior per ten
# developers mentoring two) on an empty stack: wall time, resource count, and peak
# resident memory of the engine (pulumi CLI), the language host, the program (node) and
# the dynamic providers. No host is contacted: a preview runs no step.
# Usage: bench/preview.sh [N...]   (default 10 50 200 500; as root; BENCH_RUNS=3)
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
for n in "${sizes[@]}"; do
  team=$BENCH_STATE/preview-team-$n.yaml
  "${TSX[@]}" "$BENCH_DIR/lib/bigTeam.ts" "$n" >"$team"
  walls=() mems=()
  for ((run = 1; run <= BENCH_RUNS; run++)); do
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
    walls+=("$(since "$t")")
    mems+=("$(cat "$dir/mem")")
    count=$(node -e 'const p=require(process.argv[1]); console.log(Object.values(p.changeSummary).reduce((a,b)=>a+b,0))' "$dir/preview.json")
  done
  # memory: the run with the median wall time is not special; report each role's median
  # shellcheck disable=SC2046 # one number per line
  med() { median $(printf '%s\n' "${mems[@]}" | awk -v c="$1" '{ print $c }'); }
  rows+=("$(printf '%-6s %10s %10s %9s %9s %9s %10s' "$n" "$(median "${walls[@]}")" "$count" "$(med 1)" "$(med 2)" "$(med 3)" "$(med 4)")")
  log "preview $n: ${walls[*]} s"
done
printf '\npreview scaling: empty stack, executor ssh; median of %s runs; %s\n' "$BENCH_RUNS" "$(load_note)"
printf '%-6s %10s %10s %9s %9s %9s %10s\n' devs wall_s resources engineMB langhostMB programMB providersMB
printf '%s\n' "${rows[@]}"
printf 'SUMMARY preview: %s\n' "$(printf '%s\n' "${rows[@]}" | awk '{ printf "%s%s devs %s s (%s resources)", (NR > 1 ? ", " : ""), $1, $2, $3 }')"
