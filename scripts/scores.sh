#!/usr/bin/env bash
# scores.sh — security scores of a provisioned dev server against a stock one, on local
# hosts: lynis (hardening index, suggestions; SSH-7408 counted apart) run on each host,
# and ssh-audit (failures, warnings) against each host's sshd. Run as root:
#
#   scripts/scores.sh            # prints both hosts' figures and the lists behind them
#
# The provisioned host is dev-wes of a two-person team (marcus lead, wes) brought up by
# `agent-runtime sandbox up` in a pool of its own; the stock host is the same cached
# Debian 12 rootfs, booted untouched. Both are removed on exit, whatever happens.
# Tools, pinned: lynis from Debian's archive (copied onto each host and run from a temp
# dir: the hosts have no network), ssh-audit from PyPI in a venv, run from this machine
# against the host's address. Pools and subnets: AGENT_RUNTIME_SCORES_POOL (default
# "scores", subnet 10.213.9) and "<pool>st" (10.213.10) for the stock host;
# AGENT_RUNTIME_SCORES_SUBNET / AGENT_RUNTIME_SCORES_STOCK_SUBNET move them.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${AGENT_RUNTIME_CACHE:-/var/cache/agent-runtime}
LYNIS_VERSION=3.0.8-1.1
SSH_AUDIT_VERSION=3.9.0
POOL=${AGENT_RUNTIME_SCORES_POOL:-scores}
STOCK_POOL=${POOL:0:6}st
SUBNET=${AGENT_RUNTIME_SCORES_SUBNET:-10.213.9}
STOCK_SUBNET=${AGENT_RUNTIME_SCORES_STOCK_SUBNET:-10.213.10}

die() {
  echo "scores.sh: $*" >&2
  exit 1
}
((EUID == 0)) || die "boots local hosts (systemd-nspawn, network namespaces): run as root"

# --- tools ------------------------------------------------------------------------------
tools=$CACHE/scores
mkdir -p "$tools"
lynis_dir=$tools/lynis-$LYNIS_VERSION
if [[ ! -x $lynis_dir/lynis || ! -d $lynis_dir/plugins ]]; then
  deb=$tools/lynis_${LYNIS_VERSION}_all.deb
  if [[ ! -f $deb ]]; then
    (cd "$tools" && apt-get download "lynis=$LYNIS_VERSION" >&2) ||
      die "apt-get download lynis=$LYNIS_VERSION failed (run apt-get update; the version is Debian 12's)"
  fi
  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  # The layout lynis finds when run from its own directory: ./include, ./plugins, ./db, ./default.prf.
  rm -rf "$lynis_dir.new"
  mkdir -p "$lynis_dir.new"
  cp -a "$tmp/usr/share/lynis/." "$lynis_dir.new/"
  cp -a "$tmp/usr/sbin/lynis" "$tmp/etc/lynis/default.prf" "$tmp/etc/lynis/plugins" "$lynis_dir.new/"
  rm -rf "$tmp" "$lynis_dir"
  mv "$lynis_dir.new" "$lynis_dir"
fi
ssh_audit=$tools/ssh-audit-$SSH_AUDIT_VERSION/bin/ssh-audit
if [[ ! -x $ssh_audit ]]; then
  python3 -m venv "$tools/ssh-audit-$SSH_AUDIT_VERSION"
  "$tools/ssh-audit-$SSH_AUDIT_VERSION/bin/pip" install --quiet "ssh-audit==$SSH_AUDIT_VERSION" ||
    die "pip install ssh-audit==$SSH_AUDIT_VERSION failed"
fi

