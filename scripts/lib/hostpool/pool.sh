# shellcheck shell=bash
# hostpool.sh, part 1 of 5 (sourced by scripts/hostpool.sh): what every command shares —
# paths and naming of a pool's state, the pool lock, and lookups of what a pool owns
# (processes, namespaces, links, mounts, cgroups) plus the bounded ssh probe.
# shellcheck disable=SC2034 # constants used by the other parts

readonly TEST_RANGE=10.213.0.0/16
readonly RUN_ROOT=/run/agent-runtime
readonly RUN_DIR=$RUN_ROOT/pools
readonly LIB_DIR=/var/lib/agent-runtime/pools
readonly CGROUP_DIR=agent-runtime # below each systemd-managed cgroup hierarchy root

log() { printf '[hostpool] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

valid_pool() { [[ $1 =~ ^[a-z][a-z0-9]{0,7}$ ]]; }

lock_pools() {
  mkdir -p "$RUN_ROOT"
  exec 9>"$RUN_ROOT/hostpool.lock"
  flock -w 300 9 || die "timed out waiting for another hostpool up/down"
}

# --- ssh to a pool's hosts --------------------------------------------------------

ssh_opts() { # known_hosts key
  printf '%s\n' -F none -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$1" \
    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=2 \
    -o IdentitiesOnly=yes -o IdentityAgent=none -o "IdentityFile=$2" \
    -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR
}

ssh_probe() { # pool address
  local lib=$LIB_DIR/$1 opts
  mapfile -t opts < <(ssh_opts "$lib/known_hosts" "$lib/id_ed25519")
  # After provisioning, root login is off and the provisioner account has the pool key.
  timeout 8 ssh "${opts[@]}" "root@$2" true </dev/null >/dev/null 2>&1 ||
    timeout 8 ssh "${opts[@]}" "agent-runtime@$2" true </dev/null >/dev/null 2>&1
}

# --- what a pool owns -------------------------------------------------------------

# True if $1 is a live systemd-nspawn of pool $2 (guards against PID reuse).
is_our_nspawn() {
  local pid=$1 pool=$2 cmd
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *systemd-nspawn* && $cmd == *" -D $LIB_DIR/$pool/"* ]]
}

# Start time of a PID (field 22 of /proc/PID/stat): a PID plus its start time names
# one process, so a reused PID is never mistaken for a container init we recorded.
proc_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

pid_alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Pools known from state dirs, namespaces or links (a crash can leave any subset).
known_pools() {
  {
    local d
    for d in "$RUN_DIR"/* "$LIB_DIR"/*; do
      [[ -d $d ]] && basename "$d"
    done
    while read -r d; do
      for d in "$d/$CGROUP_DIR"/*/; do
        [[ -d $d ]] && basename "$d"
      done
    done < <(cgroup_roots)
    ip netns list 2>/dev/null | awk '{ print $1 }' | sed -n 's/^ar-\([a-z0-9]*\)-[0-9]*$/\1/p'
    ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
      sed -n 's/^ar-\([a-z0-9]*\)\(-[0-9]*\)\{0,1\}$/\1/p'
  } | sort -u
}

pool_netns() { ip netns list 2>/dev/null | awk -v p="ar-$1-" 'index($1, p) == 1 { print $1 }'; }

pool_links() {
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
    awk -v b="ar-$1" -v p="ar-$1-" '$0 == b || index($0, p) == 1'
}

pool_mounts() {
  awk -v d="$LIB_DIR/$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# Mount points of the hierarchies systemd inside a container manages: cgroup2 and the
# v1 name=systemd one (both on a hybrid host like this one).
cgroup_roots() {
  awk '{
    split($0, half, " - "); split(half[1], pre, " "); split(half[2], post, " ")
    if (post[1] == "cgroup2" || (post[1] == "cgroup" && post[3] ~ /(^|,)name=systemd(,|$)/)) print pre[5]
  }' /proc/self/mountinfo | sort -u
}

# This pool's cgroup directories, deepest first.
pool_cgroups() {
  local root
  while read -r root; do
    [[ -d $root/$CGROUP_DIR/$1 ]] && find "$root/$CGROUP_DIR/$1" -depth -type d
  done < <(cgroup_roots)
}
