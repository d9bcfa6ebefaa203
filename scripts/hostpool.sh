#!/usr/bin/env bash
# Local test hosts for agent-runtime: Debian bookworm systemd-nspawn containers on
# overlayfs copies of one cached rootfs, each in its own network namespace on a
# private bridge. Nothing in 10.213.0.0/16 can leave the machine (unreachable route,
# no default route inside the namespaces); hosts are reached by IP only.
#
#   hostpool.sh rootfs
#   hostpool.sh up --pool NAME --subnet 10.213.X HOST...   # JSON host list on stdout
#   hostpool.sh down --pool NAME | --all [--keep NAME]...
#   hostpool.sh status --pool NAME [--json]
#   hostpool.sh leftovers [--pool NAME | --keep NAME...]   # exit 1 if anything remains
set -euo pipefail
# ip, mount and debootstrap live in sbin, which a non-login root PATH may lack.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Bump when the build steps change: it is part of the cache key.
readonly ROOTFS_VERSION=3
readonly SUITE=bookworm
# cron and at: agent users must be denied both (containment tests schedule jobs as them).
readonly PACKAGES=(openssh-server sudo tmux systemd systemd-sysv dbus libpam-systemd
  auditd iproute2 procps cron at)
readonly TEST_RANGE=10.213.0.0/16
readonly CACHE_DIR=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}
readonly RUN_ROOT=/run/agent-runtime
readonly RUN_DIR=$RUN_ROOT/pools
readonly LIB_DIR=/var/lib/agent-runtime/pools
readonly CGROUP_DIR=agent-runtime # below each systemd-managed cgroup hierarchy root
readonly SSH_WAIT_ROUNDS=${HOSTPOOL_SSH_WAIT_ROUNDS:-60} # x 0.5 s
readonly STOP_WAIT_ROUNDS=50                             # x 0.2 s before SIGKILL

