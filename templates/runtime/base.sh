# The runtime every dev server carries: tmux, sudo, auditd (configured by the audit
# step, templates/audit/), Eternal Terminal (from the team's configured apt source,
# signing key pinned), persistent journald, node (for agentctl, its own step), the PAM hook
# that keeps every agent session under the agent's limits, and the managed tmux config
# for agent sessions.
# Vars: AR_ET_SOURCE, AR_ET_APT_LINE, AR_ET_PIN, AR_ET_KEY, AR_ET_CFG,
#       AR_PAM_HOOK, AR_PAM_STACK, AR_TMUX_CONF, AR_SYSCTL, AR_LIMITS, AR_COREDUMP,
#       AR_MODPROBE, AR_PROFILE, AR_LOGIN_DEFS, AR_ISSUE
AR_STEP=runtime
# Rendered values already end in a newline: "${X%$'\n'}" writes each file with exactly
# one, so what lands on the host is byte for byte what was rendered.
ensure_packages tmux sudo auditd nodejs

if [[ $AR_ET_SOURCE == none ]]; then
  et_status="not managed (et source: none)"
else
  install -d -m 0755 /etc/apt/keyrings
  printf '%s\n' "${AR_ET_KEY%$'\n'}" | install_file /etc/apt/keyrings/agent-runtime-et.asc 0644 root:root
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  # Only the et package may come from that source (apt preferences pin; written first).
  install -d -m 0755 /etc/apt/preferences.d
  printf '%s\n' "${AR_ET_PIN%$'\n'}" | install_file /etc/apt/preferences.d/agent-runtime-et 0644 root:root
  printf '%s\n' "${AR_ET_APT_LINE//@CODENAME@/$codename}" | install_file /etc/apt/sources.list.d/agent-runtime-et.list 0644 root:root
  et_restart=0
  if ! dpkg-query -W -f='${Status}' et 2>/dev/null | grep -q 'ok installed'; then
    # Only this source is refreshed: a host without the distro mirror still gets et.
    # A wrong pinned key fails here, with apt's own signature error in the output.
    apt-get update -qq -o Dir::Etc::sourcelist=sources.list.d/agent-runtime-et.list \
      -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends et >/dev/null
    log "installed et"
    et_restart=1
  fi
  cfg_before=$(cat /etc/et.cfg 2>/dev/null || true)
  printf '%s\n' "${AR_ET_CFG%$'\n'}" | install_file /etc/et.cfg 0644 root:root
  [[ $(cat /etc/et.cfg) == "$cfg_before" ]] || et_restart=1
  systemctl enable --quiet et.service
  # Restart only for a new package or config: a restart drops every live et connection,
  # and this step re-runs whenever any part of the runtime changes.
  if ((et_restart)) || ! systemctl is-active --quiet et.service; then
    systemctl restart et.service
  fi
  et_state=$(systemctl is-active et.service || true)
  [[ $et_state == active ]] || die "et.service is $et_state after start: $(journalctl -u et.service -n 5 --no-pager -o cat 2>&1 | tr '\n' ' ')"
  et_status="installed ($(dpkg-query -W -f='${Version}' et)), $et_state"
fi

install -d -m 0755 /etc/systemd/journald.conf.d /var/log/journal
# Audit=yes: Debian's journald turns kernel auditing OFF whenever it starts unless told
# otherwise (its default is patched to "no"), so a journald restart (this step's, or a
# systemd upgrade's) would leave auditd running with nothing to record.
journald_conf=$'# Managed by agent-runtime: audit trail survives reboots; journald keeps kernel auditing on.\n[Journal]\nStorage=persistent\nAudit=yes'
# Compare with what we write (not a fragment of it), or journald restarts on every run.
if ! printf '%s\n' "$journald_conf" | cmp -s - /etc/systemd/journald.conf.d/50-agent-runtime.conf; then
  printf '%s\n' "$journald_conf" | install_file /etc/systemd/journald.conf.d/50-agent-runtime.conf 0644 root:root
  systemctl restart systemd-journald
fi

