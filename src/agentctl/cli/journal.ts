import { spawnSync } from "node:child_process";

// Every new, attach and kill goes to journald with who did what to which session:
// SYSLOG_IDENTIFIER=agentctl and AGENTCTL_* fields (journalctl SYSLOG_IDENTIFIER=agentctl).
// Written by the caller's own process: the sudo log and sudo's I/O log remain the record
// that the caller cannot shape.

export interface JournalEntry {
  action: "new" | "attach" | "kill";
  caller: string;
  agentUser: string;
  session: string;
  server: string;
  /** rw | ro (attach), or the agent (new). */
  mode: string;
}

const field = (v: string) => v.replace(/[\n\r]/g, " ");

/** Log one action; a failure to log is reported on stderr, never fatal. */
export function journal(e: JournalEntry): void {
  const message = `${e.caller} ${e.action} ${e.server}/${e.agentUser}/${e.session} (${e.mode})`;
  const input = [
    `MESSAGE=${message}`,
    "SYSLOG_IDENTIFIER=agentctl",
    "PRIORITY=5",
    `AGENTCTL_ACTION=${e.action}`,
    `AGENTCTL_CALLER=${e.caller}`,
    `AGENTCTL_AGENT_USER=${e.agentUser}`,
    `AGENTCTL_SESSION=${e.session}`,
    `AGENTCTL_SERVER=${e.server}`,
    `AGENTCTL_MODE=${e.mode}`,
  ]
    .map(field)
    .join("\n");
  const r = spawnSync("logger", ["--journald"], { input, timeout: 5000 });
  if (r.status !== 0) {
    const plain = spawnSync("logger", ["-t", "agentctl", "-p", "user.notice", message], { timeout: 5000 });
    if (plain.status !== 0) process.stderr.write(`agentctl: could not write to the journal: ${String(r.stderr ?? r.error)}\n`);
  }
}
