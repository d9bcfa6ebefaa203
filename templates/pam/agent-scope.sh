#!/bin/sh
# Managed by agent-runtime: /usr/local/lib/agent-runtime/agent-scope, run by pam_exec
# (seteuid) when sudo, sudo -i, su or runuser open a session for an agent user (see
# /etc/pam.d/agent-runtime-agent-scope). It moves the process opening the session into
# a transient scope in that agent user's user-<uid>.slice, so the command and every
# child it leaves behind run under the agent's CPU/memory/task limits, and waits until
# the kernel shows the move: without the wait the command could start outside. The
# scope is named after the caller (agent-runtime:<caller>:<agent>:<pid>.scope; a colon
# never occurs in a user name, so no name can be mistaken for another), so
# offboarding the caller can stop what they started. Failing here fails the session.
set -eu
[ "${PAM_TYPE:-}" = open_session ] || exit 0
case ${PAM_USER:-} in *-agent) ;; *) exit 0 ;; esac
uid=$(id -u -- "$PAM_USER")
pid=$PPID
slice="user-$uid.slice"
if grep -q "/$slice/" "/proc/$pid/cgroup"; then exit 0; fi
by=$(printf '%s' "${PAM_RUSER:-unknown}" | tr -c 'a-z0-9_-' '_')
unit="agent-runtime:$by:$PAM_USER:$pid.scope"
# OOMPolicy=continue: when the kernel OOM-kills one process of the session (the slice's
# MemoryMax), systemd's default (stop) would then kill the rest of the session too.
busctl call --quiet org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
  StartTransientUnit 'ssa(sv)a(sa(sv))' "$unit" fail 4 \
  PIDs au 1 "$pid" Slice s "$slice" CollectMode s inactive-or-failed OOMPolicy s continue 0
i=0
while [ "$i" -lt 50 ]; do
  if grep -q "/$slice/$unit\$" "/proc/$pid/cgroup"; then exit 0; fi
  sleep 0.1
  i=$((i + 1))
done
echo "agent-runtime: could not move the session into $slice" >&2
exit 1
