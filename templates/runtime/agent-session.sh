#!/bin/bash
# agent-session — start, list and attach to agent tmux sessions, run by a human.
# Installed by agent-runtime as /usr/local/bin/agent-session.
#
#   agent-session new    AGENT_USER NAME [COMMAND…]   start a session (e.g. wes-agent claude)
#   agent-session attach AGENT_USER NAME              attach to it (recorded when it's not yours)
#   agent-session ls     [AGENT_USER…]                list sessions you may reach
#
# The tmux server is started inside the agent user's own systemd user manager
# (user@UID.service, under user-UID.slice), so the agent's CPU/memory/task limits apply
# to it. A plain `sudo -u wes-agent tmux` would stay in the caller's session scope,
# outside every agent limit. Access is exactly what sudoers allows: nothing more.
set -euo pipefail

SOCKET=agents
# Managed config (no clipboard writes, no passthrough to an attached terminal).
TMUX_CONF=/etc/agent-runtime/tmux.conf
die() { echo "agent-session: $*" >&2; exit 1; }

as_agent() {
  local agent=$1 uid
  shift
  uid=$(id -u "$agent" 2>/dev/null) || die "no such agent user: $agent"
  [[ $agent == *-agent ]] || die "$agent is not an agent user"
  cd / # the caller's directory is usually not readable by the agent user
  sudo -n -u "$agent" env XDG_RUNTIME_DIR="/run/user/$uid" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"
}

reachable() {
  # Agent users this human may become, straight from sudo's own answer.
  sudo -n -l 2>/dev/null | sed -n 's/^[[:space:]]*(\([a-z0-9_-]*-agent\)).*/\1/p' | sort -u
}

cmd=${1:-}
shift || true
case $cmd in
  new)
    (($# >= 2)) || die "usage: agent-session new AGENT_USER NAME [COMMAND…]"
    agent=$1 name=$2
    shift 2
    home=$(getent passwd "$agent" | cut -d: -f6)
    [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "session name: letters, digits, . _ - only"
    if as_agent "$agent" tmux -f "$TMUX_CONF" -L "$SOCKET" has-session 2>/dev/null; then
      as_agent "$agent" tmux -f "$TMUX_CONF" -L "$SOCKET" new-session -d -s "$name" -c "$home" "$@"
    else
      # OOMPolicy=continue: an OOM kill of one agent's process (the slice's MemoryMax) must
      # not make systemd stop the scope, i.e. every session of this tmux server.
      as_agent "$agent" systemd-run --user --scope --quiet --collect --unit="agent-tmux-$$" -p OOMPolicy=continue \
        tmux -f "$TMUX_CONF" -L "$SOCKET" new-session -d -s "$name" -c "$home" "$@"
    fi
    echo "started $agent:$name — attach with: agent-session attach $agent $name"
    ;;
  attach)
    (($# == 2)) || die "usage: agent-session attach AGENT_USER NAME"
    exec sudo -n -u "$1" tmux -f "$TMUX_CONF" -L "$SOCKET" attach-session -t "$2"
    ;;
  ls)
    agents=("$@")
    ((${#agents[@]})) || mapfile -t agents < <(reachable)
    for agent in "${agents[@]}"; do
      as_agent "$agent" tmux -f "$TMUX_CONF" -L "$SOCKET" list-sessions -F "$agent:#{session_name} #{session_windows} windows, created #{t:session_created}#{?session_attached, (attached),}" 2>/dev/null || true
    done
    ;;
  *) die "usage: agent-session new|attach|ls …" ;;
esac
