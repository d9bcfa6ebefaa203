# Revoke: remove one human's sudoers.d file, and list what the agent users they could
# reach have set up to run by themselves (crontab, at jobs, user units), so a reviewer
# can look for anything the revoked person left behind.
# Vars: AR_FILE
AR_STEP="sudoers-remove $AR_FILE"
target=/etc/sudoers.d/$AR_FILE
if [[ -f $target ]]; then
  while read -r agent; do
    [[ -n $agent ]] && echo "revoked: $(agent_persistence "$agent")"
  done < <(sed -n 's/^[a-z_][a-z0-9_-]* ALL=(\([a-z0-9_-]*-agent\)) .*/\1/p' "$target" | sort -u)
fi
rm -f "$target"
echo "removed $target"
