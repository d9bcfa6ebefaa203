import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import { auditScript, auditUndoScript } from "../src/render/audit";
import { renderScript, shq } from "../src/render/script";
import type { SshdSettings } from "../src/render/sshd";
import type { EtSettings } from "../src/team/model";
import { createCloudHost } from "./cloudHost";
import type { Connection } from "./remoteScript";
import { remoteScript } from "./remoteScript";
import { LocalStep } from "./localStep";
import { SshStep } from "./sshExecutor";
import { installRuntime } from "./runtime";
import { hardenSshd } from "./sshd";

/** The provisioner's credentials (the stack key). */
export interface AdminCredentials {
  /** Account the provisioner creates and then always connects as. Defaults to "agent-runtime". */
  readonly user?: string;
  /** OpenSSH private key, a secret from stack config. */
  readonly privateKey: pulumi.Input<string>;
  /** Its public half, authorized for the admin account. */
  readonly publicKey: string;
  /** Executor "ssh" only: the private key as a file on the machine running Pulumi. */
  readonly keyPath?: string;
}

/** Test-only seams that inject broken renders to prove nothing broken is ever installed. */
export interface Faults {
  readonly sshd?: boolean;
  readonly sudoers?: readonly string[];
}

export interface DevServerArgs {
  /** This server's plan: owner, provider settings. */
  readonly plan: ServerPlan;
  /** Team name, used in cloud tags and labels. */
  readonly team: string;
  readonly admin: AdminCredentials;
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
}

