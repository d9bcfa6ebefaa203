# The runtime every dev server carries: tmux, sudo, auditd, Eternal Terminal (from the
# team's configured apt source, signing key pinned), persistent journald, the
# agent-session launcher and the audit watches.
# Vars: AR_ET_SOURCE, AR_ET_APT_LINE, AR_ET_KEY, AR_ET_CFG, AR_LAUNCHER, AR_AUDIT_RULES
AR_STEP=runtime
ensure_packages tmux sudo auditd

if [[ $AR_ET_SOURCE == none ]]; then
  et_status="not managed (et source: none)"
else
  install -d -m 0755 /etc/apt/keyrings
  printf '%s\n' "$AR_ET_KEY" | install_file /etc/apt/keyrings/agent-runtime-et.asc 0644 root:root
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  printf '%s\n' "${AR_ET_APT_LINE//@CODENAME@/$codename}" | install_file /etc/apt/sources.list.d/agent-runtime-et.list 0644 root:root
  if ! dpkg-query -W -f='${Status}' et 2>/dev/null | grep -q 'ok installed'; then
    # Only this source is refreshed: a host without the distro mirror still gets et.
    apt-get update -qq -o Dir::Etc::sourcelist=sources.list.d/agent-runtime-et.list \
      -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends et >/dev/null
    log "installed et"
  fi
  printf '%s\n' "$AR_ET_CFG" | install_file /etc/et.cfg 0644 root:root
  systemctl enable --quiet et.service
  systemctl restart et.service
  et_status="installed ($(dpkg-query -W -f='${Version}' et)), $(systemctl is-active et.service)"
fi

install -d -m 0755 /etc/systemd/journald.conf.d /var/log/journal
if ! printf '[Journal]\nStorage=persistent\n' | cmp -s - /etc/systemd/journald.conf.d/50-agent-runtime.conf; then
  printf '# Managed by agent-runtime: audit trail survives reboots.\n[Journal]\nStorage=persistent\n' |
    install_file /etc/systemd/journald.conf.d/50-agent-runtime.conf 0644 root:root
  systemctl restart systemd-journald
fi

printf '%s\n' "$AR_LAUNCHER" | install_file /usr/local/bin/agent-session 0755 root:root
install -d -m 0700 /var/log/sudo-io /var/backups/agent-runtime

install -d -m 0750 /etc/audit/rules.d
printf '%s\n' "$AR_AUDIT_RULES" | install_file /etc/audit/rules.d/50-agent-runtime.rules 0640 root:root
if in_container; then
  # auditd needs the initial pid namespace; in a container it cannot start at all.
  audit_status="installed, not running (container)"
else
  augenrules --load >/dev/null
  systemctl enable --quiet --now auditd
  audit_status="running ($(auditctl -l | grep -c agent-runtime) agent-runtime rules loaded)"
fi
echo "et: $et_status"
echo "auditd: $audit_status"
