import * as pulumi from "@pulumi/pulumi";
import type { TeamPlan } from "../src/plan/access";
import { etCommand, sshConfigBlock } from "../src/plan/clientConfig";
import type { EtSettings } from "../src/team/model";
import { hcloudLabelValue, MANAGED_BY } from "../src/render/cloud";
import { createHcloudAdminKey } from "./cloudHost";
import type { Faults } from "../src/render/faults";
import { DevServer, type AdminCredentials } from "./devServer";
import { ExecutorLock, type Executor, type Payload } from "./executor";
import { ServerAccess } from "./serverAccess";

export interface AgentRuntimeArgs {
  /** The pure plan built from team.yaml (src/plan/access.ts). */
  readonly plan: TeamPlan;
  readonly admin: AdminCredentials;
  /** How steps reach servers (decided once in index.ts). */
  readonly executor: Executor;
  readonly et: EtSettings;
  /** CIDRs admitted by cloud firewalls. */
  readonly allowFrom: readonly string[];
  /** Test-only fault injection (see README "Testing"). Defaults to none. */
  readonly faults?: Faults;
  /** Where offboarding archives are copied (absolute path; see DevServerArgs.archiveDir). */
  readonly archiveDir: string;
  /** agentctl's bundle (src/agentctl/build.ts), installed on every server. */
  readonly agentctl: Payload;
}

/** What a person needs per server: its address and ready-to-paste client config. */
export interface ServerInfo {
  owner: string;
  address: string;
  port: number;
  runtime: string;
  sshConfig: Record<string, string>;
  et: Record<string, string>;
}

/** The whole team's runtime: one DevServer per developer, then users, visitors, sudoers. */
export class AgentRuntime extends pulumi.ComponentResource {
  readonly servers: pulumi.Output<Record<string, ServerInfo>>;

  constructor(name: string, args: AgentRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-runtime:index:AgentRuntime", name, {}, opts);
    const servers = this.createServers(args);
    // Pass 1: each server's access, starting with its owner (human, agent, hop key).
    const access = Object.fromEntries(
      args.plan.servers.map((s) => [
        s.name,
        new ServerAccess(
          `${s.name}-access`,
          { server: servers[s.name]!, plan: s, peers: servers, brokenSudoers: args.faults?.sudoers },
          { parent: this },
        ),
      ]),
    );
    // Pass 2: visitors carry the hop key made on their own server in pass 1.
    const hopKeys = Object.fromEntries(args.plan.servers.map((s) => [s.owner, access[s.name]!.hopPublicKey]));
    for (const s of args.plan.servers) access[s.name]!.addVisitors(hopKeys);
    this.servers = this.describe(args, servers);
    this.registerOutputs({ servers: this.servers });
  }

  private createServers(args: AgentRuntimeArgs): Record<string, DevServer> {
    // Every step waits for the lock (through the readiness gates): a switched executor is
    // refused before anything runs.
    const lock = new ExecutorLock(`${args.plan.team}-executor`, args.executor, { parent: this });
    // Hetzner refuses a second key with the same fingerprint: one key for the team.
    const hcloudKey = args.plan.servers.some((s) => s.spec.provider === "hcloud")
      ? createHcloudAdminKey(
          `${args.plan.team}-admin-key`,
          args.admin.publicKey,
          { team: hcloudLabelValue(args.plan.team), "managed-by": MANAGED_BY },
          { parent: this },
        )
      : undefined;
    return Object.fromEntries(
      args.plan.servers.map((s) => [
        s.name,
        new DevServer(
          s.name,
          {
            plan: s,
            team: args.plan.team,
            admin: args.admin,
            executor: args.executor,
            after: [lock],
            et: args.et,
            allowFrom: args.allowFrom,
            faults: args.faults,
            archiveDir: args.archiveDir,
            agentctl: args.agentctl,
            hcloudSshKeyId: hcloudKey?.id,
          },
          { parent: this },
        ),
      ]),
    );
  }

  private describe(args: AgentRuntimeArgs, servers: Record<string, DevServer>): pulumi.Output<Record<string, ServerInfo>> {
    const entries = args.plan.servers.map((s) => {
      const srv = servers[s.name]!;
      return pulumi.all([srv.address, srv.runtimeStatus]).apply(([address, runtime]): [string, ServerInfo] => [
        s.name,
        {
          owner: s.owner,
          address,
          port: srv.port,
          runtime: runtime
            .trim()
            .split("\n")
            .filter((l) => /^(et|auditd): /.test(l))
            .join("; "),
          sshConfig: Object.fromEntries(s.humans.map((h) => [h.name, sshConfigBlock(s.name, h.name, address, srv.port)])),
          et: Object.fromEntries(s.humans.map((h) => [h.name, etCommand(s.name, args.et.port)])),
        },
      ]);
    });
    return pulumi.all(entries).apply((e) => Object.fromEntries(e));
  }
}
