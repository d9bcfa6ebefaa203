import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import { auditScript, auditUndoScript } from "../src/render/audit";
import { adminRemoveScript, adminScript } from "../src/render/bootstrap";
import { helpersRemoveScript, helpersScript } from "../src/render/helpers";
import type { Faults } from "../src/render/faults";
import { renderScript } from "../src/render/script";
import type { SshdSettings } from "../src/render/sshd";
import type { EtSettings } from "../src/team/model";
import { createCloudHost } from "./cloudHost";
import { agentctlRemoveScript, agentctlScript } from "../src/render/agentctl";
import { localScript, remoteScript, type Connection, type Executor, type Payload } from "./executor";
import { installRuntime } from "./runtime";
import { hardenSshd } from "./sshd";

/** The provisioner's account and key (the stack key). */
export interface AdminCredentials {
  /** Account the provisioner creates and then always connects as. Defaults to "agent-runtime". */
  readonly user?: string;
  /** The public half of the stack key, authorized for the admin account. */
  readonly publicKey: string;
}

export interface DevServerArgs {
  /** This server's plan: owner, provider settings. */
  readonly plan: ServerPlan;
  /** Team name, used in cloud tags and labels. */
  readonly team: string;
  readonly admin: AdminCredentials;
  /** How steps reach the server (and the private key in the form that executor needs). */
  readonly executor: Executor;
  /** Resources every step waits for (the executor lock). Defaults to none. */
  readonly after?: pulumi.Resource[];
  /** Eternal Terminal settings from team.yaml. */
  readonly et: EtSettings;
  /** CIDRs admitted to ssh/et by cloud firewalls. */
  readonly allowFrom: readonly string[];
  /** sshd drop-in settings. Defaults to MaxAuthTries 10. */
  readonly sshd?: SshdSettings;
  /** hcloud only: the team's one SshKey id (Hetzner allows one key per fingerprint per project). */
  readonly hcloudSshKeyId?: pulumi.Input<string>;
  readonly faults?: Faults;
  /** Where offboarding archives are copied before this server's steps (and, for cloud
   *  servers, the machine) are deleted: `<archiveDir>/<server>/`. Absolute path. */
  readonly archiveDir: string;
  /** agentctl's bundle (src/agentctl/build.ts): sent with the agentctl step, keyed on its hash. */
  readonly agentctl: Payload;
}

/**
 * One developer's dev server: the machine (cloud VM or an existing host), a readiness
 * gate, the provisioner's admin account, the runtime (tmux, et, auditd, node) and
 * hardened sshd, the audit trail, agentctl and the archive pull. Who may do what on it is its own
 * component, ServerAccess (serverAccess.ts), whose steps wait for `base`.
 */
export class DevServer extends pulumi.ComponentResource {
  /** Address the provisioner and people connect to. */
  readonly address: pulumi.Output<string>;
  readonly port: number;
  /** Connection every step after bootstrap uses (the admin account). */
  readonly connection: Connection;
  /** Steps that users and sudoers must wait for. */
  readonly base: pulumi.Resource[];
  /** "et: …" and "auditd: …" as reported by the server. */
  readonly runtimeStatus: pulumi.Output<string>;
  /** The server's pinned ssh host key: from team.yaml (existing hosts) or generated with
   *  the stack and installed by cloud-init (cloud servers). */
  readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: DevServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-runtime:index:DevServer", name, {}, opts);
    const adminUser = args.admin.user ?? "agent-runtime";
    const spec = args.plan.spec;
    const host = this.createHost(name, args, adminUser);
    this.address = host.address;
    this.port = spec.provider === "existing" ? spec.port : 22;
    this.hostKey = host.hostKey;
    const firstUser = spec.provider === "existing" ? spec.adminUser : adminUser;
    const identity = pulumi.interpolate`${spec.provider}:${this.address}`;
    const bootstrapConn: Connection = {
      server: name,
      host: this.address,
      port: this.port,
      user: firstUser,
      hostKey: this.hostKey,
      identity,
      executor: args.executor,
    };
    this.connection = { ...bootstrapConn, user: adminUser };