# --- hosts --------------------------------------------------------------------------------
state=$(mktemp -d /tmp/agent-runtime-scores.XXXXXX)
export AGENT_RUNTIME_SANDBOX_POOL=$POOL AGENT_RUNTIME_SANDBOX_SUBNET=$SUBNET AGENT_RUNTIME_SANDBOX_STATE=$state
cleanup() {
  "$ROOT/bin/agent-runtime" sandbox down >/dev/null 2>&1 || "$ROOT/scripts/hostpool.sh" down --pool "$POOL" >&2 || true
  "$ROOT/scripts/hostpool.sh" down --pool "$STOCK_POOL" >&2 || true
  rm -rf "$state"
}
trap cleanup EXIT
cat >"$state/team.yaml" <<'YAML'
team: acme
defaults:
  allowFrom: [198.51.100.0/24]
  et:
    source: none
developers:
  - name: marcus
    role: lead
    sshKeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeAV9+bivce34OvRktLLW9w58Ux8rLumXvqsyUNNuQq marcus@laptop
  - name: wes
    sshKeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFStgbhP2/C3mE7l3MxoV148ggv+gTdSVB29sh+idgmX wes@laptop
YAML
echo "scores: provisioning a sandbox (pool $POOL, $SUBNET.0/24) …" >&2
"$ROOT/bin/agent-runtime" sandbox up "$state/team.yaml" >"$state/up.log" 2>&1 || {
  tail -40 "$state/up.log" >&2
  die "agent-runtime sandbox up failed (log above)"
}
echo "scores: booting a stock host (pool $STOCK_POOL, $STOCK_SUBNET.0/24) …" >&2
"$ROOT/scripts/hostpool.sh" up --pool "$STOCK_POOL" --subnet "$STOCK_SUBNET" stock >"$state/stock.json"
"$ROOT/scripts/hostpool.sh" status --pool "$POOL" --json >"$state/provisioned.json"

# host_field JSON NAME FIELD
host_field() { python3 -c 'import json,sys; print(next(h for h in json.load(open(sys.argv[1])) if h["name"]==sys.argv[2])[sys.argv[3]])' "$@"; }

# on_host LABEL USER ADDRESS KEY KNOWN CMD — CMD as root on the host (stdin passed through).
on_host() {
  local user=$2 address=$3 key=$4 known=$5 cmd=$6
  ssh -F none -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$known" -o GlobalKnownHostsFile=/dev/null \
    -o BatchMode=yes -o ConnectTimeout=10 -o IdentitiesOnly=yes -o IdentityAgent=none -o LogLevel=ERROR \
    -i "$key" "$user@$address" "sudo -n bash -c $(printf '%q' "$cmd")"
}

# score LABEL USER ADDRESS KEY KNOWN — lynis report and ssh-audit JSON into $state/LABEL.*
score() {
  local label=$1
  echo "scores: lynis on $label ($3) …" >&2
  tar -C "$lynis_dir" -cf - . | on_host "$@" 'rm -rf /tmp/ar-lynis && mkdir -m 0700 /tmp/ar-lynis && tar -xf - -C /tmp/ar-lynis --no-same-owner'
  on_host "$@" 'cd /tmp/ar-lynis && ./lynis audit system --quick --no-colors --report-file /tmp/ar-lynis/report.dat --logfile /tmp/ar-lynis/lynis.log >/dev/null 2>&1; cat /tmp/ar-lynis/report.dat' \
    >"$state/$label.lynis"
  on_host "$@" 'cat /tmp/ar-lynis/lynis.log; rm -rf /tmp/ar-lynis' >"$state/$label.lynis.log"
  echo "scores: ssh-audit on $label ($3) …" >&2
  "$ssh_audit" -j -p 22 "$3" >"$state/$label.ssh-audit.json" 2>/dev/null || true
}

stock_known=$(host_field "$state/stock.json" stock knownHostsPath)
score stock root "$(host_field "$state/stock.json" stock address)" "$(host_field "$state/stock.json" stock privateKeyPath)" "$stock_known"
score provisioned agent-runtime "$(host_field "$state/provisioned.json" dev-wes address)" \
  "$(host_field "$state/provisioned.json" dev-wes privateKeyPath)" "$(host_field "$state/provisioned.json" dev-wes knownHostsPath)"

