# A lead's or senior's hop key, generated on their own server: the private key never
# leaves it and never enters Pulumi state; only the public key (printed last) does.
# Its own step, so changing where they hop never touches the key. Vars: AR_USER
AR_STEP="hop key $AR_USER"

home=$(getent passwd "$AR_USER" | cut -d: -f6)
[[ -n $home ]] || die "$AR_USER does not exist on this server"
key=$home/.ssh/agent-runtime-hop
if [[ ! -f $key ]]; then
  runuser -u "$AR_USER" -- ssh-keygen -q -t ed25519 -N '' -C "$AR_USER@$(hostname) agent-runtime hop" -f "$key"
  log "generated $key"
fi
cut -d' ' -f1,2 "$key.pub" | sed "s|\$| $AR_USER-hop@$(hostname)|"
