import * as pulumi from "@pulumi/pulumi";
import type { AgentPlan, HumanPlan, ServerPlan } from "../src/plan/access";
import { renderAgentAuditRules, sliceProperties } from "../src/render/runtime";
import { renderScript } from "../src/render/script";
import { ARCHIVE_LIMITS } from "../src/team/defaults";
import { authorizedKeyLine } from "../src/team/sshKeys";
import type { DevServer } from "./devServer";
import { remoteScript } from "./executor";

// Linux users on one server, as children of its DevServer. Two passes, because visitors
// carry a hop key generated on *their* server: first every server's owner (human, agent,
// hop key), then every server's visitors. Names come from user names, never positions.

/** authorized_keys for a human: team.yaml keys, plus the hop key from their own server. */
export function authorizedKeys(human: HumanPlan, hopKey?: string): string {
  return [...human.keys.map(authorizedKeyLine), ...(hopKey ? [hopKey] : [])].join("\n");
}

/** The script that creates or updates one human user (exported for render tests). */
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
export const removeScript = (user: string) =>
  renderScript("users/remove.sh", { AR_USER: user, AR_ARCHIVE_MAX_MB: ARCHIVE_LIMITS.maxMB, AR_ARCHIVE_TIMEOUT: ARCHIVE_LIMITS.timeoutSeconds });

export interface OwnerUsers {
  /** Resources that sudoers files must wait for. */
  users: pulumi.Resource[];
  /** Public half of the owner's hop key (only if they reach other servers). */
  hopPublicKey?: pulumi.Output<string>;
}

/** Pass 1: the owner's human user, their agent user, and their hop key and ssh config
 *  (two steps: the key never changes, so a new hop target never touches visitors' keys). */
export function createOwnerUsers(server: DevServer, plan: ServerPlan, peers: Record<string, DevServer>): OwnerUsers {
  const name = plan.name;
  const opts = { parent: server, dependsOn: server.base };
  const owner = plan.humans.find((h) => h.name === plan.owner)!;
  const human = remoteScript(
    `${name}-user-${owner.name}`,
    { connection: server.connection, script: humanScript(owner.name, authorizedKeys(owner), owner.forwarding), undo: removeScript(owner.name) },
    opts,
  );
  const agents = plan.agents.map((a) =>
    remoteScript(`${name}-agent-${a.name}`, { connection: server.connection, script: agentScript(a), undo: removeScript(a.name) }, opts),
  );
  if (plan.hopsTo.length === 0) return { users: [human, ...agents] };

  const hopKey = remoteScript(
    `${name}-hopkey-${owner.name}`,
    { connection: server.connection, script: renderScript("hop/hopkey.sh", { AR_USER: owner.name }), undo: renderScript("hop/remove.sh", { AR_USER: owner.name }) },
    { parent: server, dependsOn: [human] },
  );
  const hostsFile = pulumi
    .all(plan.hopsTo.map((peer) => peers[peer]!.address))
    .apply((addresses) => plan.hopsTo.map((peer, i) => [peer, addresses[i], peers[peer]!.port, peers[peer]!.hostKey ?? ""].join(" ").trimEnd()).join("\n"));
  const hop = remoteScript(
    `${name}-hop-${owner.name}`,
    { connection: server.connection, script: hostsFile.apply((hosts) => renderScript("hop/config.sh", { AR_USER: owner.name, AR_HOSTS: hosts })) },
    { parent: server, dependsOn: [hopKey] },
  );
  const hopPublicKey = hopKey.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
  return { users: [human, ...agents, hopKey, hop], hopPublicKey };
}

/** Pass 2: humans who visit this server (leads, mentors), each with their hop key. */
export function createVisitors(server: DevServer, plan: ServerPlan, hopKeys: Record<string, pulumi.Output<string> | undefined>): pulumi.Resource[] {
  return plan.humans
    .filter((h) => h.name !== plan.owner)
    .map((h) => {
      const hop = hopKeys[h.name];
      const script = hop ? hop.apply((k) => humanScript(h.name, authorizedKeys(h, k), h.forwarding)) : humanScript(h.name, authorizedKeys(h), h.forwarding);
      return remoteScript(
        `${plan.name}-user-${h.name}`,
        { connection: server.connection, script, undo: removeScript(h.name) },
        { parent: server, dependsOn: server.base },
      );
    });
}