python3 - "$state" "$LYNIS_VERSION" "$SSH_AUDIT_VERSION" <<'PY'
import json, re, sys, datetime
state, lynis_v, audit_v = sys.argv[1:4]

def lynis(label):
    idx, sugg, warn = "?", [], []
    for line in open(f"{state}/{label}.lynis", encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("hardening_index="):
            idx = line.split("=", 1)[1]
        elif line.startswith("suggestion[]="):
            f = line.split("=", 1)[1].split("|")
            sugg.append((f[0], f[1] if len(f) > 1 else "", " ".join(x for x in f[2:4] if x not in ("-", ""))))
        elif line.startswith("warning[]="):
            f = line.split("=", 1)[1].split("|")
            warn.append((f[0], f[1] if len(f) > 1 else ""))
    return idx, sugg, warn

def audit(label):
    try:
        d = json.load(open(f"{state}/{label}.ssh-audit.json"))
    except Exception as e:
        return [("error", f"no ssh-audit result: {e}")], []
    fails, warns = [], []
    for kind in ("kex", "key", "enc", "mac"):
        for a in d.get(kind, []):
            notes = a.get("notes", {})
            for n in notes.get("fail", []):
                fails.append((f"{kind} {a['algorithm']}", n))
            for n in notes.get("warn", []):
                warns.append((f"{kind} {a['algorithm']}", n))
    for c in d.get("cves", []):
        fails.append((f"cve {c.get('name')}", c.get("description", "")))
    return fails, warns

def lost_points(label):
    """Hardening points lynis withheld, per test (from its log)."""
    test, lost, total = None, {}, ""
    for line in open(f"{state}/{label}.lynis.log", encoding="utf-8", errors="replace"):
        m = re.search(r"Performing test ID (\S+)", line)
        if m:
            test = m.group(1)
        m = re.search(r"assigned partial number of hardening points \((\d+) of (\d+)\)", line)
        if m and test:
            lost[test] = lost.get(test, 0) + int(m.group(2)) - int(m.group(1))
        m = re.search(r"Currently having (\d+) points \(out of (\d+)\)", line)
        if m:
            total = f"{m.group(1)} of {m.group(2)} points"
    return total, sorted(lost.items(), key=lambda kv: (-kv[1], kv[0]))

labels = ["stock", "provisioned"]
L = {l: lynis(l) for l in labels}
A = {l: audit(l) for l in labels}
print(f"# scores {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC (lynis {lynis_v}, ssh-audit {audit_v})\n")
print(f"{'':28}{'stock':>10}{'provisioned':>14}")
rows = [
    ("lynis hardening index", lambda l: L[l][0]),
    ("lynis suggestions", lambda l: len(L[l][1])),
    ("  of them SSH-7408", lambda l: sum(1 for s in L[l][1] if s[0] == "SSH-7408")),
    ("lynis warnings", lambda l: len(L[l][2])),
    ("ssh-audit failures", lambda l: len(A[l][0])),
    ("ssh-audit warnings", lambda l: len(A[l][1])),
]
for name, f in rows:
    print(f"{name:28}{str(f('stock')):>10}{str(f('provisioned')):>14}")
for l in labels:
    print(f"\n## {l}: lynis suggestions")
    for test, text, detail in L[l][1]:
        print(f"  {test:10} {text}{f' [{detail}]' if detail else ''}")
    for test, text in L[l][2]:
        print(f"  WARNING {test:10} {text}")
    total, lost = lost_points(l)
    print(f"\n## {l}: lynis {total}; withheld, per test:")
    print("  " + ", ".join(f"{t} {n}" for t, n in lost))
    print(f"\n## {l}: ssh-audit")
    for what, note in A[l][0]:
        print(f"  FAIL {what}: {note}")
    for what, note in A[l][1]:
        print(f"  warn {what}: {note}")
PY
