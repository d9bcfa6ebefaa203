# A human user: logs in with the keys from team.yaml (plus hop keys), home 0750 so
# nobody else — agent users included — can read it. The keys live in a root-owned file,
# /etc/ssh/agent-runtime/authorized_keys/<user> (sshd reads it for members of
# agent-runtime-humans, see the sshd drop-in): root never writes inside the home, and a
# key that team.yaml doesn't list can't be added by the person.
# Vars: AR_USER, AR_KEYS (authorized_keys content, one key per line), AR_FORWARDING (yes|no)
AR_STEP="user $AR_USER"
KEYS_DIR=/etc/ssh/agent-runtime/authorized_keys

ensure_group "$GROUP_HUMANS"
ensure_group "$GROUP_FORWARD"
ensure_account "$AR_USER" human "agent-runtime human"
home=$(getent passwd "$AR_USER" | cut -d: -f6)
# The home directory itself can't be swapped by its owner (/home is root's).
[[ -d $home && ! -L $home ]] && chmod 0750 "$home"
install -d -m 0755 /etc/ssh/agent-runtime "$KEYS_DIR"
# Rewritten whole on every change: a key removed from team.yaml is gone from the host.
# Written before the group membership that makes sshd read it: no lockout window.
printf '%s\n' "$AR_KEYS" | install_file "$KEYS_DIR/$AR_USER" 0644 root:root
if ! in_group "$AR_USER" "$GROUP_HUMANS"; then usermod -aG "$GROUP_HUMANS" "$AR_USER"; fi
if [[ $AR_FORWARDING == yes ]]; then
  if ! in_group "$AR_USER" "$GROUP_FORWARD"; then usermod -aG "$GROUP_FORWARD" "$AR_USER"; log "forwarding on for $AR_USER"; fi
elif in_group "$AR_USER" "$GROUP_FORWARD"; then
  gpasswd -d "$AR_USER" "$GROUP_FORWARD" >/dev/null
  log "forwarding off for $AR_USER"
fi
# Checked as it takes effect: what sshd will really do for this person.
eff=$(sshd -T -C "user=$AR_USER,host=localhost,addr=127.0.0.1")
grep -qx "authorizedkeysfile $KEYS_DIR/%u" <<<"$eff" || die "sshd would not read $KEYS_DIR/$AR_USER for $AR_USER (effective: $(grep '^authorizedkeysfile' <<<"$eff"))"
want_fwd=yes
[[ $AR_FORWARDING == yes ]] && want_fwd=no
grep -qx "disableforwarding $want_fwd" <<<"$eff" || die "sshd would not set DisableForwarding $want_fwd for $AR_USER"
echo "human $AR_USER: $(grep -c . "$KEYS_DIR/$AR_USER") keys, forwarding $([[ $want_fwd == no ]] && echo on || echo off)"
