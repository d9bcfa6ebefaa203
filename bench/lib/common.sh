# shellcheck shell=bash
# Shared by the bench/ scripts (sourced): paths, the bench's own host pool, timing and
# medians, the ssh-counting wrapper, and a private Pulumi stack per run. Benchmarks,
# not tests: they print numbers. Everything they start is torn down by bench_cleanup.
set -euo pipefail
# sbin for ip/mount; the rest of PATH kept (setup.sh may need go for the toolchain).
export PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH

BENCH_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd -- "$BENCH_DIR/.." && pwd)
readonly BENCH_DIR REPO
# The bench's own pool and /24 (the sandbox uses sandbox/10.213.1, tests test/10.213.2,
# scripts/bench-hostpool.sh bench/10.213.3): override both to run two benches at once.
BENCH_POOL=${BENCH_POOL:-perf}
BENCH_SUBNET=${BENCH_SUBNET:-10.213.61}
BENCH_STATE=${BENCH_STATE:-/var/lib/agent-runtime/bench}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TEAM=${BENCH_TEAM:-$REPO/team.yaml}
readonly BENCH_POOL BENCH_SUBNET BENCH_STATE BENCH_RUNS BENCH_TEAM
[[ $BENCH_SUBNET =~ ^10\.213\.[0-9]{1,3}$ ]] || {
  echo "BENCH_SUBNET must be inside the test range 10.213.0.0/16" >&2
  exit 2
}

# A fresh clone: the toolchain, npm dependencies and the rootfs first (idempotent).
if [[ ! -f ${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}/env.sh || ! -d $REPO/node_modules/tsx ]]; then
  bash "$REPO/scripts/setup.sh" --hosts >&2
fi
# shellcheck source=/dev/null
source "${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}/env.sh"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_CONFIG_PASSPHRASE=bench PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
TSX=("$(command -v node)" "$REPO/node_modules/tsx/dist/cli.mjs")
readonly TSX

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
load_note() {
  local l
  l=$(cut -d' ' -f1 /proc/loadavg)
  if awk -v l="$l" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    printf 'machine LOADED (load average %s on %s cores, other work running): absolute times are noisy, ratios are same-run' "$l" "$(nproc)"
  else
    printf 'machine quiet (load average %s on %s cores)' "$l" "$(nproc)"
  fi
}

((EUID == 0)) || die "run as root (the host pool needs it)"

# ansible-core from Debian's archive, pinned (the version the figures in README were taken with).
BENCH_ANSIBLE_VERSION=${BENCH_ANSIBLE_VERSION:-2.14.18-0+deb12u2}
ensure_ansible() {
  local have
  have=$(dpkg-query -W -f='${Version}' ansible-core 2>/dev/null || true)
  [[ $have == "$BENCH_ANSIBLE_VERSION" ]] && return 0
  log "installing ansible-core $BENCH_ANSIBLE_VERSION (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "ansible-core=$BENCH_ANSIBLE_VERSION" >/dev/null ||
    die "could not install ansible-core=$BENCH_ANSIBLE_VERSION (apt-get update first?)"
}
mkdir -p "$BENCH_STATE"
chmod 0700 "$BENCH_STATE"

# --- counting remote commands -------------------------------------------------------
# Every remote command either tool runs is one ssh client process (the ssh executor,
# the readiness gate, Ansible's connection plugin): bench/lib/bin/ssh logs each one to
# $BENCH_SSH_LOG and then runs the real client.
export PATH="$BENCH_DIR/lib/bin:$PATH"
ssh_count() { [[ -f $1 ]] && grep -c . "$1" || echo 0; }

# --- the host pool ------------------------------------------------------------------
bench_cleanup() {
  bash "$REPO/scripts/hostpool.sh" down --pool "$BENCH_POOL" >/dev/null 2>&1 || true
}

# pool_up NAME... : fresh hosts (any earlier ones of this pool go first); host list in $BENCH_STATE/hosts.json
pool_up() {
  bash "$REPO/scripts/hostpool.sh" down --pool "$BENCH_POOL" >/dev/null 2>&1 || true
  bash "$REPO/scripts/hostpool.sh" up --pool "$BENCH_POOL" --subnet "$BENCH_SUBNET" "$@" >"$BENCH_STATE/hosts.json" 2>"$BENCH_STATE/hostpool.log" ||
    die "hostpool up failed: $(tail -n 5 "$BENCH_STATE/hostpool.log")"
}

# Servers of the bench team, as the pool names them (dev-<owner>).
team_servers() { grep -E '^  - name: ' "$BENCH_TEAM" | awk '{ print "dev-" $3 }'; }

# prepare [TEAM OUT]: team.yaml, Ansible inventory and floor scripts for the hosts in
# hosts.json (default: the bench team into $BENCH_STATE); person keys always in $BENCH_STATE/keys.
prepare() {
  local team=${1:-$BENCH_TEAM} out=${2:-$BENCH_STATE}
  mkdir -p "$out"
  "${TSX[@]}" "$BENCH_DIR/lib/prepare.ts" "$BENCH_STATE/hosts.json" "$team" "$out" "$BENCH_STATE/keys" >/dev/null
}

