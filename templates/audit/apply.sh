# The audit trail an agent can neither erase nor flood away (the files in templates/audit/
# say why each value): kernel settings and watches in /etc/audit/rules.d, the enforced
# lines of /etc/audit/auditd.conf, auditd enabled and running with both.
# A changed auditd.conf is applied with SIGHUP (auditctl --signal HUP), which re-reads
# every setting we enforce without stopping the daemon: Debian 12's auditd.service has
# no ExecReload (`systemctl reload auditd` and `service auditd reload` fail), and a
# restart leaves a moment with no daemon draining the kernel's queue.
# Vars: AR_ROOT ("" on servers; tests point it at a scratch directory), AR_BASE_FILE,
#       AR_BASE_RULES, AR_WATCH_FILE, AR_WATCH_RULES, AR_AUDITD_SETTINGS ("key = value"
#       lines), AR_KERNEL_SETTINGS ("name value" lines as `auditctl -s` prints them)
AR_STEP=audit
rules_dir=$AR_ROOT/etc/audit/rules.d
conf=$AR_ROOT/etc/audit/auditd.conf

ensure_packages auditd
[[ -f $conf ]] || die "$conf is missing: auditd is installed without its configuration"

# A watched directory that does not exist when the rules load is watched by name only,
# not what is inside it: sudo creates this one only on its first recorded session.
install -d -m 0700 "$AR_ROOT/var/log/sudo-io"
# The trail is root's alone, whatever the package (Debian: root:adm 0750) made it.
install -d -m 0700 -o root -g root "$AR_ROOT/var/log/audit"

install -d -m 0750 "$rules_dir"
printf '%s\n' "${AR_BASE_RULES%$'\n'}" | install_file "$rules_dir/$AR_BASE_FILE" 0640 root:root
printf '%s\n' "${AR_WATCH_RULES%$'\n'}" | install_file "$rules_dir/$AR_WATCH_FILE" 0640 root:root

# Each enforced key replaces the first line that sets it (auditd reads keys
# case-insensitively), later lines setting it again are dropped, missing keys are
# appended. Comments and every other line stay as they are.
before=$(cksum < "$conf")
# shellcheck disable=SC2016 # awk program, not shell
AR_SETTINGS=$AR_AUDITD_SETTINGS awk '
  function key(line) { sub(/^[ \t]*/, "", line); sub(/[ \t]*=.*/, "", line); return tolower(line) }
  BEGIN {
    n = split(ENVIRON["AR_SETTINGS"], lines, "\n")
    for (i = 1; i <= n; i++) if (lines[i] ~ /=/) { k = key(lines[i]); want[k] = lines[i]; order[++m] = k }
  }
  /^[ \t]*[A-Za-z_]+[ \t]*=/ {
    k = key($0)
    if (k in want) { if (!(k in done)) print want[k]; done[k] = 1; next }
  }
  { print }
  END { for (i = 1; i <= m; i++) if (!(order[i] in done)) print want[order[i]] }
' "$conf" | install_file "$conf" 0640 root:root
conf_changed=0
[[ $(cksum < "$conf") == "$before" ]] || conf_changed=1

if in_container; then
  # auditd needs the initial pid namespace; in a container it cannot start at all.
  echo "auditd: installed, not running (container)"
  exit 0
fi

was_active=0
systemctl is-active --quiet auditd.service && was_active=1
# A daemon started here reads the new auditd.conf anyway; only a running one needs telling.
systemctl enable --quiet --now auditd.service
if ((conf_changed && was_active)); then
  auditctl --signal HUP >/dev/null
  log "auditd re-read $conf (SIGHUP)"
fi
if ! out=$(augenrules --load 2>&1); then
  die "augenrules --load failed: ${out//$'\n'/; }"
fi

# What the kernel actually runs with: a rules file sorting after ours could override it.
status=$(auditctl -s)
while read -r name want; do
  [[ -n $name ]] || continue
  got=$(awk -v k="$name" '$1 == k { print $2 }' <<<"$status")
  [[ $got == "$want" ]] || die "the kernel's audit $name is ${got:-unknown}, not $want: a file in /etc/audit/rules.d that sorts after $AR_BASE_FILE overrides it"
done <<<"${AR_KERNEL_SETTINGS%$'\n'}"
# auditd running with kernel auditing off records nothing: a journald that started
# without our Audit=yes (runtime step) switched it off. Switch it back on and check.
enabled=$(awk '$1 == "enabled" { print $2 }' <<<"$status")
if [[ $enabled == 0 ]]; then
  auditctl -e 1 >/dev/null
  log "kernel auditing was off (auditctl -s: enabled 0): switched on"
  enabled=$(auditctl -s | awk '$1 == "enabled" { print $2 }')
fi
[[ $enabled == 1 || $enabled == 2 ]] || die "kernel auditing is off (auditctl -s: enabled ${enabled:-unknown}): check journald's Audit= setting and run auditctl -e 1"
state=$(systemctl is-active auditd.service || true)
[[ $state == active ]] || die "auditd.service is $state after start: $(journalctl -u auditd.service -n 5 --no-pager -o cat 2>&1 | tr '\n' ' ')"
watches=$(auditctl -l | grep -cE -- '(-k |key=)agent-runtime-' || true)
applied=""
if ((conf_changed)); then applied=", auditd.conf applied"; fi
echo "auditd: running ($watches agent-runtime watches loaded$applied)"
