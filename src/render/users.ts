import type { AgentPlan, HumanPlan } from "../plan/access";
import { ARCHIVE_LIMITS } from "../team/defaults";
import { authorizedKeyLine } from "../team/sshKeys";
import { renderAgentAuditRules, sliceProperties } from "./runtime";
import { renderScript } from "./script";

// The scripts that create, update and remove Linux users on one server: humans (with
// their keys), agent users (with limits and audit rules), and the hop key and ssh config
// that let a lead or senior reach the servers they may visit from their own.

/** authorized_keys for a human: team.yaml keys, plus the hop key from their own server. */
export function authorizedKeys(human: HumanPlan, hopKey?: string): string {
  return [...human.keys.map(authorizedKeyLine), ...(hopKey ? [hopKey] : [])].join("\n");
}

/** The script that creates or updates one human user. */
export function humanScript(human: string, keys: string, forwarding = false): string {
  return renderScript("users/human.sh", { AR_USER: human, AR_KEYS: keys, AR_FORWARDING: forwarding ? "yes" : "no" });
}

/** The script that creates or updates one agent user with its limits and audit rules. */
export function agentScript(agent: AgentPlan): string {
  const p = sliceProperties(agent.limits);
  return renderScript("users/agent.sh", {
    AR_AGENT: agent.name,
    AR_OWNER: agent.owner,
    AR_CPU_QUOTA: p.CPUQuota,
    AR_MEMORY_HIGH: p.MemoryHigh,
    AR_MEMORY_MAX: p.MemoryMax,
    AR_TASKS_MAX: p.TasksMax,
    AR_AUDIT_RULES: renderAgentAuditRules(agent.name, agent.owner),
  });
}

/** Offboarding one user: stop, archive (bounded), delete (see templates/users/remove.sh). */
export function removeScript(user: string): string {
  return renderScript("users/remove.sh", {
    AR_USER: user,
    AR_ARCHIVE_MAX_MB: ARCHIVE_LIMITS.maxMB,
    AR_ARCHIVE_TIMEOUT: ARCHIVE_LIMITS.timeoutSeconds,
  });
}

/** A server a hop key reaches, once its address (and host key, when pinned) is known. */
export interface HopTarget {
  /** Server name, used as the ssh Host alias. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Pinned host key (`ssh-ed25519 AAAA…`); empty or absent when not known. */
  readonly hostKey?: string;
}

/** Generate the owner's hop key once; prints the public half last (templates/hop/hopkey.sh). */
export function hopKeyScript(user: string): string {
  return renderScript("hop/hopkey.sh", { AR_USER: user });
}

/** AR_HOSTS for hop/config.sh: one `name address port [hostkey]` line per target, in plan order. */
export function hopHostsLines(targets: readonly HopTarget[]): string {
  return targets.map((t) => [t.name, t.address, t.port, t.hostKey ?? ""].join(" ").trimEnd()).join("\n");
}

/** Write the owner's ~/.ssh config and known hosts for their hop targets (templates/hop/config.sh). */
export function hopConfigScript(user: string, targets: readonly HopTarget[]): string {
  return renderScript("hop/config.sh", { AR_USER: user, AR_HOSTS: hopHostsLines(targets) });
}

/** Remove the owner's hop key and ssh config (templates/hop/remove.sh). */
export function hopRemoveScript(user: string): string {
  return renderScript("hop/remove.sh", { AR_USER: user });
}
