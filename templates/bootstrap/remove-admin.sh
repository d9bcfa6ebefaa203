# Destroy: the provisioner account goes last, after every other step has been undone.
# Runs over the team's own admin connection (root or the image's sudo user).
# Vars: AR_ADMIN
AR_STEP=bootstrap-remove
rm -f /etc/sudoers.d/agent-runtime-admin
if id -u "$AR_ADMIN" >/dev/null 2>&1; then
  pkill -KILL -u "$AR_ADMIN" 2>/dev/null || true
  userdel --remove "$AR_ADMIN" 2>/dev/null || userdel "$AR_ADMIN"
  log "removed $AR_ADMIN"
fi
