# Destroy: remove the files the runtime step wrote. Packages (tmux, auditd, et) stay:
# other software on an existing host may use them.
AR_STEP=runtime-remove
if systemctl is-enabled --quiet et.service 2>/dev/null && [[ -f /etc/apt/sources.list.d/agent-runtime-et.list ]]; then
  systemctl disable --quiet --now et.service || true
fi
# The PAM includes go before the file they name: sudo must never include a missing file.
for svc in sudo sudo-i su su-l runuser runuser-l; do drop_line "/etc/pam.d/$svc" "@include agent-runtime-agent-scope"; done
rm -f /etc/pam.d/agent-runtime-agent-scope /usr/local/lib/agent-runtime/agent-scope /etc/agent-runtime/tmux.conf
rmdir /etc/agent-runtime 2>/dev/null || true
rm -f /etc/systemd/journald.conf.d/50-agent-runtime.conf /etc/apt/sources.list.d/agent-runtime-et.list /etc/apt/preferences.d/agent-runtime-et \
  /etc/apt/keyrings/agent-runtime-et.asc
# Hardening: our files go, the distribution's files come back (sysctl values stay until reboot).
rm -f /etc/sysctl.d/60-agent-runtime.conf /etc/security/limits.d/60-agent-runtime.conf \
  /etc/systemd/coredump.conf.d/60-agent-runtime.conf /etc/modprobe.d/60-agent-runtime.conf /etc/profile.d/agent-runtime-hardening.sh
for f in /etc/login.defs /etc/issue /etc/issue.net; do
  if [[ -f $f.agent-runtime.orig ]]; then mv -f "$f.agent-runtime.orig" "$f"; fi
done
echo "runtime: files removed (packages kept; logs kept in /var/log/sudo-io and /var/backups/agent-runtime)"
