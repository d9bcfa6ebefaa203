import { cmp } from "../byteOrder";
import { AGENT_SUFFIX } from "../team/schema";
import type { Person, ResolvedLimits, ServerSpec, Source, Team } from "../team/model";
import type { SshPublicKey } from "../team/sshKeys";

// team → one plan per server. Pure data: no @pulumi import, no I/O. The access model:
//   everyone reaches their own agent user; a lead reaches every developer's agent user;
//   a senior reaches their mentees' agent users. "Reaching" = a human user of one's own on
//   that server (one's keys, plus a hop key from one's own server) and a sudoers rule whose
//   only target is that agent user. No plan ever targets a human user or root.

/** Why a human may become an agent user. */
export type GrantReason = "own" | "lead" | "mentor";

/** One sudo right: `human` may run anything as `target` on `server`. */
export interface Grant {
  server: string;
  human: string;
  target: string;
  reason: GrantReason;
  /** The team.yaml line that causes it (role: lead, a mentees entry, or the person's own entry). */
  source: Source;
  /** Sessions of someone else's agent are recorded (sudo log_input/log_output). */
  ioLog: boolean;
}

/** A human user present on a server. */
export interface HumanPlan {
  name: string;
  keys: SshPublicKey[];
  /** Server whose hop key is also authorized (their own server), when this isn't their own. */
  hopFrom?: string;
  /** This person's sessions may use ssh TCP/unix-socket/agent forwarding (team.yaml `forwarding`). */
  forwarding: boolean;
}

/** The agent user of the server's owner, with its limits. */
export interface AgentPlan {
  name: string;
  owner: string;
  limits: ResolvedLimits;
}

/** Everything that exists on one dev server. */
export interface ServerPlan {
  name: string;
  owner: string;
  spec: ServerSpec;
  humans: HumanPlan[];
  agents: AgentPlan[];
  grants: Grant[];
  /** Servers the owner may hop to from here (their ~/.ssh/config there); empty for most developers. */
  hopsTo: string[];
}

export interface TeamPlan {
  team: string;
  servers: ServerPlan[];
}

/** `wes` → `dev-wes`. */
export const serverName = (owner: string) => `dev-${owner}`;
/** `wes` → `wes-agent`. */
export const agentUser = (owner: string) => `${owner}${AGENT_SUFFIX}`;

/** Who, besides the owner, reaches `owner`'s agent user, and because of which line. */
function visitors(team: Team, owner: Person): { person: Person; reason: GrantReason; source: Source }[] {
  const out: { person: Person; reason: GrantReason; source: Source }[] = [];
  for (const p of team.people) {
    if (p.name === owner.name) continue;
    if (p.role === "lead") out.push({ person: p, reason: "lead", source: p.source.role });
    else if (p.role === "senior" && p.mentees.includes(owner.name)) {
      out.push({ person: p, reason: "mentor", source: p.source.mentees[owner.name]! });
    }
  }
  return out;
}

/** The whole team's plan. Independent of the order of people in team.yaml. */
export function planTeam(team: Team): TeamPlan {
  const people = [...team.people].sort((a, b) => cmp(a.name, b.name));
  const servers = people.map((owner): ServerPlan => {
    const name = serverName(owner.name);
    const agent = agentUser(owner.name);
    const others = visitors(team, owner);
    const grants: Grant[] = [
      { server: name, human: owner.name, target: agent, reason: "own" as GrantReason, source: owner.source.entry, ioLog: false },
      ...others.map((v) => ({ server: name, human: v.person.name, target: agent, reason: v.reason, source: v.source, ioLog: true })),
    ].sort((a, b) => cmp(a.human, b.human));
    const humans: HumanPlan[] = [
      { name: owner.name, keys: owner.keys, forwarding: owner.forwarding },
      ...others.map((v) => ({
        name: v.person.name,
        keys: v.person.keys,
        hopFrom: serverName(v.person.name),
        forwarding: v.person.forwarding,
      })),
    ].sort((a, b) => cmp(a.name, b.name));
    const hopsTo = people
      .filter((p) => p.name !== owner.name && visitors(team, p).some((v) => v.person.name === owner.name))
      .map((p) => serverName(p.name));
    return {
      name,
      owner: owner.name,
      spec: owner.server,
      humans,
      agents: [{ name: agent, owner: owner.name, limits: owner.limits }],
      grants,
      hopsTo,
    };
  });
  return { team: team.name, servers };
}

/** Every grant of the plan, flattened and sorted (server, human). */
export function allGrants(plan: TeamPlan): Grant[] {
  return plan.servers.flatMap((s) => s.grants).sort((a, b) => cmp(a.server, b.server) || cmp(a.human, b.human));
}
