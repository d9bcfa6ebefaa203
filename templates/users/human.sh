# A human user: logs in with the keys from team.yaml (plus hop keys), home 0750 so
# nobody else — agent users included — can read it.
# Vars: AR_USER, AR_KEYS (authorized_keys content, one key per line)
AR_STEP="user $AR_USER"

if ! id -u "$AR_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash --comment "agent-runtime human" "$AR_USER"
  log "created $AR_USER"
fi
home=$(getent passwd "$AR_USER" | cut -d: -f6)
chmod 0750 "$home"
install -d -m 0700 -o "$AR_USER" -g "$AR_USER" "$home/.ssh"
# Rewritten whole on every change: a key removed from team.yaml is gone from the host.
printf '%s\n' "$AR_KEYS" | install_file "$home/.ssh/authorized_keys" 0600 "$AR_USER:$AR_USER"
echo "human $AR_USER: $(grep -c . "$home/.ssh/authorized_keys") keys"
