# Destroy: take our rules files out and load what is left. The enforced auditd.conf
# lines stay: going back to the distribution's rotate would let auditd delete the oldest
# logs, which hold what happened on this server (this removal included). auditd stays.
# Vars: AR_ROOT ("" on servers), AR_BASE_FILE, AR_WATCH_FILE
AR_STEP=audit-remove
rm -f "$AR_ROOT/etc/audit/rules.d/$AR_BASE_FILE" "$AR_ROOT/etc/audit/rules.d/$AR_WATCH_FILE"
if in_container; then
  loaded="container, nothing loaded"
elif ! command -v augenrules >/dev/null; then
  loaded="auditd not installed"
elif out=$(augenrules --load 2>&1); then
  loaded="remaining rules reloaded"
else
  # Never block a destroy on this: the removed rules only watch, and go at the next boot.
  log "augenrules --load failed, the removed rules stay loaded until reboot: $out"
  loaded="reload failed: removed rules stay loaded until reboot"
fi
echo "auditd: agent-runtime rules removed ($loaded); auditd.conf settings stay (keep_logs, syslog on low disk, log_group root); logs kept in /var/log/audit"