/**
 * One developer's dev server: the machine (cloud VM or an existing host), a readiness
 * gate, the provisioner's admin account, the runtime (tmux, et, auditd, launcher) and
 * hardened sshd. Users and sudoers hang off it (see linuxUsers.ts, sudoers.ts).
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
  /** The server's pinned ssh host key, when known (existing hosts). */
  readonly hostKey: string | undefined;

  constructor(name: string, args: DevServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-runtime:index:DevServer", name, {}, opts);
    const adminUser = args.admin.user ?? "agent-runtime";
    const spec = args.plan.spec;
    const host = this.createHost(name, args, adminUser);
    this.address = host.address;
    this.port = spec.provider === "existing" ? spec.port : 22;
    this.hostKey = spec.provider === "existing" ? spec.hostKey : undefined;
    const firstUser = spec.provider === "existing" ? spec.adminUser : adminUser;
    const identity = pulumi.interpolate`${spec.provider}:${this.address}`;
    const ssh = args.admin.keyPath ? { keyPath: args.admin.keyPath, hostKey: this.hostKey ?? "" } : undefined;
    const bootstrapConn: Connection = { host: this.address, port: this.port, user: firstUser, privateKey: args.admin.privateKey, identity, ssh };
    this.connection = { ...bootstrapConn, user: adminUser };

    const ready = this.waitForSsh(name, args, [adminUser, firstUser], host.resources);
    const admin = this.bootstrapAdmin(name, args, bootstrapConn, adminUser, firstUser, ready);
    const runtime = installRuntime(`${name}-runtime`, { connection: this.connection, et: args.et }, { parent: this, dependsOn: [admin] });
    const sshd = hardenSshd(`${name}-sshd`, { connection: this.connection, admin: adminUser, settings: args.sshd, broken: args.faults?.sshd }, { parent: this, dependsOn: [admin] });
    // The audit trail (templates/audit/): its own step, after the runtime installed auditd.
    const audit = remoteScript(`${name}-audit`, { connection: this.connection, script: auditScript(), undo: auditUndoScript() }, { parent: this, dependsOn: [runtime] });
    const archives = this.keepArchives(name, args, adminUser, admin);
    this.base = [runtime, sshd, audit, archives];
    // "et: …" from the runtime step, "auditd: …" from the audit step.
    this.runtimeStatus = pulumi.all([runtime.stdout, audit.stdout]).apply(([r, a]) => `${r}${a}`);
    this.registerOutputs({ address: this.address, runtimeStatus: this.runtimeStatus });
  }

  private createHost(name: string, args: DevServerArgs, adminUser: string): { address: pulumi.Output<string>; resources: pulumi.Resource[] } {
    const spec = args.plan.spec;
    if (spec.provider === "existing") return { address: pulumi.output(spec.host), resources: [] };
    return createCloudHost(name, { spec, owner: args.plan.owner, team: args.team, adminUser, adminPublicKey: args.admin.publicKey, allowFrom: args.allowFrom, etPort: args.et.port, hcloudSshKeyId: args.hcloudSshKeyId }, this);
  }

  /** Local ssh with the pinned host key, retried (bounded) until the server answers. */
  private waitForSsh(name: string, args: DevServerArgs, users: string[], after: pulumi.Resource[]): pulumi.Resource {
    const cloud = args.plan.spec.provider !== "existing";
    if (args.admin.keyPath) {
      const user = users[users.length - 1]!;
      return new SshStep(
        `${name}-ready`,
        { host: this.address, port: this.port, user, keyPath: args.admin.keyPath, hostKey: this.hostKey ?? "", script: 'echo "ready: $(hostname)"', tries: cloud ? 300 : 15 },
        { parent: this, dependsOn: after },
      );
    }
    const script = this.address.apply((address) =>
      renderScript("gate/wait-ssh.sh", {
        AR_HOST: address,
        AR_PORT: this.port,
        AR_USERS: [...new Set(users)].join(" "),
        AR_HOST_KEY: this.hostKey ?? "",
        AR_TRIES: cloud ? 60 : 15,
        AR_WAIT: cloud ? 5 : 1,
      }),
    );
    return new command.local.Command(
      `${name}-ready`,
      { create: "bash -s", stdin: script, environment: { AR_KEY: pulumi.secret(args.admin.privateKey) }, logging: "stdoutAndStderr" },
      { parent: this, dependsOn: after, additionalSecretOutputs: ["environment"] },
    );
  }

  /** Offboarding archives outlive the server: on delete, copy them to archiveDir. Every
   *  user step depends on this one, so it is deleted after them and before the machine. */
  private keepArchives(name: string, args: DevServerArgs, adminUser: string, admin: pulumi.Resource): pulumi.Resource {
    const undo = this.address.apply((address) =>
      renderScript("gate/pull-archives.sh", { AR_HOST: address, AR_PORT: this.port, AR_USER: adminUser, AR_HOST_KEY: this.hostKey ?? "", AR_DEST: `${args.archiveDir}/${name}` }),
    );
    const opts = { parent: this, dependsOn: [admin] };
    if (args.admin.keyPath) return new LocalStep(`${name}-archives`, { script: "", undo, environment: { AR_KEY_PATH: args.admin.keyPath } }, opts);
    return new command.local.Command(
      `${name}-archives`,
      { create: "true", delete: undo.apply((u) => `bash -c ${shq(u)}`), environment: { AR_KEY: pulumi.secret(args.admin.privateKey) }, logging: "stdoutAndStderr" },
      { ...opts, additionalSecretOutputs: ["environment"] },
    );
  }

  private bootstrapAdmin(name: string, args: DevServerArgs, conn: Connection, adminUser: string, firstUser: string, ready: pulumi.Resource) {
    // Cloud servers get the admin account from cloud-init and are destroyed whole; on an
    // existing host the account is removed last, over the team's own admin login.
    const removable = firstUser !== adminUser;
    return remoteScript(
      `${name}-admin`,
      {
        connection: conn,
        script: renderScript("bootstrap/admin.sh", { AR_ADMIN: adminUser, AR_ADMIN_KEY: args.admin.publicKey }),
        undo: removable ? renderScript("bootstrap/remove-admin.sh", { AR_ADMIN: adminUser }) : undefined,
      },
      { parent: this, dependsOn: [ready] },
    );
  }
}
