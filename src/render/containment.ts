import { template } from "./script";

// What keeps agent users contained on a server, as files: the PAM hook that moves every
// session opened for an agent user into its limited slice, the PAM stack that calls it,
// and the managed tmux config of agent sessions.

/** /usr/local/lib/agent-runtime/agent-scope (run by pam_exec). */
export function renderPamHook(): string {
  return template("pam/agent-scope.sh");
}

/** /etc/pam.d/agent-runtime-agent-scope, included by sudo, sudo-i, su, su-l, runuser, runuser-l. */
export function renderPamStack(): string {
  return template("pam/agent-runtime-agent-scope");
}

/** /etc/agent-runtime/tmux.conf, the config agent tmux servers start with. */
export function renderAgentTmuxConf(): string {
  return template("tmux/agent-tmux.conf");
}
