# Undo a hop: the person no longer reaches other servers from here.
# Vars: AR_USER
AR_STEP="hop-remove $AR_USER"
home=$(getent passwd "$AR_USER" | cut -d: -f6) || { echo "$AR_USER: absent"; exit 0; }
rm -f "$home/.ssh/agent-runtime-hop" "$home/.ssh/agent-runtime-hop.pub" "$home/.ssh/agent-runtime.conf" "$home/.ssh/agent-runtime_known_hosts"
if [[ -f $home/.ssh/config ]]; then sed -i '\|^Include ~/.ssh/agent-runtime.conf$|d' "$home/.ssh/config"; fi
echo "hop for $AR_USER removed"
