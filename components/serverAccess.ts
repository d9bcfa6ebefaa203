import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import type { DevServer } from "./devServer";
import { createOwnerUsers, createVisitors, type OwnerUsers } from "./linuxUsers";
import { writeSudoers } from "./sudoers";

export interface ServerAccessArgs {
  /** The server the users and sudoers files live on (its connection and base steps). */
  readonly server: DevServer;
  /** This server's plan: humans, agents, grants, hops. */
  readonly plan: ServerPlan;
  /** Every server by name: the owner's hop list pins their addresses and host keys. */
  readonly peers: Readonly<Record<string, DevServer>>;
  /** Test-only: humans whose sudoers file is rendered broken (src/render/faults.ts). Defaults to none. */
  readonly brokenSudoers?: readonly string[];
}

/**
 * Who may do what on one server: the owner's human and agent users and hop steps
 * (linuxUsers.ts), the visitors (leads, mentors) and every sudoers.d file (sudoers.ts).
 * Built in two passes, wired explicitly by AgentRuntime: visitors carry hop keys made on
 * their own servers, so `addVisitors` runs once every server's owner exists.
 */
export class ServerAccess extends pulumi.ComponentResource {
  /** Public half of the owner's hop key, when the owner reaches other servers. */
  readonly hopPublicKey: pulumi.Output<string> | undefined;
  private readonly owner: OwnerUsers;
  private readonly args: ServerAccessArgs;

  constructor(name: string, args: ServerAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-runtime:index:ServerAccess", name, {}, opts);
    this.args = args;
    this.owner = createOwnerUsers(this, args.server, args.plan, args.peers);
    this.hopPublicKey = this.owner.hopPublicKey;
    this.registerOutputs({ hopPublicKey: this.hopPublicKey });
  }

  /** Pass 2: visitors with their hop keys (by person), then the sudoers files, which wait for every user they name. */
  addVisitors(hopKeys: Readonly<Record<string, pulumi.Output<string> | undefined>>): void {
    const { server, plan, brokenSudoers } = this.args;
    const visitors = createVisitors(this, server, plan, hopKeys);
    writeSudoers(this, server, plan, [...this.owner.users, ...visitors], brokenSudoers);
  }
}
