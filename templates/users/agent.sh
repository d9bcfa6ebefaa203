# An agent user: no password, no authorized_keys, no sudo, home 0700. Lingering, so
# its user manager (user@UID.service, inside user-UID.slice) runs without a login and
# the launcher can start agent sessions there — under the limits below.
# Vars: AR_AGENT, AR_OWNER, AR_CPU_QUOTA, AR_MEMORY_HIGH, AR_MEMORY_MAX, AR_TASKS_MAX, AR_AUDIT_RULES
AR_STEP="agent $AR_AGENT"

if ! id -u "$AR_AGENT" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --comment "agent-runtime agent of $AR_OWNER" "$AR_AGENT"
  log "created $AR_AGENT"
fi
usermod --lock "$AR_AGENT" 2>/dev/null || true
home=$(getent passwd "$AR_AGENT" | cut -d: -f6)
chmod 0700 "$home"
rm -f "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"
uid=$(id -u "$AR_AGENT")

install -d -m 0755 "/etc/systemd/system/user-$uid.slice.d"
install_file "/etc/systemd/system/user-$uid.slice.d/50-agent-runtime.conf" 0644 root:root <<CONF
# Managed by agent-runtime: limits for $AR_AGENT (agent of $AR_OWNER), from team.yaml.
[Slice]
CPUQuota=$AR_CPU_QUOTA
MemoryHigh=$AR_MEMORY_HIGH
MemoryMax=$AR_MEMORY_MAX
TasksMax=$AR_TASKS_MAX
CONF
systemctl daemon-reload
# Apply to the running slice too: changing a limit must not need a restart of sessions.
if systemctl is-active --quiet "user-$uid.slice"; then
  systemctl set-property --runtime "user-$uid.slice" "CPUQuota=$AR_CPU_QUOTA" "MemoryHigh=$AR_MEMORY_HIGH" \
    "MemoryMax=$AR_MEMORY_MAX" "TasksMax=$AR_TASKS_MAX"
fi
if [[ ! -e /var/lib/systemd/linger/$AR_AGENT ]]; then
  loginctl enable-linger "$AR_AGENT"
  log "linger on for $AR_AGENT"
fi
# Wait (bounded) for the user manager the launcher needs.
for _ in $(seq 1 50); do
  systemctl is-active --quiet "user@$uid.service" && break
  sleep 0.2
done
systemctl is-active --quiet "user@$uid.service" || die "user@$uid.service did not start for $AR_AGENT"
install -d -m 0750 /etc/audit/rules.d
printf '%s\n' "${AR_AUDIT_RULES%$'\n'}" | install_file "/etc/audit/rules.d/60-agent-runtime-$AR_AGENT.rules" 0640 root:root
in_container || augenrules --load >/dev/null
echo "agent $AR_AGENT: uid $uid, slice user-$uid.slice"
