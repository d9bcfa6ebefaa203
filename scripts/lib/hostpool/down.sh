# shellcheck shell=bash
# hostpool.sh, part 4 of 5 (sourced by scripts/hostpool.sh): teardown of a pool (after
# `down`, a failed `up` or a crash) and `leftovers`, the proof that nothing remains.

readonly STOP_WAIT_ROUNDS=50 # x 0.2 s before SIGKILL
# Where the last console log of each VM host is kept after its pool is gone.
readonly CONSOLE_DIR=/var/log/agent-runtime/console

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

# True if leader file $1 ("PID STARTTIME") names a process that is still alive.
leader_alive() {
  local pid start
  [[ -f $1 ]] || return 1
  read -r pid start <"$1" || return 1
  [[ $pid =~ ^[0-9]+$ && -n $start && $(proc_starttime "$pid") == "$start" ]] && pid_alive "$pid"
}

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
    elif is_our_vm "$pid" "$pool"; then
      # The overlay is thrown away: QEMU's SIGTERM (pulling the plug) is enough.
      nspawns+=("$pid")
      log "stopping $pool/$host (qemu $pid)"
      kill -TERM "$pid" 2>/dev/null || true
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
    if pid_alive "$pid" && { is_our_nspawn "$pid" "$pool" || is_our_vm "$pid" "$pool"; }; then
      log "$pool: process $pid did not stop in time: SIGKILL"
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
  # A VM's serial console outlives its pool: the next look at a failed boot needs it.
  for f in "$run"/*.console; do
    [[ -f $f ]] || continue
    mkdir -p "$CONSOLE_DIR/$pool"
    cp "$f" "$CONSOLE_DIR/$pool/$(basename "$f").log"
  done
  rm -rf --one-file-system "$run" "$lib"
  if [[ -z $(known_pools) ]]; then
    ip route del unreachable "$TEST_RANGE" 2>/dev/null || true
  fi
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

# --- leftovers --------------------------------------------------------------------

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

# PIDs of any QEMU still running on this pool's disks, recorded or not.
pool_vm_procs() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    is_our_vm "$pid" "$1" && printf '%s\n' "$pid"
  done
  return 0
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
    while read -r line; do [[ -n $line ]] && report "process $line (qemu, pool $pool)"; done < <(pool_vm_procs "$pool")
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