# --- a private Pulumi stack ---------------------------------------------------------
# stack_init DIR TEAMFILE: a fresh file:// backend, PULUMI_HOME and work dir under DIR,
# executor ssh with the pool key (as the sandbox does).
stack_init() {
  local dir=$1 team=$2 key
  key=$(awk -F'"' '/privateKeyPath/ { for (i = 1; i < NF; i++) if ($i == "privateKeyPath") { print $(i + 2); exit } }' "$BENCH_STATE/hosts.json")
  rm -rf "$dir"
  mkdir -p "$dir/home" "$dir/backend" "$dir/work"
  printf 'name: agent-runtime\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n    tsconfig: %s/tsconfig.run.json\nmain: %s\n' "$REPO" "$REPO" >"$dir/work/Pulumi.yaml"
  (
    stack_env "$dir"
    cd "$dir/work"
    pulumi stack init bench --non-interactive >/dev/null 2>&1
    pulumi config set agent-runtime:teamFile "$team" >/dev/null
    pulumi config set agent-runtime:executor ssh >/dev/null
    pulumi config set agent-runtime:adminKeyPath "$key" >/dev/null
    pulumi config set agent-runtime:adminPublicKey "$(cat "$key.pub")" >/dev/null
    pulumi config set agent-runtime:archiveDir "$dir/archives" >/dev/null
  )
}
stack_env() {
  export PULUMI_HOME=$1/home PULUMI_BACKEND_URL=file://$1/backend
  # Transpile only, as src/sandbox/engine.ts runs the program (tsconfig.run.json).
  export PULUMI_NODEJS_TSCONFIG_PATH=$REPO/tsconfig.run.json
  # And Node's compile cache, as src/sandbox/engine.ts sets it (private to root).
  export NODE_COMPILE_CACHE=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}/node-compile-cache
  # And without Pulumi's automatic debug log, as there (withoutAutomaticLog): a file where
  # the CLI would make logs/. AGENT_RUNTIME_PULUMI_LOGS=1 keeps it (bench/preview.sh times both).
  if [[ ${AGENT_RUNTIME_PULUMI_LOGS:-0} != 1 && ! -e $1/home/logs ]]; then
    mkdir -p "$1/home"
    printf 'agent-runtime bench: Pulumi automatic debug log off (bench/lib/common.sh)\n' >"$1/home/logs"
  fi
}
# pulumi_in DIR ARGS...: run the CLI on that stack.
pulumi_in() {
  local dir=$1
  shift
  (
    stack_env "$dir"
    cd "$dir/work"
    # SIGINT back to its default: a script started as a background job (`bench/grant.sh &`)
    # runs with SIGINT ignored, its children inherit that, and the CLI, which stops its
    # first language host with SIGINT, then waits 5 s before killing it: +5 s on every
    # `up` (README "Performance"). bash cannot undo an ignore it started with; env can.
    env --default-signal=INT pulumi "$@" --non-interactive
  )
}

# run_fingerprint SERVER USER: the host's fingerprint (bench/lib/fingerprint.sh) on stdout.
run_fingerprint() {
  local server=$1 user=$2 addr key known
  addr=$(awk -F'"' -v n="$server" '/"name"/ { for (i = 1; i < NF; i++) if ($i == "name" && $(i + 2) == n) f = 1 } f && /"address"/ { for (i = 1; i < NF; i++) if ($i == "address") { print $(i + 2); exit } }' "$BENCH_STATE/hosts.json")
  key=/var/lib/agent-runtime/pools/$BENCH_POOL/id_ed25519
  known=/var/lib/agent-runtime/pools/$BENCH_POOL/known_hosts
  BENCH_SSH_LOG="" ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -o "IdentityFile=$key" -o StrictHostKeyChecking=yes \
    -o "UserKnownHostsFile=$known" -o ConnectTimeout=5 "$user@$addr" "sudo -n bash -s" <"$BENCH_DIR/lib/fingerprint.sh"
}

# normalize_keys < fingerprint: random per-run key material replaced by labels (host
# keys of this pool's hosts by host name; hop keys by their owner).
normalize_keys() {
  local args=() name key
  while read -r name key; do
    args+=(-e "s#${key//\//\\/}#<host key of $name>#g")
  done < <(grep -o '"name":"[^"]*"\|"hostPublicKey":"ssh-ed25519 [^ "]*' "$BENCH_STATE/hosts.json" |
    sed 's/"name":"//; s/"hostPublicKey":"ssh-ed25519 //; s/"$//' | paste - -)
  key=$(cut -d' ' -f2 "/var/lib/agent-runtime/pools/$BENCH_POOL/id_ed25519.pub")
  args+=(-e "s#${key//\//\\/}#<pool key>#g")
  sed "${args[@]}" -E \
    -e 's#ssh-ed25519 [A-Za-z0-9+/=]+ ([a-z0-9_-]+-hop@)#ssh-ed25519 <hop key> \1#g' \
    -e 's#ssh-ed25519 [A-Za-z0-9+/=]+ ([a-z0-9_-]+@[a-z0-9-]+ agent-runtime hop)#ssh-ed25519 <hop key> \1#g'
}

# fingerprint_all TAG: every server's normalized fingerprint into $BENCH_STATE/fp.TAG
fingerprint_all() {
  local s
  for s in $(team_servers); do
    echo "######## $s"
    run_fingerprint "$s" agent-runtime
  done | normalize_keys >"$BENCH_STATE/fp.$1"
}
