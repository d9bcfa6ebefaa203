# Destroy: remove the files the runtime step wrote. Packages (tmux, auditd, et) stay:
# other software on an existing host may use them.
AR_STEP=runtime-remove
if systemctl is-enabled --quiet et.service 2>/dev/null && [[ -f /etc/apt/sources.list.d/agent-runtime-et.list ]]; then
  systemctl disable --quiet --now et.service || true
fi
rm -f /usr/local/bin/agent-session /etc/audit/rules.d/50-agent-runtime.rules \
  /etc/systemd/journald.conf.d/50-agent-runtime.conf /etc/apt/sources.list.d/agent-runtime-et.list \
  /etc/apt/keyrings/agent-runtime-et.asc
in_container || augenrules --load >/dev/null 2>&1 || true
echo "runtime: files removed (packages kept; logs kept in /var/log/sudo-io and /var/backups/agent-runtime)"
