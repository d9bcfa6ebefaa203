# shellcheck shell=bash
# hostpool.sh, part 5 of 5 (sourced by scripts/hostpool.sh): `up` — network, overlay,
# keys and nspawn per host, then waiting until every host answers ssh and has booted.

readonly SSH_WAIT_ROUNDS=${HOSTPOOL_SSH_WAIT_ROUNDS:-60} # x 0.5 s
# A VM boots under TCG on cores other test runs share: ~30 s idle, several times that busy.
readonly VM_SSH_WAIT_ROUNDS=${HOSTPOOL_VM_SSH_WAIT_ROUNDS:-240}

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

# record_init FILE NSPAWN_PID — write "pid starttime" of the container's init to FILE.
# While nspawn starts, its only child may be a short-lived helper: a child counts only
# once it is pid 1 of its own namespace, or `down` could miss a container whose nspawn
# crashed.
record_init() {
  local leader
  leader=$(awk '{ print $1 }' "/proc/$2/task/$2/children" 2>/dev/null || true)
  if [[ -n $leader ]] && awk '/^NSpid:/ { exit !(NF > 2 && $NF == 1) }' "/proc/$leader/status" 2>/dev/null; then
    printf '%s %s\n' "$leader" "$(proc_starttime "$leader")" >"$1"
  fi
  return 0
}

cmd_up() {
  local pool="" subnet="" kind=nspawn
  local -a names=() kinds=()
  while (($#)); do
    case $1 in
      --pool) pool=${2:?--pool needs a value} && shift 2 ;;
      --subnet) subnet=${2:?--subnet needs a value} && shift 2 ;;
      --kind) kind=${2:?--kind needs a value} && shift 2 ;;
      -*) usage ;;
      *) names+=("$1") && shift ;;
    esac
  done
  valid_pool "$pool" || die "--pool must match ^[a-z][a-z0-9]{0,7}\$ (got '$pool')"
  if ! [[ $subnet =~ ^10\.213\.([0-9]{1,3})$ ]] || ((BASH_REMATCH[1] > 255)); then
    die "--subnet must be 10.213.X (got '$subnet')"
  fi
  ((${#names[@]} > 0 && ${#names[@]} <= 200)) || die "give 1..200 host names"
  [[ $kind == nspawn || $kind == vm ]] || die "--kind must be nspawn or vm (got '$kind')"
  # NAME:KIND overrides --kind for one host (a VM beside containers in one pool).
  local n seen=" " i
  for i in "${!names[@]}"; do
    n=${names[i]}
    kinds[i]=$kind
    if [[ $n == *:* ]]; then
      kinds[i]=${n#*:} names[i]=${n%%:*} n=${n%%:*}
      [[ ${kinds[i]} == nspawn || ${kinds[i]} == vm ]] || die "host $n: kind must be nspawn or vm (got '${kinds[i]}')"
    fi
    [[ $n =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "invalid host name '$n'"
    [[ $seen != *" $n "* ]] || die "duplicate host name '$n'"
    seen+="$n "
  done
  ((EUID == 0)) || die "must run as root"
  command -v systemd-nspawn >/dev/null || die "systemd-nspawn not installed (apt-get install -y systemd-container)"

  local rootfs rounds=$SSH_WAIT_ROUNDS has_vm=0
  rootfs=$(ensure_rootfs)
  if [[ " ${kinds[*]} " == *" vm "* ]]; then
    ensure_vm_image "$rootfs" >/dev/null
    rounds=$VM_SSH_WAIT_ROUNDS has_vm=1
  fi
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
    printf '%s %s %s %s\n' "$idx" "${names[idx]}" "$subnet.$((10 + idx))" "${kinds[idx]}" >>"$run/hosts"
    if [[ ${kinds[idx]} == vm ]]; then
      setup_vm_host "$pool" "$idx" "${names[idx]}" "$subnet.$((10 + idx))" "$rootfs" "$br"
    else
      setup_host "$pool" "$idx" "${names[idx]}" "$subnet.$((10 + idx))" "$rootfs" "$br"
    fi
  done
  log "pool $pool: ${#names[@]} host(s) set up in $((SECONDS - start)) s, booting; waiting for ssh"
  # The lock guards links and namespaces, all made by now: a VM pool's minute of booting
  # must not hold every other pool's up/down (they wait at most 300 s for it).
  if ((has_vm)); then exec 9>&-; fi

  local round name addr pid pending failed hkind
  local -A ready=() probing=()
  for ((round = 0; round < rounds; round++)); do
    pending=0
    probing=()
    while read -r idx name addr hkind; do
      [[ -z ${ready[$name]:-} ]] || continue
      pid=$(<"$run/$name.pid")
      if ! pid_alive "$pid"; then
        tail -n 40 "$run/$name.log" "$run/$name.console" >&2 2>/dev/null || true
        die "$name: ${hkind/nspawn/systemd-nspawn} exited during boot"
      fi
      if [[ $hkind == vm ]] && vm_panicked "$pool" "$name"; then
        tail -n 25 "$run/$name.console" >&2 || true
        die "$name: the VM's kernel panicked during boot (console above, kept in $CONSOLE_DIR/$pool/ after teardown)"
      fi
      # The container's init is nspawn's child; recorded as soon as it exists so `down`
      # can kill the whole PID namespace if nspawn itself dies first.
      [[ $hkind == vm || -s $run/$name.leader ]] || record_init "$run/$name.leader" "$pid"
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
  # A host that answered ssh before its init was seen: record the init now.
  while read -r idx name addr hkind; do
    [[ $hkind == vm || -s $run/$name.leader ]] || record_init "$run/$name.leader" "$(<"$run/$name.pid")"
  done <"$run/hosts"
  if ((pending)); then
    while read -r idx name addr hkind; do
      [[ -n ${ready[$name]:-} ]] || { log "$name: no ssh; console log tail:" && tail -n 20 "$run/$name.log" "$run/$name.console" >&2 2>/dev/null; }
    done <"$run/hosts"
    die "pool $pool: ssh not ready after $rounds probes"
  fi
  local -a probes=()
  while read -r idx name addr _; do
    boot_state "$pool" "$addr" >"$run/$name.boot" &
    probes+=("$!")
  done <"$run/hosts"
  # Only these PIDs: a bare `wait` would also wait for the nspawns, i.e. forever.
  wait "${probes[@]}"
  local bad=0 state
  while read -r idx name addr _; do
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
