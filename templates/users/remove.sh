# Offboarding one user from this server. In order: refuse unless the account is ours;
# disable it (no key, no password, expired, out of our groups) so nothing can start
# anew; stop everything it runs or left running; remove an agent's persistence (cron,
# at, files in /tmp, /var/tmp, /dev/shm; user units go with the user manager and home);
# archive the home — read as the user, so a link in it never reaches past what the user
# could read — and its sudo I/O logs under /var/backups/agent-runtime, bounded in time
# and size (a cut archive is named .TRUNCATED and says why); then delete the account.
# Vars: AR_USER, AR_ARCHIVE_MAX_MB, AR_ARCHIVE_TIMEOUT (seconds)
AR_STEP="remove $AR_USER"
KEYS_DIR=/etc/ssh/agent-runtime/authorized_keys

if ! id -u "$AR_USER" >/dev/null 2>&1; then
  rm -f "$MARK_DIR/$AR_USER" "$KEYS_DIR/$AR_USER"
  echo "$AR_USER: already absent"
  exit 0
fi
is_managed "$AR_USER" || die "refusing to remove $AR_USER: the account has no agent-runtime mark in $MARK_DIR, so agent-runtime did not create it"
uid=$(id -u "$AR_USER")
home=$(getent passwd "$AR_USER" | cut -d: -f6)
agent=no
[[ $AR_USER == *-agent ]] && agent=yes

# 1. Disable.
rm -f "$KEYS_DIR/$AR_USER"
usermod --lock --expiredate 1 "$AR_USER" 2>/dev/null || true
for g in "$GROUP_HUMANS" "$GROUP_FORWARD" "$GROUP_AGENTS"; do
  if in_group "$AR_USER" "$g"; then gpasswd -d "$AR_USER" "$g" >/dev/null; fi
done
# 2. Stop: sessions, user manager (and its units), scopes, loginuid, uid.
stop_user "$AR_USER"
# 3. An agent's persistence outside its home.
if [[ $agent == yes ]]; then
  if [[ -f /var/spool/cron/crontabs/$AR_USER ]]; then rm -f "/var/spool/cron/crontabs/$AR_USER"; log "removed crontab of $AR_USER"; fi
  if [[ -d /var/spool/cron/atjobs ]]; then
    n=$(find /var/spool/cron/atjobs -maxdepth 1 -type f -user "$uid" -print -delete | wc -l || true)
    ((n == 0)) || log "removed $n at jobs of $AR_USER"
  fi
  n=$(find /tmp /var/tmp /dev/shm -xdev -depth -user "$uid" -print -delete 2>/dev/null | wc -l || true)
  ((n == 0)) || log "removed $n files of $AR_USER in /tmp, /var/tmp, /dev/shm"
  drop_line /etc/cron.deny "$AR_USER"
  drop_line /etc/at.deny "$AR_USER"
fi

# 4. Archive.
install -d -m 0700 /var/backups/agent-runtime
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d /var/backups/agent-runtime/.work-XXXXXX)
trap 'rm -rf "$work"' EXIT
note=""
if [[ -d $home && ! -L $home ]]; then
  max=$((AR_ARCHIVE_MAX_MB * 1024 * 1024))
  # tar runs as the user: it stores symlinks as links, and a hard link to a file the
  # user can't read fails to open instead of copying root's data. --sparse stores a
  # huge sparse file by its data, the timeout and head bound the rest.
  set +o pipefail
  as_user "$AR_USER" timeout --kill-after=5 "$AR_ARCHIVE_TIMEOUT" tar --create --file=- --one-file-system --sparse \
    --ignore-failed-read --warning=no-file-changed -C "$(dirname "$home")" "$(basename "$home")" 2>"$work/tar.err" |
    head -c $((max + 1)) > "$work/home.tar"
  tar_status=${PIPESTATUS[0]}
  set -o pipefail
  size=$(stat -c %s "$work/home.tar")
  if ((size > max)); then
    truncate -s "$max" "$work/home.tar"
    note="cut at $AR_ARCHIVE_MAX_MB MB (archive size limit)"
  elif ((tar_status == 124 || tar_status == 137)); then
    note="cut after $AR_ARCHIVE_TIMEOUT s (archive time limit)"
  fi
  grep -v 'Removing leading' "$work/tar.err" | head -n 20 > "$work/unreadable.txt" || true
  [[ -s $work/unreadable.txt ]] || rm -f "$work/unreadable.txt"
fi
[[ -d /var/log/sudo-io/$AR_USER ]] && cp -a "/var/log/sudo-io/$AR_USER" "$work/sudo-io"
{
  echo "agent-runtime archive of $AR_USER (uid $uid) from $(hostname), $stamp"
  echo "home.tar: $home as read by $AR_USER${note:+ — TRUNCATED: $note}"
  [[ -d $work/sudo-io ]] && echo "sudo-io/: sudo I/O logs of $AR_USER's sessions (replay with sudoreplay -d)"
  [[ -f $work/unreadable.txt ]] && echo "unreadable.txt: what $AR_USER could not read (not archived)"
} > "$work/MANIFEST"
archive=/var/backups/agent-runtime/$AR_USER-$stamp${note:+.TRUNCATED}.tar.gz
tar -czf "$archive" -C "$work" .
chmod 0600 "$archive"
log "archived $home and sudo I/O logs to $archive${note:+ ($note)}"

# 5. Delete.
delete_account "$AR_USER" # stopped in step 2
if [[ -d $home && ! -L $home ]]; then rm -rf --one-file-system -- "$home"; fi
rm -rf -- "/var/log/sudo-io/$AR_USER"
rm -f "/etc/audit/rules.d/60-agent-runtime-$AR_USER.rules"
in_container || augenrules --load >/dev/null 2>&1 || log "augenrules --load failed"
if [[ -d /etc/systemd/system/user-$uid.slice.d ]]; then
  rm -f "/etc/systemd/system/user-$uid.slice.d/50-agent-runtime.conf"
  rmdir "/etc/systemd/system/user-$uid.slice.d" 2>/dev/null || true
  systemctl daemon-reload
fi
echo "removed $AR_USER (archive: $archive${note:+, TRUNCATED: $note})"
