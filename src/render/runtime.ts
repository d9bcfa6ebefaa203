import type { EtSettings, ResolvedLimits } from "../team/model";
import { fill, template } from "./script";

// What the runtime step writes on every server: et config and apt source, audit rules,
// the agent-session launcher, and the systemd slice values for each agent user.

const ET_KEYRING = "/etc/apt/keyrings/agent-runtime-et.asc";

/** apt line for the configured et source. The signing key is always the one in team.yaml. */
export function etAptLine(et: EtSettings): string {
  switch (et.source) {
    case "none":
      return "";
    case "ubuntu-ppa":
      // @CODENAME@ is filled on the server: one team may run several releases.
      return `deb [signed-by=${ET_KEYRING}] https://ppa.launchpadcontent.net/jgmath2000/et/ubuntu @CODENAME@ main`;
    case "debian-upstream":
      // The repository named in the EternalTerminal README's Debian section.
      return `deb [signed-by=${ET_KEYRING}] https://github.com/MisterTea/debian-et/raw/master/debian-source/ @CODENAME@ main`;
    case "apt-repo":
      return et.aptLine!;
  }
}

/** /etc/et.cfg: the team's port, telemetry off. */
export function renderEtCfg(port: number): string {
  return fill(template("runtime/et.cfg"), { PORT: port });
}

/** Static audit watches (sudoers, sshd, the provisioner's files). */
export function renderAuditBase(): string {
  return template("audit/50-agent-runtime.rules");
}

/** execve rules for one agent user, keyed `agent-exec-<agent>`. */
export function renderAgentAuditRules(agent: string, owner: string): string {
  return fill(template("audit/agent.rules"), { AGENT: agent, OWNER: owner });
}

/** The launcher installed as /usr/local/bin/agent-session. */
export function renderLauncher(): string {
  return template("runtime/agent-session.sh");
}

/** systemd slice properties for team.yaml limits. */
export function sliceProperties(l: ResolvedLimits): { CPUQuota: string; MemoryHigh: string; MemoryMax: string; TasksMax: string } {
  return { CPUQuota: `${Math.round(l.cpu * 100)}%`, MemoryHigh: l.memoryHigh, MemoryMax: l.memory, TasksMax: String(l.tasks) };
}
