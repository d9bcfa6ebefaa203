# shellcheck shell=bash
# The end state of one provisioned host, as text (run as root with `bash -s`): what must
# be byte-identical after `pulumi up` and after the Ansible playbook. Names, never
# numbers (uids/gids depend on creation order, which differs between tools and runs);
# key material that is random per run (host keys, hop keys) is replaced by the bench.
set -euo pipefail
export LC_ALL=C

managed_users() { # every account above the system range, plus the provisioner
  getent passwd | awk -F: '($3 >= 1000 && $3 < 60000) || $1 == "agent-runtime" { print $1 }' | sort
}

echo "== users (name gecos home shell password-status groups)"
for u in $(managed_users); do
  IFS=: read -r _ _ _ _ gecos home shell < <(getent passwd "$u")
  printf '%s|%s|%s|%s|%s|%s\n' "$u" "$gecos" "$home" "$shell" "$(passwd -S "$u" | cut -d' ' -f2)" "$(id -nG "$u" | tr ' ' '\n' | sort | tr '\n' ' ')"
done
echo "== groups (agent-runtime-*: system? members)"
getent group | awk -F: '$1 ~ /^agent-runtime/ { print $1 "|" ($3 < 1000 ? "system" : "user") }' | sort | while IFS='|' read -r g kind; do
  printf '%s|%s|%s\n' "$g" "$kind" "$(getent group "$g" | cut -d: -f4 | tr ',' '\n' | sort | paste -sd,)"
done
echo "== account marks"
for f in /var/lib/agent-runtime/accounts/*; do
  [[ -e $f ]] || continue
  read -r kind uid <"$f"
  printf '%s %s uid-matches=%s\n' "${f##*/}" "$kind" "$([[ $uid == "$(id -u "${f##*/}")" ]] && echo yes || echo no)"
done
echo "== linger"
find /var/lib/systemd/linger -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort

# A path with its uid in it is shown with the user's name instead.
by_name() { sed -E 's#user-([0-9]+)\.slice#user-<\1>.slice#g' | while IFS= read -r l; do
  if [[ $l =~ user-\<([0-9]+)\>\.slice ]]; then l=${l//<${BASH_REMATCH[1]}>/$(getent passwd "${BASH_REMATCH[1]}" | cut -d: -f1)}; fi
  printf '%s\n' "$l"
done; }

files=(
  /etc/sudoers.d /etc/ssh/sshd_config.d /etc/ssh/agent-runtime /etc/audit/rules.d /etc/audit/auditd.conf
  /etc/systemd/system/user-*.slice.d /etc/systemd/journald.conf.d /etc/agent-runtime /usr/local/lib/agent-runtime
  /usr/local/bin/agentctl /etc/pam.d /etc/cron.deny /etc/at.deny /var/lib/agent-runtime /var/log/sudo-io
  /var/backups/agent-runtime /var/log/journal
)
echo "== managed files (mode owner group path sha256)"
for path in "${files[@]}"; do
  [[ -e $path ]] || continue
  find "$path" -maxdepth 3 \( -type f -o -type d -o -type l \) -printf '%m %u %g %p\n' | sort -k4 | while read -r mode owner group p; do
    [[ $p == /var/log/journal/* ]] && continue # journal files: contents change by the second
    # The provisioner's own shell helpers (pulumi's admin step installs them for its
    # other steps to source), not part of the runtime a team gets.
    [[ $p == /usr/local/lib/agent-runtime/lib || $p == /usr/local/lib/agent-runtime/lib/* ]] && continue
    sum=-
    # Key files are shown whole below (random keys replaced), marks hold uids (checked
    # above): no sum for either.
    [[ -f $p && $p != /etc/ssh/agent-runtime/authorized_keys/* && $p != /var/lib/agent-runtime/accounts/* ]] && sum=$(sha256sum <"$p" | cut -c1-16)
    printf '%s %s %s %s %s\n' "$mode" "$owner" "$group" "$p" "$sum"
  done
done | by_name
for u in $(managed_users); do
  home=$(getent passwd "$u" | cut -d: -f6)
  printf 'home %s %s\n' "$u" "$(stat -c '%a %U %G' "$home")"
  [[ -d $home/.ssh ]] || continue
  find "$home/.ssh" -maxdepth 1 -printf '%m %u %g %p\n' | sort -k4
done

echo "== sudoers and sshd drop-ins (content)"
for f in /etc/sudoers.d/* /etc/ssh/sshd_config.d/*; do
  echo "--- $f"
  cat "$f"
done
echo "== authorized keys and hop files (content)"
for f in /etc/ssh/agent-runtime/authorized_keys/* /home/*/.ssh/agent-runtime.conf /home/*/.ssh/agent-runtime_known_hosts /home/*/.ssh/config /home/*/.ssh/agent-runtime-hop.pub /home/agent-runtime/.ssh/authorized_keys; do
  [[ -f $f ]] || continue
  echo "--- $f"
  cat "$f"
done
echo "== slices (drop-in and effective properties)"
for d in /etc/systemd/system/user-*.slice.d; do
  [[ -d $d ]] || continue
  slice=${d##*/}
  slice=${slice%.d}
  echo "--- $slice"
  cat "$d"/*
  systemctl show "$slice" -p CPUQuotaPerSecUSec -p MemoryHigh -p MemoryMax -p TasksMax
done | by_name
echo "== audit rules (content) and auditd.conf settings"
for f in /etc/audit/rules.d/*; do
  echo "--- $f"
  cat "$f"
done
grep -v '^#' /etc/audit/auditd.conf | grep .
echo "== host hardening (files, banner, the distribution files' backups; login.defs settings)"
for f in /etc/sysctl.d/60-agent-runtime.conf /etc/security/limits.d/60-agent-runtime.conf \
  /etc/systemd/coredump.conf.d/60-agent-runtime.conf /etc/modprobe.d/60-agent-runtime.conf \
  /etc/profile.d/agent-runtime-hardening.sh /etc/issue /etc/issue.net \
  /etc/login.defs.agent-runtime.orig /etc/issue.agent-runtime.orig /etc/issue.net.agent-runtime.orig; do
  if [[ -f $f ]]; then printf '%s %s\n' "$(stat -c '%a %U %G %n' "$f")" "$(sha256sum <"$f" | cut -c1-16)"; else echo "absent $f"; fi
done
# Settings, not line order: the runtime step moves a changed key to the end, the
# playbook's lineinfile edits it in place.
stat -c '%a %U %G %n' /etc/login.defs
grep -Ev '^[[:space:]]*(#|$)' /etc/login.defs | sort
echo "== pam includes, cron/at deny"
grep -H 'agent-runtime' /etc/pam.d/* || true
cat /etc/cron.deny /etc/at.deny 2>/dev/null || true
echo "== sshd effective (per managed user)"
for u in $(managed_users); do
  printf '%s: ' "$u"
  sshd -T -C "user=$u,host=localhost,addr=127.0.0.1" | grep -E '^(authorizedkeysfile|disableforwarding|permittty|permitrootlogin|passwordauthentication) ' | tr '\n' ' '
  echo
done
