import { readFileSync } from "node:fs";
import { hostname } from "node:os";

// Where agentctl's pieces live on a server (installed by the agentctl step,
// templates/agentctl/install.sh).

export const AGENTCTL = "/usr/local/bin/agentctl";
export const TMUX_CONF = "/etc/agent-runtime/tmux.conf";
export const SOCKET = "agents";
export const SERVER_FILE = "/etc/agent-runtime/agentctl.json";
export const HOP_CONFIG = ".ssh/agent-runtime.conf";

/** This server's name in team.yaml (dev-<owner>), as the provisioner recorded it. */
export function localServer(): string {
  try {
    const v = JSON.parse(readFileSync(SERVER_FILE, "utf8")) as { server?: unknown };
    if (typeof v.server === "string" && v.server) return v.server;
  } catch {
    // not provisioned by agent-runtime: fall back to the host name
  }
  return hostname();
}

/** tmux on the agents' socket with the managed config. */
export const tmuxArgs = (...args: string[]) => ["-f", TMUX_CONF, "-L", SOCKET, ...args];
