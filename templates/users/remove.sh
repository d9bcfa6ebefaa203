# Offboarding one user from this server: stop everything they run, archive their home
# and their sudo I/O logs under /var/backups/agent-runtime (nothing is lost), then
# remove the account and its limits.
# Vars: AR_USER
AR_STEP="remove $AR_USER"

if ! id -u "$AR_USER" >/dev/null 2>&1; then
  echo "$AR_USER: already absent"
  exit 0
fi
uid=$(id -u "$AR_USER")
home=$(getent passwd "$AR_USER" | cut -d: -f6)
# Stop sessions first, so the archive is consistent and nothing writes after it.
loginctl disable-linger "$AR_USER" 2>/dev/null || true
loginctl terminate-user "$AR_USER" 2>/dev/null || true
systemctl stop "user@$uid.service" 2>/dev/null || true
pkill -KILL -u "$uid" 2>/dev/null || true

install -d -m 0700 /var/backups/agent-runtime
archive="/var/backups/agent-runtime/$AR_USER-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
paths=()
[[ -d $home ]] && paths+=("${home#/}")
[[ -d /var/log/sudo-io/$AR_USER ]] && paths+=("var/log/sudo-io/$AR_USER")
if ((${#paths[@]} == 0)); then
  archive="(nothing to archive)"
else
  tar -czf "$archive" -C / "${paths[@]}"
  chmod 0600 "$archive"
  log "archived ${paths[*]} to $archive"
fi
remove_user "$AR_USER"
[[ -d $home ]] && rm -rf -- "$home"
rm -rf -- "/var/log/sudo-io/$AR_USER"
rm -f "/etc/audit/rules.d/60-agent-runtime-$AR_USER.rules"
if [[ -d /etc/systemd/system/user-$uid.slice.d ]]; then
  rm -f "/etc/systemd/system/user-$uid.slice.d/50-agent-runtime.conf"
  rmdir "/etc/systemd/system/user-$uid.slice.d" 2>/dev/null || true
  systemctl daemon-reload
fi
echo "removed $AR_USER (archive: ${archive})"
