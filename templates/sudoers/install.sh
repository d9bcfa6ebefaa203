# Install one sudoers.d file without ever leaving sudo broken: write a temp file, check
# it alone (visudo -cf), move it in, check the whole configuration (visudo -c), and put
# the previous file back if that fails. A file that fails validation is never installed.
# Vars: AR_FILE (name under /etc/sudoers.d, no dots), AR_CONTENT
AR_STEP="sudoers $AR_FILE"

[[ $AR_FILE =~ ^[A-Za-z0-9_-]+$ ]] || die "sudoers file name '$AR_FILE' would be ignored by sudo (dots or ~)"
target=/etc/sudoers.d/$AR_FILE
tmp=$(mktemp "/etc/sudoers.d/.$AR_FILE.XXXXXX")
backup=""
cleanup() { rm -f "$tmp" ${backup:+"$backup"}; }
trap cleanup EXIT
printf '%s\n' "$AR_CONTENT" > "$tmp"
chmod 0440 "$tmp"
if ! out=$(visudo -cf "$tmp" 2>&1); then
  die "visudo rejected the new $target, nothing installed: ${out//$tmp/$target}"
fi
if [[ -f $target ]] && cmp -s "$tmp" "$target"; then
  echo "sudoers $AR_FILE: unchanged"
  exit 0
fi
if [[ -f $target ]]; then
  backup=$(mktemp "/etc/sudoers.d/.$AR_FILE.bak.XXXXXX")
  cp -p "$target" "$backup"
  # Agent users this file no longer reaches: show what they run by themselves.
  mapfile -t dropped < <(comm -23 <(sudoers_targets "$target") <(sudoers_targets "$tmp"))
  report_revoked "${dropped[@]}"
fi
mv -f "$tmp" "$target"
if ! out=$(visudo -c 2>&1); then
  if [[ -n $backup ]]; then mv -f "$backup" "$target"; else rm -f "$target"; fi
  die "sudo configuration invalid with the new $target, previous state restored: $out"
fi
log "installed $target"
echo "sudoers $AR_FILE: installed"
