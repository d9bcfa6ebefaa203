# Harden sshd without ever locking anyone out: back up, write the drop-in, validate
# the whole configuration with sshd -t, restore the backup on failure, and only then
# reload. The effective result is checked with sshd -T for the provisioner account.
# Vars: AR_CONTENT, AR_ADMIN
AR_STEP=sshd
dropin=/etc/ssh/sshd_config.d/00-agent-runtime.conf
install -d -m 0755 /etc/ssh/sshd_config.d /run/sshd
if ! grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
  # Old or custom main configs lack the include; without it the drop-in does nothing.
  cp -p /etc/ssh/sshd_config /etc/ssh/sshd_config.agent-runtime.orig
  { echo 'Include /etc/ssh/sshd_config.d/*.conf'; cat /etc/ssh/sshd_config.agent-runtime.orig; } > /etc/ssh/sshd_config
  log "added Include to /etc/ssh/sshd_config"
fi
backup=""
if [[ -f $dropin ]]; then
  if printf '%s\n' "$AR_CONTENT" | cmp -s - "$dropin"; then echo "sshd: unchanged"; exit 0; fi
  backup=$(mktemp /etc/ssh/.00-agent-runtime.conf.bak.XXXXXX)
  cp -p "$dropin" "$backup"
fi
restore() { if [[ -n $backup ]]; then mv -f "$backup" "$dropin"; else rm -f "$dropin"; fi; }
printf '%s\n' "$AR_CONTENT" | install_file "$dropin" 0644 root:root
if ! out=$(sshd -t 2>&1); then
  restore
  die "sshd -t rejected the new configuration, previous state restored: $out"
fi
# The provisioner must still be able to log in with its key after the reload.
eff=$(sshd -T -C "user=$AR_ADMIN,host=localhost,addr=127.0.0.1")
if ! grep -qx 'pubkeyauthentication yes' <<<"$eff"; then
  restore
  die "effective config would refuse key logins for $AR_ADMIN, previous state restored"
fi
[[ -n $backup ]] && rm -f "$backup"
# Debian/Ubuntu call the unit ssh, others sshd; Ubuntu 24.04 may run it from ssh.socket,
# where each connection reads the config afresh and there is nothing to reload.
for unit in ssh.service sshd.service; do
  if systemctl is-active --quiet "$unit"; then systemctl reload "$unit"; log "reloaded $unit"; break; fi
done
echo "sshd: hardened"
