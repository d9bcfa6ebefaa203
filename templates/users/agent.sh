# An agent user: no password, no ssh login (DenyUsers *-agent, AuthorizedKeysFile none),
# no sudo, no cron or at, home 0700. Lingering, so its user manager (user@UID.service,
# inside user-UID.slice) runs without a login and the launcher can start agent sessions
# there — under the limits below. Root never touches anything inside the agent's home:
# the agent prepares that filesystem, and nothing here reads or writes it.
# Vars: AR_AGENT, AR_OWNER, AR_CPU_QUOTA, AR_MEMORY_HIGH, AR_MEMORY_MAX, AR_TASKS_MAX, AR_AUDIT_RULES
AR_STEP="agent $AR_AGENT"

ensure_group "$GROUP_AGENTS"
ensure_account "$AR_AGENT" agent "agent-runtime agent of $AR_OWNER"
# Locked once: re-locking would rewrite /etc/shadow on every run.
[[ $(passwd -S "$AR_AGENT" | cut -d' ' -f2) == L ]] || usermod --lock "$AR_AGENT"
if ! in_group "$AR_AGENT" "$GROUP_AGENTS"; then usermod -aG "$GROUP_AGENTS" "$AR_AGENT"; fi
home=$(getent passwd "$AR_AGENT" | cut -d: -f6)
[[ -d $home && ! -L $home ]] && chmod 0700 "$home"
uid=$(id -u "$AR_AGENT")
# cron and at would start jobs outside any session we can contain: agents get neither.
ensure_line /etc/cron.deny "$AR_AGENT"
ensure_line /etc/at.deny "$AR_AGENT"

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
