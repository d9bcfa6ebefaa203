#!/usr/bin/env bash
# Benchmark of the local host pool (not a test): rootfs build time cold and cached,
# then boot-to-ready wall time (every host answers ssh and systemd has finished
# booting) for 1, 3 and 8 hosts, plus teardown time and per-host footprint.
# Usage: scripts/bench-hostpool.sh [N...]    (default: 1 3 8). Needs root.
# Boots run on the machine's cores: anything else busy (a Go build, another e2e run)
# shows up directly in the figures, so note the load average printed at the end.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

readonly HOSTPOOL=${0%/*}/hostpool.sh
readonly POOL=bench SUBNET=10.213.3 # test uses 10.213.2, the sandbox 10.213.1
COLD_CACHE=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

cleanup() {
  bash "$HOSTPOOL" down --pool "$POOL" 2>/dev/null || true
  if [[ -n $COLD_CACHE && -d $COLD_CACHE ]]; then rm -rf --one-file-system "$COLD_CACHE"; fi
}
trap cleanup EXIT

((EUID == 0)) || {
  echo "run as root" >&2
  exit 1
}
sizes=("$@")
((${#sizes[@]})) || sizes=(1 3 8)

# Cold: a private, empty cache so the real one is neither used nor disturbed.
# BENCH_SKIP_COLD=1 skips it (it downloads ~70 MB from the Debian mirror).
if [[ -z ${BENCH_SKIP_COLD:-} ]]; then
  COLD_CACHE=$(mktemp -d /var/tmp/agent-runtime-bench-XXXXXX)
  t0=$(now)
  AGENT_RUNTIME_CACHE=$COLD_CACHE bash "$HOSTPOOL" rootfs >/dev/null 2>&1
  t1=$(now)
  cold_size=$(du -sh "$COLD_CACHE/rootfs" | cut -f1)
  rm -rf --one-file-system "$COLD_CACHE"
  COLD_CACHE=""
  printf 'rootfs build, cold:   %6ss  (%s)\n' "$(elapsed "$t0" "$t1")" "$cold_size"
fi

bash "$HOSTPOOL" rootfs >/dev/null 2>&1 # make sure the real cache is warm
t0=$(now)
bash "$HOSTPOOL" rootfs >/dev/null 2>&1
t1=$(now)
printf 'rootfs build, cached: %6ss\n' "$(elapsed "$t0" "$t1")"

for n in "${sizes[@]}"; do
  names=()
  for ((i = 1; i <= n; i++)); do names+=("bench$i"); done
  t0=$(now)
  bash "$HOSTPOOL" up --pool "$POOL" --subnet "$SUBNET" "${names[@]}" >/dev/null 2>/tmp/bench-hostpool.log
  t1=$(now)
  ssh_ready=$(grep -c 'ssh ready' /tmp/bench-hostpool.log || true)
  # Footprint: proportional RSS of every process in the pool's cgroups, and the
  # overlay upper dirs (what each host wrote on top of the shared rootfs).
  pss_kb=0
  cg=/sys/fs/cgroup/unified/agent-runtime/$POOL # hybrid host; pure cgroup2 below
  [[ -d $cg ]] || cg=/sys/fs/cgroup/agent-runtime/$POOL
  while read -r pid; do
    kb=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    pss_kb=$((pss_kb + ${kb:-0}))
  done < <(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
  upper_kb=$(du -sk /var/lib/agent-runtime/pools/$POOL/*/upper | awk '{ s += $1 } END { print s }')
  t2=$(now)
  bash "$HOSTPOOL" down --pool "$POOL" 2>/dev/null
  t3=$(now)
  printf 'boot N=%-2d to ready:   %6ss  (%d/%d ssh ready; teardown %ss; per host: %d MB PSS, %d MB overlay)\n' \
    "$n" "$(elapsed "$t0" "$t1")" "$ssh_ready" "$n" "$(elapsed "$t2" "$t3")" \
    $((pss_kb / n / 1024)) $((upper_kb / n / 1024))
done

printf 'load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
if ! left=$(bash "$HOSTPOOL" leftovers --pool "$POOL"); then
  printf 'LEFTOVERS after benchmark:\n%s\n' "$left" >&2
  exit 1
fi