install -d -m 0755 /etc/agent-runtime /usr/local/lib/agent-runtime
printf '%s\n' "${AR_TMUX_CONF%$'\n'}" | install_file /etc/agent-runtime/tmux.conf 0644 root:root

# Every way into an agent user that opens a PAM session (sudo -u, sudo -iu, su, runuser)
# lands in the agent's slice: the hook first, then the stack file, then the includes —
# so no include ever names a missing file. sudo and su are re-checked after the edit and
# the includes are taken back if either fails: never leave sudo broken.
printf '%s\n' "${AR_PAM_HOOK%$'\n'}" | install_file /usr/local/lib/agent-runtime/agent-scope 0755 root:root
printf '%s\n' "${AR_PAM_STACK%$'\n'}" | install_file /etc/pam.d/agent-runtime-agent-scope 0644 root:root
pam_include="@include agent-runtime-agent-scope"
pam_added=()
for svc in sudo sudo-i su su-l runuser runuser-l; do
  [[ -f /etc/pam.d/$svc ]] || continue
  grep -qxF "$pam_include" "/etc/pam.d/$svc" && continue
  ensure_line "/etc/pam.d/$svc" "$pam_include"
  pam_added+=("$svc")
done
if ((${#pam_added[@]})); then
  if ! out=$(sudo -n -u root true 2>&1 && su -s /bin/sh -c true root 2>&1); then
    for svc in "${pam_added[@]}"; do drop_line "/etc/pam.d/$svc" "$pam_include"; done
    die "sudo or su failed with the agent-scope PAM hook, hook taken out again: $out"
  fi
fi
install -d -m 0700 /var/log/sudo-io /var/backups/agent-runtime

# Host hardening that suits a dev server (templates/hardening/, README "Security scores"):
# sysctls, no core dumps, unused storage buses and protocols off, login.defs defaults, a
# login banner. login.defs and /etc/issue* are distribution files: backed up once (the
# undo puts them back), then edited in place.
install -d -m 0755 /etc/sysctl.d /etc/security/limits.d /etc/systemd/coredump.conf.d /etc/modprobe.d /etc/profile.d
printf '%s\n' "${AR_SYSCTL%$'\n'}" | install_file /etc/sysctl.d/60-agent-runtime.conf 0644 root:root
# A container cannot set kernel-wide keys (/proc/sys is read-only there): apply what it allows.
if ! out=$(sysctl -q -e -p /etc/sysctl.d/60-agent-runtime.conf 2>&1); then
  in_container || log "some keys of /etc/sysctl.d/60-agent-runtime.conf were not applied: ${out//$'\n'/; }"
fi
printf '%s\n' "${AR_LIMITS%$'\n'}" | install_file /etc/security/limits.d/60-agent-runtime.conf 0644 root:root
printf '%s\n' "${AR_COREDUMP%$'\n'}" | install_file /etc/systemd/coredump.conf.d/60-agent-runtime.conf 0644 root:root
printf '%s\n' "${AR_MODPROBE%$'\n'}" | install_file /etc/modprobe.d/60-agent-runtime.conf 0644 root:root
printf '%s\n' "${AR_PROFILE%$'\n'}" | install_file /etc/profile.d/agent-runtime-hardening.sh 0644 root:root
for f in /etc/login.defs /etc/issue /etc/issue.net; do
  if [[ -f $f && ! -e $f.agent-runtime.orig ]]; then cp -p "$f" "$f.agent-runtime.orig"; fi
done
while read -r key value; do
  [[ -n $key ]] || continue
  if [[ $(awk -v k="$key" '$1 == k { v = $2 } END { print v }' /etc/login.defs) != "$value" ]]; then
    sed -i -E "/^[[:space:]]*${key}[[:space:]]/d" /etc/login.defs
    printf '%s\t%s\n' "$key" "$value" >>/etc/login.defs
  fi
done <<<"$AR_LOGIN_DEFS"
printf '%s\n' "${AR_ISSUE%$'\n'}" | install_file /etc/issue 0644 root:root
printf '%s\n' "${AR_ISSUE%$'\n'}" | install_file /etc/issue.net 0644 root:root

echo "et: $et_status"
