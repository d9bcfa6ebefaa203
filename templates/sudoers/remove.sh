# Revoke: remove one human's sudoers.d file, and list what the agent users they could
# reach have set up to run by themselves (crontab, at jobs, user units), so a reviewer
# can look for anything the revoked person left behind.
# Vars: AR_FILE
AR_STEP="sudoers-remove $AR_FILE"
target=/etc/sudoers.d/$AR_FILE
if [[ -f $target ]]; then
  mapfile -t reached < <(sudoers_targets "$target")
  report_revoked "${reached[@]}"
fi
rm -f "$target"
echo "removed $target"
