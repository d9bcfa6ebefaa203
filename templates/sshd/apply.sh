# Harden sshd without ever locking anyone out: back up, write the drop-in, validate
# the whole configuration with sshd -t, then check what sshd will really do (sshd -T)
# for the provisioner, every managed human and every agent user — an earlier include
# or a `Match all` that undoes a setting fails the step — restore the backup on any
# failure, and only then reload.
# Vars: AR_CONTENT, AR_ADMIN
AR_STEP=sshd
dropin=/etc/ssh/sshd_config.d/00-agent-runtime.conf
install -d -m 0755 /etc/ssh/sshd_config.d /run/sshd
ensure_group "$GROUP_HUMANS"
ensure_group "$GROUP_FORWARD"
ensure_group "$GROUP_AGENTS"
if ! grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
  # Old or custom main configs lack the include; without it the drop-in does nothing.
  cp -p /etc/ssh/sshd_config /etc/ssh/sshd_config.agent-runtime.orig
  { echo 'Include /etc/ssh/sshd_config.d/*.conf'; cat /etc/ssh/sshd_config.agent-runtime.orig; } > /etc/ssh/sshd_config
  log "added Include to /etc/ssh/sshd_config"
fi
changed=1
backup=""
if [[ -f $dropin ]]; then
  if printf '%s\n' "$AR_CONTENT" | cmp -s - "$dropin"; then changed=0; fi
  backup=$(mktemp /etc/ssh/.00-agent-runtime.conf.bak.XXXXXX)
  cp -p "$dropin" "$backup"
fi
restore() { if [[ -n $backup ]]; then mv -f "$backup" "$dropin"; else rm -f "$dropin"; fi; }
fail() { restore; die "$1; previous state restored"; }
((changed)) && printf '%s\n' "$AR_CONTENT" | install_file "$dropin" 0644 root:root
out=$(sshd -t 2>&1) || fail "sshd -t rejected the new configuration: $out"

# expect USER LINE… — each `sshd -T` line must be exactly as given for USER.
expect() {
  local user=$1 eff line
  shift
  eff=$(sshd -T -C "user=$user,host=localhost,addr=127.0.0.1" 2>&1) || fail "sshd -T for $user failed: $eff"
  for line in "$@"; do
    grep -qxF -- "$line" <<<"$eff" || fail "effective sshd config for $user is not \"$line\" (it is \"$(grep -i "^${line%% *} " <<<"$eff" | head -n 1)\"): an earlier file in /etc/ssh/sshd_config.d or a Match block overrides agent-runtime's drop-in"
  done
}
common=("pubkeyauthentication yes" "passwordauthentication no" "kbdinteractiveauthentication no" "permitemptypasswords no" "permitrootlogin no" "authenticationmethods publickey" "x11forwarding no")
# The provisioner must still get in with its key after the reload.
expect "$AR_ADMIN" "${common[@]}"
members() { getent group "$1" | cut -d: -f4 | tr ',' '\n' | grep . || true; }
while read -r human; do
  [[ -n $human ]] || continue
  fwd=yes allow=no
  if in_group "$human" "$GROUP_FORWARD"; then fwd=no allow=yes; fi
  expect "$human" "${common[@]}" "authorizedkeysfile /etc/ssh/agent-runtime/authorized_keys/%u" "disableforwarding $fwd" \
    "allowtcpforwarding $allow" "allowagentforwarding $allow"
done < <(members "$GROUP_HUMANS")
while read -r agent; do
  [[ -n $agent ]] || continue
  expect "$agent" "${common[@]}" "authorizedkeysfile none" "disableforwarding yes" "permittty no"
done < <(members "$GROUP_AGENTS")
[[ -n $backup ]] && rm -f "$backup"
if ((changed == 0)); then echo "sshd: unchanged, effective settings verified"; exit 0; fi
# Debian/Ubuntu call the unit ssh, others sshd; Ubuntu 24.04 may run it from ssh.socket,
# where each connection reads the config afresh and there is nothing to reload.
for unit in ssh.service sshd.service; do
  if systemctl is-active --quiet "$unit"; then systemctl reload "$unit"; log "reloaded $unit"; break; fi
done
echo "sshd: hardened, effective settings verified"
