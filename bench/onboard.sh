#!/usr/bin/env bash
# Onboarding the example team (team.yaml) from bare hosts, three ways, then a no-op re-run:
#   pulumi   `pulumi up --yes --skip-preview` (executor ssh, as the sandbox runs it)
#   ansible  bench/ansible/site.yml (ansible-core from Debian, pipelining, multiplexing)
#   floor    one ssh session per host running every step's script in one go
# Each run boots fresh hosts (bench image: the default one plus python3 and acl, for
# Ansible; both tools get the same image). Remote commands = ssh client processes.
# After each tool the hosts' fingerprints (bench/lib/fingerprint.sh) are taken; pulumi's
# and ansible's must be byte-identical. Prints a table and a one-line summary.
# Usage: bench/onboard.sh    (as root; BENCH_RUNS=3, BENCH_POOL, BENCH_SUBNET, BENCH_STATE)
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
trap bench_cleanup EXIT
export AGENT_RUNTIME_ROOTFS_FLAVOUR=python3
export ANSIBLE_CONFIG=$BENCH_DIR/ansible/ansible.cfg
ensure_ansible
mapfile -t servers < <(team_servers)

declare -a p_on p_on_ssh p_noop p_noop_ssh a_on a_on_ssh a_noop a_noop_ssh f_on
same=yes

timed() { # LOG SSHLOG CMD... : prints "seconds ssh-count"; fails loudly
  local log=$1 sshlog=$2 t rc=0
  shift 2
  rm -f "$sshlog"
  t=$(now)
  BENCH_SSH_LOG=$sshlog "$@" >"$log" 2>&1 || rc=$?
  local s
  s=$(since "$t")
  ((rc == 0)) || die "failed ($rc): $* (log: $log)"
  printf '%s %s\n' "$s" "$(ssh_count "$sshlog")"
}

ansible_run() { (cd "$BENCH_DIR/ansible" && ansible-playbook -i "$BENCH_STATE/ansible/hosts.json" site.yml "$@"); }

floor_run() {
  local s addr pids=() rc=0
  for s in "${servers[@]}"; do
    addr=$(grep -o "\"name\":\"$s\",\"address\":\"[^\"]*" "$BENCH_STATE/hosts.json" | sed 's/.*"address":"//')
    ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -o "IdentityFile=/var/lib/agent-runtime/pools/$BENCH_POOL/id_ed25519" \
      -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=/var/lib/agent-runtime/pools/$BENCH_POOL/known_hosts" \
      "root@$addr" bash -s <"$BENCH_STATE/floor/$s.sh" >"$BENCH_STATE/floor.$s.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

for ((run = 1; run <= BENCH_RUNS; run++)); do
  log "run $run/$BENCH_RUNS: pulumi"
  pool_up "${servers[@]}"
  prepare
  stack_init "$BENCH_STATE/stack" "$BENCH_STATE/team.yaml"
  read -r s n < <(timed "$BENCH_STATE/pulumi-up.log" "$BENCH_STATE/ssh.log" pulumi_in "$BENCH_STATE/stack" up --yes --skip-preview)
  p_on+=("$s") p_on_ssh+=("$n")
  read -r s n < <(timed "$BENCH_STATE/pulumi-noop.log" "$BENCH_STATE/ssh.log" pulumi_in "$BENCH_STATE/stack" up --yes --skip-preview)
  p_noop+=("$s") p_noop_ssh+=("$n")
  fingerprint_all "pulumi.$run"

  log "run $run/$BENCH_RUNS: ansible"
  pool_up "${servers[@]}"
  prepare
  read -r s n < <(timed "$BENCH_STATE/ansible-up.log" "$BENCH_STATE/ssh.log" ansible_run -e bootstrap=true)
  a_on+=("$s") a_on_ssh+=("$n")
  read -r s n < <(timed "$BENCH_STATE/ansible-noop.log" "$BENCH_STATE/ssh.log" ansible_run)
  a_noop+=("$s") a_noop_ssh+=("$n")
  grep -q 'changed=0 ' "$BENCH_STATE/ansible-noop.log" || log "note: the Ansible re-run changed something (see ansible-noop.log)"
  fingerprint_all "ansible.$run"
  if ! diff -q "$BENCH_STATE/fp.pulumi.$run" "$BENCH_STATE/fp.ansible.$run" >/dev/null; then
    same=no
    log "fingerprints differ (run $run): diff $BENCH_STATE/fp.pulumi.$run $BENCH_STATE/fp.ansible.$run"
  fi

  log "run $run/$BENCH_RUNS: floor"
  pool_up "${servers[@]}"
  prepare
  read -r s n < <(timed "$BENCH_STATE/floor.log" "$BENCH_STATE/ssh.log" floor_run)
  f_on+=("$s")
done
bench_cleanup

P=$(median "${p_on[@]}") A=$(median "${a_on[@]}") F=$(median "${f_on[@]}")
PN=$(median "${p_noop[@]}") AN=$(median "${a_noop[@]}")
printf '\nonboard: example team (%s servers) from bare hosts; median of %s runs; %s\n' "${#servers[@]}" "$BENCH_RUNS" "$(load_note)"
printf '%-8s %12s %10s %12s %14s\n' tool onboard_s remote_cmds noop_up_s noop_remote
printf '%-8s %12s %10s %12s %14s\n' pulumi "$P" "$(median "${p_on_ssh[@]}")" "$PN" "$(median "${p_noop_ssh[@]}")"
printf '%-8s %12s %10s %12s %14s\n' ansible "$A" "$(median "${a_on_ssh[@]}")" "$AN" "$(median "${a_noop_ssh[@]}")"
printf '%-8s %12s %10s %12s %14s\n' floor "$F" "${#servers[@]}" - -
printf 'all runs (s): pulumi %s | ansible %s | floor %s | pulumi no-op %s | ansible re-run %s\n' \
  "${p_on[*]}" "${a_on[*]}" "${f_on[*]}" "${p_noop[*]}" "${a_noop[*]}"
printf 'fingerprints pulumi == ansible: %s (%s)\n' "$same" "$BENCH_STATE/fp.*"
printf 'SUMMARY onboard: pulumi/ansible %s, pulumi/floor %s; no-op: pulumi/ansible %s, remote commands pulumi %s ansible %s; same end state: %s\n' \
  "$(ratio "$P" "$A")" "$(ratio "$P" "$F")" "$(ratio "$PN" "$AN")" "$(median "${p_noop_ssh[@]}")" "$(median "${a_noop_ssh[@]}")" "$same"
