#!/usr/bin/env bash
# One mentee grant on a provisioned example team: olga (senior) gains wes as a mentee
# (team.yaml `mentees: [nadia]` -> `[nadia, wes]`), then loses him again. Wall time of
# each `pulumi up`, the resources it changed, and remote commands; the same edit applied
# by re-running the Ansible playbook on hosts it provisioned. Median of BENCH_RUNS.
# Usage: bench/grant.sh   (as root; BENCH_GRANT_ANSIBLE=0 skips the Ansible part)
# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
trap bench_cleanup EXIT
export AGENT_RUNTIME_ROOTFS_FLAVOUR=python3
export ANSIBLE_CONFIG=$BENCH_DIR/ansible/ansible.cfg
ensure_ansible
mapfile -t servers < <(team_servers)
granted=$BENCH_STATE/grant-source.yaml
sed 's/mentees: \[nadia\]/mentees: [nadia, wes]/' "$BENCH_TEAM" >"$granted"
cmp -s "$granted" "$BENCH_TEAM" && die "could not add the grant to $BENCH_TEAM (no 'mentees: [nadia]')"

# changes LOG: "N" resources the engine changed (created+updated+deleted+replaced)
changes() { grep -Eo '[0-9]+ (created|updated|deleted|replaced)' "$1" | awk '{ s += $1 } END { print s + 0 }'; }
up_timed() { # LOG: seconds ssh-count
  local t
  rm -f "$BENCH_STATE/ssh.log"
  t=$(now)
  BENCH_SSH_LOG=$BENCH_STATE/ssh.log pulumi_in "$BENCH_STATE/stack" up --yes --skip-preview >"$1" 2>&1 || die "pulumi up failed: $1"
  printf '%s %s\n' "$(since "$t")" "$(ssh_count "$BENCH_STATE/ssh.log")"
}

pool_up "${servers[@]}"
prepare
prepare "$granted" "$BENCH_STATE/granted"
stack_init "$BENCH_STATE/stack" "$BENCH_STATE/team.yaml"
pulumi_in "$BENCH_STATE/stack" up --yes --skip-preview >"$BENCH_STATE/grant-base.log" 2>&1 || die "base up failed"
declare -a g_s g_n g_ssh r_s r_n
for ((run = 1; run <= BENCH_RUNS; run++)); do
  pulumi_in "$BENCH_STATE/stack" config set agent-runtime:teamFile "$BENCH_STATE/granted/team.yaml" >/dev/null
  read -r s n < <(up_timed "$BENCH_STATE/grant.log")
  g_s+=("$s") g_ssh+=("$n") g_n+=("$(changes "$BENCH_STATE/grant.log")")
  pulumi_in "$BENCH_STATE/stack" config set agent-runtime:teamFile "$BENCH_STATE/team.yaml" >/dev/null
  read -r s n < <(up_timed "$BENCH_STATE/revoke.log")
  r_s+=("$s") r_n+=("$(changes "$BENCH_STATE/revoke.log")")
  log "run $run: grant ${g_s[-1]} s (${g_n[-1]} changed), revoke ${r_s[-1]} s"
done
steps=$(grep -E '^ \+ .* created' "$BENCH_STATE/grant.log" | awk '{ print $3 }' | sort -u | paste -sd' ' || true)
updated=$(grep -E '^ ~ .* updated' "$BENCH_STATE/grant.log" | awk '{ print $3 }' | sort -u | paste -sd' ' || true)

# Ansible: the same edit is a full playbook run (no state: every task is checked again).
# Once: the playbook only converges towards team.yaml, it has no revoke (removing the
# user and sudoers file would be more tasks), so a second grant would find it done.
declare -a a_s=(0) a_ssh=(0)
if [[ ${BENCH_GRANT_ANSIBLE:-1} == 1 ]]; then # BENCH_GRANT_ANSIBLE=0: pulumi only
a_s=() a_ssh=()
pool_up "${servers[@]}"
prepare
prepare "$granted" "$BENCH_STATE/granted"
(cd "$BENCH_DIR/ansible" && ansible-playbook -i "$BENCH_STATE/ansible/hosts.json" site.yml -e bootstrap=true) >"$BENCH_STATE/grant-ansible-base.log" 2>&1 || die "ansible base failed"
rm -f "$BENCH_STATE/ssh.log"
t=$(now)
(cd "$BENCH_DIR/ansible" && BENCH_SSH_LOG=$BENCH_STATE/ssh.log ansible-playbook -i "$BENCH_STATE/granted/ansible/hosts.json" site.yml) >"$BENCH_STATE/grant-ansible.log" 2>&1 || die "ansible grant failed"
a_s+=("$(since "$t")") a_ssh+=("$(ssh_count "$BENCH_STATE/ssh.log")")
fi
bench_cleanup

G=$(median "${g_s[@]}") A=$(median "${a_s[@]}")
printf '\ngrant: olga gains mentee wes on the example team; median of %s runs; %s\n' "$BENCH_RUNS" "$(load_note)"
printf '%-16s %8s %10s %12s\n' step wall_s changed remote_cmds
printf '%-16s %8s %10s %12s\n' "pulumi grant" "$G" "$(median "${g_n[@]}")" "$(median "${g_ssh[@]}")"
printf '%-16s %8s %10s %12s\n' "pulumi revoke" "$(median "${r_s[@]}")" "$(median "${r_n[@]}")" -
if [[ ${BENCH_GRANT_ANSIBLE:-1} == 1 ]]; then
  printf '%-16s %8s %10s %12s\n' "ansible grant" "$A" "(1 run)" "$(median "${a_ssh[@]}")"
fi
printf 'created: %s\nupdated: %s\n' "${steps:-none}" "${updated:-none}"
printf 'all runs (s): pulumi grant %s | revoke %s | ansible %s\n' "${g_s[*]}" "${r_s[*]}" "${a_s[*]}"
printf 'SUMMARY grant: pulumi %s s (%s resources changed), ansible %s s, pulumi/ansible %s\n' "$G" "$(median "${g_n[@]}")" "$A" "$(ratio "$G" "$A")"