    const ready = this.waitForSsh(name, args, [adminUser, firstUser], [...host.resources, ...(args.after ?? [])]);
    const admin = this.bootstrapAdmin(name, args, bootstrapConn, adminUser, firstUser, ready);
    // The shared helpers every later step sources (src/render/helpers.ts): every remote
    // step below waits for this one, so it is also the last of them to be undone.
    const lib = remoteScript(
      `${name}-lib`,
      { connection: this.connection, script: helpersScript(), undo: helpersRemoveScript() },
      { parent: this, dependsOn: [admin] },
    );
    const runtime = installRuntime(`${name}-runtime`, { connection: this.connection, et: args.et }, { parent: this, dependsOn: [lib] });
    const sshd = hardenSshd(
      `${name}-sshd`,
      { connection: this.connection, admin: adminUser, settings: args.sshd, broken: args.faults?.sshd },
      { parent: this, dependsOn: [lib] },
    );
    // The audit trail (templates/audit/): its own step, after the runtime installed auditd.
    const audit = remoteScript(
      `${name}-audit`,
      { connection: this.connection, script: auditScript(), undo: auditUndoScript() },
      { parent: this, dependsOn: [runtime] },
    );
    // agentctl after the runtime (which installs node); its own step, so a new bundle
    // re-runs only this one.
    const agentctl = remoteScript(
      `${name}-agentctl`,
      {
        connection: this.connection,
        script: agentctlScript(name, args.agentctl.sha256),
        undo: agentctlRemoveScript(),
        payload: args.agentctl,
        summary: `agentctl bundle sha256 ${args.agentctl.sha256.slice(0, 16)}`,
      },
      { parent: this, dependsOn: [runtime] },
    );
    const archives = this.keepArchives(name, args, adminUser, admin);
    this.base = [runtime, sshd, audit, agentctl, archives];
    // "et: …" from the runtime step, "auditd: …" from the audit step.
    this.runtimeStatus = pulumi.all([runtime.stdout, audit.stdout]).apply(([r, a]) => `${r}${a}`);
    this.registerOutputs({ address: this.address, runtimeStatus: this.runtimeStatus });
  }

  private createHost(
    name: string,
    args: DevServerArgs,
    adminUser: string,
  ): { address: pulumi.Output<string>; hostKey: pulumi.Output<string>; resources: pulumi.Resource[] } {
    const spec = args.plan.spec;
    if (spec.provider === "existing") return { address: pulumi.output(spec.host), hostKey: pulumi.output(spec.hostKey), resources: [] };
    return createCloudHost(
      name,
      {
        spec,
        owner: args.plan.owner,
        team: args.team,
        adminUser,
        adminPublicKey: args.admin.publicKey,
        allowFrom: args.allowFrom,
        etPort: args.et.port,
        hcloudSshKeyId: args.hcloudSshKeyId,
      },
      this,
    );
  }

  /** Local ssh with the pinned host key, retried (bounded) until the server answers: the
   *  same gate script for both executors (templates/gate/wait-ssh.sh). */
  private waitForSsh(name: string, args: DevServerArgs, users: string[], after: pulumi.Resource[]): pulumi.Resource {
    const cloud = args.plan.spec.provider !== "existing";
    const script = pulumi.all([this.address, this.hostKey]).apply(([address, hostKey]) =>
      renderScript("gate/wait-ssh.sh", {
        AR_SERVER: name,
        AR_HOST: address,
        AR_PORT: this.port,
        AR_USERS: [...new Set(users)].join(" "),
        AR_HOST_KEY: hostKey,
        AR_TRIES: cloud ? 60 : 15,
        AR_WAIT: cloud ? 5 : 1,
      }),
    );
    return localScript(`${name}-ready`, { script, undo: "", executor: args.executor }, { parent: this, dependsOn: after });
  }

  /** Offboarding archives outlive the server: on delete, copy them to archiveDir. Every
   *  user step depends on this one, so it is deleted after them and before the machine. */
  private keepArchives(name: string, args: DevServerArgs, adminUser: string, admin: pulumi.Resource): pulumi.Resource {
    const undo = pulumi.all([this.address, this.hostKey]).apply(([address, hostKey]) =>
      renderScript("gate/pull-archives.sh", {
        AR_HOST: address,
        AR_PORT: this.port,
        AR_USER: adminUser,
        AR_HOST_KEY: hostKey,
        AR_DEST: `${args.archiveDir}/${name}`,
      }),
    );
    return localScript(`${name}-archives`, { script: "", undo, executor: args.executor }, { parent: this, dependsOn: [admin] });
  }

  private bootstrapAdmin(
    name: string,
    args: DevServerArgs,
    conn: Connection,
    adminUser: string,
    firstUser: string,
    ready: pulumi.Resource,
  ) {
    // Cloud servers get the admin account from cloud-init and are destroyed whole; on an
    // existing host the account is removed last, over the team's own admin login.
    const removable = firstUser !== adminUser;
    return remoteScript(
      `${name}-admin`,
      {
        connection: conn,
        script: adminScript(adminUser, args.admin.publicKey),
        undo: removable ? adminRemoveScript(adminUser) : undefined,
      },
      { parent: this, dependsOn: [ready] },
    );
  }
}