log() { printf '[hostpool] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

valid_pool() { [[ $1 =~ ^[a-z][a-z0-9]{0,7}$ ]]; }

# --- rootfs -----------------------------------------------------------------------

mirror_url() {
  if [[ -n ${AGENT_RUNTIME_MIRROR:-} ]]; then
    printf '%s\n' "$AGENT_RUNTIME_MIRROR"
    return
  fi
  local f=/etc/apt/sources.list.d/debian.sources url
  [[ -r $f ]] || die "$f not found; set AGENT_RUNTIME_MIRROR"
  # First stanza is the main archive; the security archive follows it.
  url=$(awk '/^URIs:/ { print $2; exit }' "$f")
  [[ -n $url ]] || die "no URIs: line in $f"
  printf '%s\n' "$url"
}

rootfs_path() {
  local hash
  hash=$(printf 'v=%s suite=%s variant=minbase packages=%s\n' \
    "$ROOTFS_VERSION" "$SUITE" "${PACKAGES[*]}" | sha256sum | cut -c1-12)
  printf '%s/rootfs/%s-%s\n' "$CACHE_DIR" "$SUITE" "$hash"
}

# Unmount anything a crashed debootstrap left mounted inside $1 (proc, sys, ...).
umount_below() {
  local dir=$1 mp
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp"
  done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

ensure_rootfs() {
  local dest tmp mirror start
  dest=$(rootfs_path)
  if [[ -f $dest/.agent-runtime-rootfs ]]; then
    printf '%s\n' "$dest"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install -y debootstrap)"
  mkdir -p "$CACHE_DIR/rootfs"
  exec 8>"$CACHE_DIR/rootfs/.lock"
  flock -w 1800 8 || die "timed out waiting for another rootfs build"
  if [[ -f $dest/.agent-runtime-rootfs ]]; then
    exec 8>&-
    printf '%s\n' "$dest"
    return
  fi
  # Only builds hold the lock, so any .build-* here is from a crashed run.
  for tmp in "$CACHE_DIR"/rootfs/.build-*; do
    [[ -d $tmp ]] || continue
    log "removing crashed build $tmp"
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
  done
  mirror=$(mirror_url)
  tmp=$(mktemp -d "$CACHE_DIR/rootfs/.build-XXXXXX")
  chmod 0755 "$tmp" # mktemp makes 0700: non-root users could not traverse /
  start=$SECONDS
  log "debootstrap $SUITE from $mirror into $tmp (about a minute)"
  local pkgs
  pkgs=$(
    IFS=,
    printf '%s' "${PACKAGES[*]}"
  )
  if ! debootstrap --variant=minbase --include="$pkgs" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$tmp" "$mirror" >"$CACHE_DIR/rootfs/.build.log" 2>&1; then
    tail -n 30 "$CACHE_DIR/rootfs/.build.log" >&2
    umount_below "$tmp"
    rm -rf --one-file-system "$tmp"
    die "debootstrap failed (log: $CACHE_DIR/rootfs/.build.log)"
  fi
  chroot "$tmp" apt-get clean
  umount_below "$tmp"
  # Every host gets its own keys and machine-id at `up`; an empty machine-id is the
  # image convention and keeps ConditionFirstBoot quiet.
  rm -f "$tmp"/etc/ssh/ssh_host_* "$tmp/var/lib/dbus/machine-id"
  : >"$tmp/etc/machine-id"
  # debootstrap copies the build machine's resolvers; hosts must not have any.
  rm -f "$tmp/etc/resolv.conf"
  printf '# agent-runtime test host: no DNS, connect by IP\n' >"$tmp/etc/resolv.conf"
  printf 'localhost\n' >"$tmp/etc/hostname"
  # pam_env reads it on every ssh login and logs an error when it is missing.
  printf 'LANG=C.UTF-8\n' >"$tmp/etc/default/locale"
  printf '%s %s %s\n' "$ROOTFS_VERSION" "$SUITE" "${PACKAGES[*]}" >"$tmp/.agent-runtime-rootfs"
  mv -T "$tmp" "$dest"
  # Older versions are dead weight (~230 MB each) unless a running pool still uses one.
  local old
  for old in "$CACHE_DIR/rootfs/$SUITE"-*; do
    [[ -d $old && $old != "$dest" ]] || continue
    grep -qF "lowerdir=$old," /proc/self/mountinfo || rm -rf --one-file-system "$old"
  done
  exec 8>&-
  log "rootfs ready in $((SECONDS - start)) s: $dest ($(du -sh "$dest" | cut -f1))"
  printf '%s\n' "$dest"
}

# --- helpers for pools ------------------------------------------------------------

ssh_opts() { # known_hosts key
  printf '%s\n' -F none -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$1" \
    -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=2 \
    -o IdentitiesOnly=yes -o IdentityAgent=none -o "IdentityFile=$2" \
    -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR
}

wait_gone() { # rounds pid... — wait (0.2 s a round, bounded) until no pid is alive
  local rounds=$1 i pid alive
  shift
  for ((i = 0; i < rounds; i++)); do
    alive=0
    for pid in "$@"; do pid_alive "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.2
  done
}

ssh_probe() { # pool address
  local lib=$LIB_DIR/$1 opts
  mapfile -t opts < <(ssh_opts "$lib/known_hosts" "$lib/id_ed25519")
  # After provisioning, root login is off and the provisioner account has the pool key.
  timeout 8 ssh "${opts[@]}" "root@$2" true </dev/null >/dev/null 2>&1 ||
    timeout 8 ssh "${opts[@]}" "agent-runtime@$2" true </dev/null >/dev/null 2>&1
}

# sshd answers before boot is over (auditd is still flapping, user sessions may not be
# permitted yet): wait until systemd has no jobs left so callers get a settled host.
# Prints "STATE failed-unit..." for the host.
boot_state() { # pool address
  local lib=$LIB_DIR/$1 opts
  mapfile -t opts < <(ssh_opts "$lib/known_hosts" "$lib/id_ed25519")
  # shellcheck disable=SC2016 # expanded by the host's shell
  timeout 75 ssh "${opts[@]}" "root@$2" \
    'echo "$(timeout 60 systemctl is-system-running --wait 2>/dev/null)" \
      $(systemctl list-units --state=failed --plain --no-legend 2>/dev/null | cut -d" " -f1)' \
    </dev/null 2>/dev/null || echo unknown
}

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

# True if leader file $1 ("PID STARTTIME") names a process that is still alive.
leader_alive() {
  local pid start
  [[ -f $1 ]] || return 1
  read -r pid start <"$1" || return 1
  [[ $pid =~ ^[0-9]+$ && -n $start && $(proc_starttime "$pid") == "$start" ]] && pid_alive "$pid"
}

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

# PIDs of any nspawn still running on this pool's overlays, recorded or not.
pool_nspawn_procs() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    if [[ $cmd == *systemd-nspawn* && $cmd == *" -D $LIB_DIR/$1/"* ]]; then
      f=${f#/proc/}
      printf '%s\n' "${f%/cmdline}"
    fi
  done
}

# PID-namespace inits whose root is one of this pool's overlays: catches a container
# that outlived its nspawn even when no leader was recorded (reported, never killed).
pool_container_inits() {
  local f pid
  for f in /proc/[0-9]*/status; do
    awk '/^NSpid:/ { exit !(NF > 2 && $NF == 1) }' "$f" 2>/dev/null || continue
    pid=${f#/proc/}
    pid=${pid%/status}
    if head -n 1 "/proc/$pid/mountinfo" 2>/dev/null | grep -q "upperdir=$LIB_DIR/$1/"; then
      printf '%s\n' "$pid"
    fi
  done
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

pid_alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# --- down -------------------------------------------------------------------------

down_pool() {
  local pool=$1 run=$RUN_DIR/$1 lib=$LIB_DIR/$1 f pid host i
  local -a nspawns=() leaders=()
  for f in "$run"/*.pid; do
    [[ -f $f ]] || continue
    host=$(basename "$f" .pid)
    pid=$(<"$f")
    if is_our_nspawn "$pid" "$pool"; then
      nspawns+=("$pid")
      log "stopping $pool/$host (nspawn $pid)"
      kill -TERM "$pid" 2>/dev/null || true # nspawn asks the container's init to power off
    fi
    if leader_alive "$run/$host.leader"; then
      read -r pid _ <"$run/$host.leader"
      leaders+=("$pid")
      if ! is_our_nspawn "$(<"$f")" "$pool"; then
        # Orphaned container: send what nspawn would have sent, the poweroff request.
        log "container init $pid of $pool/$host has no nspawn: requesting poweroff"
        kill -s SIGRTMIN+3 "$pid" 2>/dev/null || true
      fi
    fi
  done
  wait_gone "$STOP_WAIT_ROUNDS" "${nspawns[@]}" "${leaders[@]}"
  for pid in "${nspawns[@]}"; do
    if pid_alive "$pid" && is_our_nspawn "$pid" "$pool"; then
      log "nspawn $pid did not stop in time: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  # A container whose nspawn died keeps running under init: kill its PID namespace.
  for f in "$run"/*.leader; do
    [[ -f $f ]] || continue
    if leader_alive "$f"; then
      read -r pid _ <"$f"
      log "container init $pid of $pool/$(basename "$f" .leader) still alive: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait_gone 25 "${nspawns[@]}" "${leaders[@]}"
  local mp
  while read -r mp; do
    [[ -n $mp ]] || continue
    umount "$mp" 2>/dev/null || { sleep 0.5 && umount "$mp" 2>/dev/null; } ||
      { log "umount $mp busy: lazy unmount" && umount -l "$mp"; }
  done < <(pool_mounts "$pool")
  local ns link
  while read -r ns; do
    [[ -n $ns ]] && ip netns delete "$ns"
  done < <(pool_netns "$pool")
  # Ports first (deleting a netns usually took them already), then the bridge.
  while read -r link; do
    if [[ -n $link && $link != "ar-$pool" ]]; then ip link delete "$link" 2>/dev/null || true; fi
  done < <(pool_links "$pool")
  ip link delete "ar-$pool" 2>/dev/null || true
  if [[ -n $(pool_mounts "$pool") ]]; then
    die "mounts under $lib remain; not removing state"
  fi
  # Empty cgroups are removed with rmdir (never rm -r on cgroupfs); a cgroup that
  # still has processes stays and shows up in `leftovers`.
  local cg
  while read -r cg; do
    [[ -n $cg ]] && { rmdir "$cg" 2>/dev/null || log "cgroup $cg not empty"; }
  done < <(pool_cgroups "$pool")
  while read -r cg; do
    rmdir "$cg/$CGROUP_DIR" 2>/dev/null || true
  done < <(cgroup_roots)
  rm -rf --one-file-system "$run" "$lib"
  if [[ -z $(known_pools) ]]; then
    ip route del unreachable "$TEST_RANGE" 2>/dev/null || true
  fi
}

lock_pools() {
  mkdir -p "$RUN_ROOT"
  exec 9>"$RUN_ROOT/hostpool.lock"
  flock -w 300 9 || die "timed out waiting for another hostpool up/down"
}

cmd_down() {
  local pool="" all=0 keep=" "
  while (($#)); do
    case $1 in
      --pool) pool=${2:?--pool needs a value} && shift 2 ;;
      --all) all=1 && shift ;;
      # --keep spares a pool someone is using (the interactive sandbox) from --all.
      --keep) keep+="${2:?--keep needs a value} " && shift 2 ;;
      *) usage ;;
    esac
  done
  lock_pools
  if ((all)); then
    while read -r pool; do
      [[ -n $pool && $keep != *" $pool "* ]] && valid_pool "$pool" && down_pool "$pool"
    done < <(known_pools)
    [[ -n $(known_pools) ]] || ip route del unreachable "$TEST_RANGE" 2>/dev/null || true
  else
    valid_pool "$pool" || die "--pool must match ^[a-z][a-z0-9]{0,7}\$ (got '$pool')"
    down_pool "$pool"
  fi
}

# --- up ---------------------------------------------------------------------------

json_hosts() { # pool
  local pool=$1 lib=$LIB_DIR/$1 sep="" idx name addr hostkey
  printf '['
  while read -r idx name addr; do
    hostkey=$(cut -d' ' -f1,2 "$lib/$name/ssh_host_ed25519_key.pub")
    printf '%s\n  {"name":"%s","address":"%s","port":22,"adminUser":"root","privateKeyPath":"%s","hostPublicKey":"%s","knownHostsPath":"%s"' \
      "$sep" "$name" "$addr" "$lib/id_ed25519" "$hostkey" "$lib/known_hosts"
    if [[ ${2:-} == --status ]]; then
      local ready=false running=false pid
      pid=$(cat "$RUN_DIR/$pool/$name.pid" 2>/dev/null || true)
      is_our_nspawn "$pid" "$pool" && running=true
      $running && ssh_probe "$pool" "$addr" && ready=true
      printf ',"running":%s,"reachable":%s' "$running" "$ready"
    fi
    printf '}'
    sep=,
  done <"$RUN_DIR/$pool/hosts"
  printf '\n]\n'
}

setup_host() { # pool idx name addr rootfs bridge
  local pool=$1 idx=$2 name=$3 addr=$4 rootfs=$5 br=$6
  local lib=$LIB_DIR/$1 dir=$LIB_DIR/$1/$3 ns=ar-$1-$2 veth=ar-$1-$2
  local merged=$dir/merged
  mkdir -p "$dir/upper" "$dir/work" "$merged"
  chmod 0755 "$dir/upper" "$merged"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$merged"
  ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$merged/etc/ssh/ssh_host_ed25519_key"
  cp "$merged/etc/ssh/ssh_host_ed25519_key.pub" "$dir/ssh_host_ed25519_key.pub"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$lib/known_hosts"
  install -d -m 0700 "$merged/root/.ssh"
  install -m 0600 "$lib/id_ed25519.pub" "$merged/root/.ssh/authorized_keys"
  printf '%s\n' "$name" >"$merged/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$name" >"$merged/etc/hosts"
  systemd-id128 new >"$merged/etc/machine-id"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  echo 1 >"/proc/sys/net/ipv6/conf/$veth/disable_ipv6"
  ip link set "$veth" master "$br" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # With --keep-unit and no host systemd, nspawn puts the container in <own
  # cgroup>/payload: launched from the root cgroup, every container would share
  # /payload and their systemds would fight over it (random 219/CGROUP unit failures,
  # one host stopping another's processes). So each nspawn starts in its own cgroup.
  # exec + setsid without a fork (not a group leader) keep $! = nspawn. The lock fd is
  # closed or nspawn would hold the pool lock for its whole life.
  (
    local root
    while read -r root; do
      mkdir -p "$root/$CGROUP_DIR/$pool/$name"
      echo "$BASHPID" >"$root/$CGROUP_DIR/$pool/$name/cgroup.procs"
    done < <(cgroup_roots)
    exec setsid systemd-nspawn --boot --register=no --keep-unit --resolv-conf=off \
      --link-journal=no --settings=no --console=read-only \
      --network-namespace-path="/run/netns/$ns" -D "$merged" --machine="$name"
  ) </dev/null >"$RUN_DIR/$pool/$name.log" 2>&1 9>&- 8>&- &
  printf '%s\n' "$!" >"$RUN_DIR/$pool/$name.pid"
}

cmd_up() {
  local pool="" subnet=""
  local -a names=()
  while (($#)); do
    case $1 in
      --pool) pool=${2:?--pool needs a value} && shift 2 ;;
      --subnet) subnet=${2:?--subnet needs a value} && shift 2 ;;
      -*) usage ;;
      *) names+=("$1") && shift ;;
    esac
  done
  valid_pool "$pool" || die "--pool must match ^[a-z][a-z0-9]{0,7}\$ (got '$pool')"
  if ! [[ $subnet =~ ^10\.213\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255)); then
    die "--subnet must be 10.213.X (got '$subnet')"
  fi
  ((${#names[@]} > 0 && ${#names[@]} <= 200)) || die "give 1..200 host names"
  local n seen=" "
  for n in "${names[@]}"; do
    [[ $n =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid host name '$n'"
    [[ $seen != *" $n "* ]] || die "duplicate host name '$n'"
    seen+="$n "
  done
  ((EUID == 0)) || die "must run as root"
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn not installed (apt-get install -y systemd-container)"

  local rootfs
  rootfs=$(ensure_rootfs)
  lock_pools
  if [[ -e $RUN_DIR/$pool || -e $LIB_DIR/$pool || -n $(pool_netns "$pool") ]]; then
    log "pool $pool has state from an earlier run: tearing it down first"
  fi
  down_pool "$pool"
  local other
  for other in "$RUN_DIR"/*/subnet; do
    [[ -f $other ]] || continue
    [[ $(<"$other") != "$subnet" ]] || die "subnet $subnet is used by pool $(basename "$(dirname "$other")")"
  done

  local run=$RUN_DIR/$pool lib=$LIB_DIR/$pool br=ar-$pool start=$SECONDS
  mkdir -p "$run" "$lib"
  printf '%s\n' "$subnet" >"$run/subnet"
  : >"$run/hosts"
  # On any failure below, leave nothing behind unless asked to keep it for debugging.
  UP_POOL=$pool
  trap up_exit EXIT
  ssh-keygen -q -t ed25519 -N '' -C "agent-runtime-pool-$pool" -f "$lib/id_ed25519"
  : >"$lib/known_hosts"
  ip route replace unreachable "$TEST_RANGE"
  ip link add "$br" type bridge
  echo 1 >"/proc/sys/net/ipv6/conf/$br/disable_ipv6"
  ip addr add "$subnet.1/24" dev "$br"
  ip link set "$br" up
  local idx
  for idx in "${!names[@]}"; do
    printf '%s %s %s\n' "$idx" "${names[idx]}" "$subnet.$((10 + idx))" >>"$run/hosts"
    setup_host "$pool" "$idx" "${names[idx]}" "$subnet.$((10 + idx))" "$rootfs" "$br"
  done
  log "pool $pool: ${#names[@]} host(s) set up in $((SECONDS - start)) s, booting; waiting for ssh"

  local round name addr pid pending leader failed
  local -A ready=() probing=()
  for ((round = 0; round < SSH_WAIT_ROUNDS; round++)); do
    pending=0
    probing=()
    while read -r idx name addr; do
      [[ -z ${ready[$name]:-} ]] || continue
      pid=$(<"$run/$name.pid")
      if ! pid_alive "$pid"; then
        tail -n 40 "$run/$name.log" >&2 || true
        die "$name: systemd-nspawn exited during boot"
      fi
      # The container's init is nspawn's child; recorded as soon as it exists so `down`
      # can kill the whole PID namespace if nspawn itself dies first.
      if [[ ! -s $run/$name.leader ]]; then
        leader=$(awk '{ print $1 }' "/proc/$pid/task/$pid/children" 2>/dev/null || true)
        [[ -z $leader ]] || printf '%s %s\n' "$leader" "$(proc_starttime "$leader")" >"$run/$name.leader"
      fi
      # In parallel: a successful handshake costs ~0.5 s of CPU while the others boot.
      ssh_probe "$pool" "$addr" &
      probing[$name]=$!
    done <"$run/hosts"
    for name in "${!probing[@]}"; do
      if wait "${probing[$name]}"; then
        ready[$name]=1
        log "$name ssh ready after $((SECONDS - start)) s"
      else
        pending=1
      fi
    done
    ((pending)) || break
    sleep 0.5
  done
  if ((pending)); then
    while read -r idx name addr; do
      [[ -n ${ready[$name]:-} ]] || { log "$name: no ssh; console log tail:" && tail -n 20 "$run/$name.log" >&2; }
    done <"$run/hosts"
    die "pool $pool: ssh not ready after $SSH_WAIT_ROUNDS probes"
  fi
  local -a probes=()
  while read -r idx name addr; do
    boot_state "$pool" "$addr" >"$run/$name.boot" &
    probes+=("$!")
  done <"$run/hosts"
  # Only these PIDs: a bare `wait` would also wait for the nspawns, i.e. forever.
  wait "${probes[@]}"
  local bad=0 state
  while read -r idx name addr; do
    read -r state failed <"$run/$name.boot" || state=unknown
    log "$name: systemd $state${failed:+ (failed: $failed)} after $((SECONDS - start)) s"
    [[ $state == running || $state == degraded ]] || bad=1
  done <"$run/hosts"
  ((bad == 0)) || die "pool $pool: a host did not finish booting"
  json_hosts "$pool" >"$run/hosts.json"
  UP_POOL=""
  cat "$run/hosts.json"
}

UP_POOL=""
up_exit() {
  local rc=$?
  [[ -n $UP_POOL ]] || return 0
  if [[ -n ${AGENT_RUNTIME_KEEP_FAILED:-} ]]; then
    log "up failed; AGENT_RUNTIME_KEEP_FAILED set, leaving pool $UP_POOL for inspection"
  else
    log "up failed; tearing pool $UP_POOL down"
    down_pool "$UP_POOL" || true
  fi
  exit $((rc == 0 ? 1 : rc))
}

# --- status / leftovers -----------------------------------------------------------

cmd_status() {
  local pool="" json=0
  while (($#)); do
    case $1 in
      --pool) pool=${2:?--pool needs a value} && shift 2 ;;
      --json) json=1 && shift ;;
      *) usage ;;
    esac
  done
  valid_pool "$pool" || die "--pool must match ^[a-z][a-z0-9]{0,7}\$ (got '$pool')"
  if [[ ! -f $RUN_DIR/$pool/hosts ]]; then
    if ((json)); then echo '[]'; else echo "pool $pool: not running"; fi
    return 0
  fi
  if ((json)); then
    json_hosts "$pool" --status
    return 0
  fi
  local idx name addr pid state ssh
  printf '%-20s %-15s %-5s %-6s %-8s %-4s %s\n' NAME ADDRESS PORT ADMIN NSPAWN SSH KEY
  while read -r idx name addr; do
    pid=$(cat "$RUN_DIR/$pool/$name.pid" 2>/dev/null || true)
    state=dead ssh=no
    is_our_nspawn "$pid" "$pool" && state=running
    [[ $state == running ]] && ssh_probe "$pool" "$addr" && ssh=yes
    printf '%-20s %-15s %-5s %-6s %-8s %-4s %s\n' "$name" "$addr" 22 root "$state" "$ssh" \
      "$LIB_DIR/$pool/id_ed25519"
  done <"$RUN_DIR/$pool/hosts"
}

cmd_leftovers() {
  local filter="" keep=" " pool found=0 line
  while (($#)); do
    case $1 in
      --pool) filter=${2:?--pool needs a value} && shift 2 ;;
      --keep) keep+="${2:?--keep needs a value} " && shift 2 ;;
      *) usage ;;
    esac
  done
  report() {
    printf '%s\n' "$*"
    found=1
  }
  local -a pools
  if [[ -n $filter ]]; then pools=("$filter"); else mapfile -t pools < <(known_pools); fi
  for pool in "${pools[@]}"; do
    [[ -n $pool && $keep != *" $pool "* ]] || continue
    [[ -e $RUN_DIR/$pool ]] && report "state dir $RUN_DIR/$pool"
    [[ -e $LIB_DIR/$pool ]] && report "state dir $LIB_DIR/$pool"
    while read -r line; do [[ -n $line ]] && report "process $line (systemd-nspawn, pool $pool)"; done < <(pool_nspawn_procs "$pool")
    while read -r line; do [[ -n $line ]] && report "process $line (container init, pool $pool)"; done < <(pool_container_inits "$pool")
    while read -r line; do [[ -n $line ]] && report "mount $line"; done < <(pool_mounts "$pool")
    local root
    while read -r root; do
      line=$root/$CGROUP_DIR/$pool
      [[ -d $line ]] || continue
      report "cgroup $line ($(find "$line" -name cgroup.procs -exec cat {} + | wc -l) processes)"
    done < <(cgroup_roots)
    while read -r line; do [[ -n $line ]] && report "netns $line"; done < <(pool_netns "$pool")
    while read -r line; do [[ -n $line ]] && report "link $line"; done < <(pool_links "$pool")
  done
  # The range route is shared: it is a leftover once no pool at all remains.
  if ip route show type unreachable 2>/dev/null | grep -q "^unreachable $TEST_RANGE"; then
    if [[ -z $filter && $keep == " " || -z $(known_pools) ]]; then report "route unreachable $TEST_RANGE"; fi
  fi
  return $((found))
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    rootfs)
      ((EUID == 0)) || die "must run as root"
      ensure_rootfs
      ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    leftovers) cmd_leftovers "$@" ;;
    *) usage ;;
  esac
}

main "$@"
