# Destroy: the provisioner account goes last, after every other step has been undone.
# Runs over the team's own admin connection (root or the image's sudo user).
# Vars: AR_ADMIN
AR_STEP=bootstrap-remove
rm -f /etc/sudoers.d/agent-runtime-admin
if id -u "$AR_ADMIN" >/dev/null 2>&1; then
  home=$(getent passwd "$AR_ADMIN" | cut -d: -f6)
  remove_user "$AR_ADMIN"
  rm -rf -- "$home"
  log "removed $AR_ADMIN"
fi
