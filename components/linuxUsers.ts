import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import {
  agentScript,
  authorizedKeys,
  hopConfigScript,
  hopKeyScript,
  hopRemoveScript,
  humanScript,
  removeScript,
} from "../src/render/users";
import type { DevServer } from "./devServer";
import { remoteScript } from "./executor";

// Linux users on one server, as children of its ServerAccess. Two passes, because visitors
// carry a hop key generated on *their* server: first every server's owner (human, agent,
// hop key), then every server's visitors. Names come from user names, never positions.
// These steps were once children of the DevServer itself: `aliases` keep their URNs, so
// an existing stack sees no replacement (a replacement would run each step's undo).

/** Options of a user step: under the server's access component, after the server's base. */
export const stepOpts = (
  access: pulumi.Resource,
  server: DevServer,
  dependsOn: pulumi.Input<pulumi.Resource>[] = server.base,
): pulumi.CustomResourceOptions => ({
  parent: access,
  dependsOn,
  aliases: [{ parent: server }],
});

export interface OwnerUsers {
  /** Resources that sudoers files must wait for. */
  users: pulumi.Resource[];
  /** Public half of the owner's hop key (only if they reach other servers). */
  hopPublicKey?: pulumi.Output<string>;
}

/** Pass 1: the owner's human user, their agent user, and their hop key and ssh config
 *  (two steps: the key never changes, so a new hop target never touches visitors' keys). */
export function createOwnerUsers(
  access: pulumi.Resource,
  server: DevServer,
  plan: ServerPlan,
  peers: Readonly<Record<string, DevServer>>,
): OwnerUsers {
  const name = plan.name;
  const opts = stepOpts(access, server);
  const owner = plan.humans.find((h) => h.name === plan.owner)!;
  const human = remoteScript(
    `${name}-user-${owner.name}`,
    {
      connection: server.connection,
      script: humanScript(owner.name, authorizedKeys(owner), owner.forwarding),
      undo: removeScript(owner.name),
    },
    opts,
  );
  const agents = plan.agents.map((a) =>
    remoteScript(`${name}-agent-${a.name}`, { connection: server.connection, script: agentScript(a), undo: removeScript(a.name) }, opts),
  );
  if (plan.hopsTo.length === 0) return { users: [human, ...agents] };

  const hopKey = remoteScript(
    `${name}-hopkey-${owner.name}`,
    { connection: server.connection, script: hopKeyScript(owner.name), undo: hopRemoveScript(owner.name) },
    stepOpts(access, server, [human]),
  );
  // Peers' addresses (and cloud host keys) are known only once the peers exist.
  const targets = pulumi.all(plan.hopsTo.map((peer) => pulumi.all([peers[peer]!.address, peers[peer]!.hostKey])));
  const hopConfig = targets.apply((t) =>
    hopConfigScript(
      owner.name,
      plan.hopsTo.map((peer, i) => ({ name: peer, address: t[i]![0], port: peers[peer]!.port, hostKey: t[i]![1] })),
    ),
  );
  const hop = remoteScript(
    `${name}-hop-${owner.name}`,
    { connection: server.connection, script: hopConfig },
    stepOpts(access, server, [hopKey]),
  );
  const hopPublicKey = hopKey.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
  return { users: [human, ...agents, hopKey, hop], hopPublicKey };
}

/** Pass 2: humans who visit this server (leads, mentors), each with their hop key. */
export function createVisitors(
  access: pulumi.Resource,
  server: DevServer,
  plan: ServerPlan,
  hopKeys: Readonly<Record<string, pulumi.Output<string> | undefined>>,
): pulumi.Resource[] {
  return plan.humans
    .filter((h) => h.name !== plan.owner)
    .map((h) => {
      const hop = hopKeys[h.name];
      const script = hop
        ? hop.apply((k) => humanScript(h.name, authorizedKeys(h, k), h.forwarding))
        : humanScript(h.name, authorizedKeys(h), h.forwarding);
      return remoteScript(
        `${plan.name}-user-${h.name}`,
        { connection: server.connection, script, undo: removeScript(h.name) },
        stepOpts(access, server),
      );
    });
}
