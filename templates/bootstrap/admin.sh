# The provisioner's own account: every later step connects as AR_ADMIN with the stack
# key, so hardening sshd (no root login) never locks the provisioner out.
# Vars: AR_ADMIN, AR_ADMIN_KEY
AR_STEP=bootstrap
# A fresh cloud VM may still be running cloud-init (users, sshd drop-in): let it finish.
if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || log "cloud-init finished with errors"; fi

if ! id -u "$AR_ADMIN" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --comment "agent-runtime provisioner" "$AR_ADMIN"
  log "created $AR_ADMIN"
fi
home=$(getent passwd "$AR_ADMIN" | cut -d: -f6)
# Written as the account itself, like every file in a home (cloud-init puts the key
# in the same place on cloud servers).
# Nobody else reads the provisioner's home (useradd made it 0755).
as_user "$AR_ADMIN" chmod 0750 "$home"
as_user "$AR_ADMIN" mkdir -p "$home/.ssh"
as_user "$AR_ADMIN" chmod 0700 "$home/.ssh"
printf '%s\n' "$AR_ADMIN_KEY" | user_write "$AR_ADMIN" "$home/.ssh/authorized_keys" 0600

rule="$AR_ADMIN ALL=(ALL) NOPASSWD: ALL"
tmp=$(mktemp /etc/sudoers.d/.agent-runtime-admin.XXXXXX)
printf '# Managed by agent-runtime: the provisioner account.\n%s\n' "$rule" > "$tmp"
chmod 0440 "$tmp"
if ! out=$(visudo -cf "$tmp" 2>&1); then rm -f "$tmp"; die "admin sudoers rejected by visudo: $out"; fi
if cmp -s "$tmp" /etc/sudoers.d/agent-runtime-admin; then rm -f "$tmp"; else mv -f "$tmp" /etc/sudoers.d/agent-runtime-admin; log "wrote /etc/sudoers.d/agent-runtime-admin"; fi
install -d -m 0755 /usr/local/lib/agent-runtime /var/lib/agent-runtime
install -d -m 0700 /var/backups/agent-runtime
echo "admin ready: $AR_ADMIN"
