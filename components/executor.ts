import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shq } from "../src/render/script";
import { LocalStep } from "./localStep";
import { SshStep } from "./sshExecutor";

// How the provisioner reaches servers: decided once in index.ts and passed down as this
// one value. Both executors run the same rendered scripts with the same create / update /
// replace / delete semantics and pin host keys; they differ only in the resource type.
//   command: @pulumi/command 1.2.1 (remote.Command on servers, local.Command locally);
//   ssh:     the system ssh client driven by dynamic providers (sshExecutor.ts,
//            localStep.ts), for machines without the command provider plugin.

/** The executor and the provisioner's key in the form it needs. */
export type Executor =
  { readonly kind: "command"; readonly privateKey: pulumi.Input<string> } | { readonly kind: "ssh"; readonly keyPath: string };

/** How the provisioner reaches one server. */
export interface Connection {
  /** Server name (dev-<owner>), for messages. */
  server: string;
  host: pulumi.Input<string>;
  port: number;
  user: string;
  /** The pinned host key line ("ssh-ed25519 AAAA…"). Both executors refuse a server that
   *  presents another one. Empty: accepted on first use (see README "Threat model"). */
  hostKey: pulumi.Input<string>;
  /** Which machine this is (provider + address). When it changes, every step is replaced:
   *  undone on the old machine, done on the new one — a visible replacement, never silent. */
  identity?: pulumi.Input<string>;
  executor: Executor;
}

export interface RemoteScriptArgs {
  connection: Connection;
  /** The rendered script (see src/render/script.ts). */
  script: pulumi.Input<string>;
  /** A rendered script that undoes this step when the resource is deleted. */
  undo?: pulumi.Input<string>;
  /** One line a reviewer should see in `pulumi preview --diff` (e.g. the sudoers rules),
   *  which otherwise elides long scripts on create. */
  summary?: string;
  /** A local file sent along when the step runs (agentctl's bundle): the script reads it
   *  as the file $AR_PAYLOAD. Only its sha256 is an input, so the state never holds it. */
  payload?: Payload;
}

/** A file the provisioner sends with a step, and the hash the step is keyed on. */
export interface Payload {
  path: string;
  sha256: string;
}

/** Where the command executor copies a payload: the admin account's home, never /tmp
 *  (where a user could have planted a link at a name known in advance). */
export const payloadRemoteName = (p: Payload) => `agent-runtime-payload-${p.sha256.slice(0, 16)}`;

/** A step's resource: either executor gives the script's stdout. */
export type Step = pulumi.CustomResource & { readonly stdout: pulumi.Output<string> };

/** `AR_WHERE` names the server and address in every message a script prints (log/die),
 *  so a failed step says where it failed whichever executor ran it. */
function located(c: Connection, script: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.interpolate`AR_WHERE=${pulumi.output(c.host).apply((h) => shq(`${c.server} (${c.user}@${h}:${c.port})`))}\n${script}`;
}

/** One idempotent provisioning step on a remote server, run as `sudo -n bash -s`. */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): Step {
  const c = args.connection;
  const script = located(c, args.script);
  const undo = args.undo === undefined ? undefined : located(c, args.undo);
  switch (c.executor.kind) {
    case "ssh":
      return new SshStep(
        name,
        {
          host: c.host,
          port: c.port,
          user: c.user,
          keyPath: c.executor.keyPath,
          hostKey: c.hostKey,
          script,
          undo,
          triggers: c.identity ? [c.identity] : [],
          summary: args.summary,
          payloadPath: args.payload?.path,
          payloadSha256: args.payload?.sha256,
        },
        opts,
      );
    case "command": {
      const connection = {
        host: c.host,
        port: c.port,
        user: c.user,
        privateKey: c.executor.privateKey,
        hostKey: pinned(c.hostKey),
        dialErrorLimit: 10,
        perDialTimeout: 15,
      };
      // The payload goes first, by sftp into the admin's home; the step finds it there.
      const p = args.payload;
      const copy = p
        ? new command.remote.CopyToRemote(
            `${name}-payload`,
            {
              connection,
              source: new pulumi.asset.FileAsset(p.path),
              remotePath: payloadRemoteName(p),
              triggers: [p.sha256, ...(c.identity ? [c.identity] : [])],
            },
            opts,
          )
        : undefined;
      const stdin = p
        ? pulumi.interpolate`AR_PAYLOAD="$(getent passwd "$SUDO_USER" | cut -d: -f6)/${payloadRemoteName(p)}"\n${script}`
        : script;
      return new command.remote.Command(
        name,
        {
          connection,
          // A trailing comment is inert for the shell and visible in the preview.
          create: args.summary ? `sudo -n bash -s # ${args.summary.replace(/\n/g, "; ")}` : "sudo -n bash -s",
          stdin,
          delete: undo?.apply((u) => `sudo -n bash -c ${shq(u)}`),
          addPreviousOutputInEnv: false,
          triggers: c.identity ? [c.identity] : undefined,
          logging: "stdoutAndStderr",
        },
        copy ? { ...opts, dependsOn: [...toArray(opts.dependsOn), copy] } : opts,
      );
    }
  }
}

const toArray = (d: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] =>
  d === undefined ? [] : Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>];

/** remote.Command ignores host keys when none is given: give it the pin when there is one
 *  (an Output resolving to undefined leaves the property unset). */
const pinned = (hostKey: pulumi.Input<string>) => pulumi.output(hostKey).apply((k) => (k ? k : undefined)) as pulumi.Output<string>;

export interface LocalScriptArgs {
  /** Run with `bash -s` where `pulumi up` runs, on create and update ("" = nothing). */
  script: pulumi.Input<string>;
  /** Run on delete ("" = nothing). */
  undo: pulumi.Input<string>;
  executor: Executor;
}

/** A script run where `pulumi up` runs, with the provisioner's key as AR_KEY_PATH (ssh)
 *  or AR_KEY (command: a secret, written only to a private temp dir by the script). */
export function localScript(name: string, args: LocalScriptArgs, opts: pulumi.CustomResourceOptions): Step {
  const e = args.executor;
  switch (e.kind) {
    case "ssh":
      return new LocalStep(name, { script: args.script, undo: args.undo, environment: { AR_KEY_PATH: e.keyPath } }, opts);
    case "command": {
      // "" means nothing to run on that operation (plain strings, known when the program runs).
      const run = (text: pulumi.Input<string>) => (text === "" ? undefined : pulumi.output(text).apply((t) => `bash -c ${shq(t)}`));
      return new command.local.Command(
        name,
        {
          create: run(args.script),
          delete: run(args.undo),
          environment: { AR_KEY: pulumi.secret(e.privateKey) },
          logging: "stdoutAndStderr",
        },
        { ...opts, additionalSecretOutputs: ["environment"] },
      );
    }
  }
}

/** Why switching executors on a live stack is refused (shown by `pulumi preview`/`up`). */
export function executorSwitchMessage(from: string, to: string): string {
  return (
    `agent-runtime:executor is "${to}" but this stack's steps were made with "${from}". Switching would change every ` +
    `step's resource type, so the engine would delete each old step — running its undo script: users, sudoers, sshd ` +
    `hardening and the provisioner account removed from every server — before creating it anew. Nothing was changed. ` +
    `Set agent-runtime:executor back to "${from}"; to really switch, drop the old steps from the state without running ` +
    `their undo (pulumi state delete --target-dependents <URN of the agent-runtime executor lock>), then run pulumi up: ` +
    `every step runs again with the new executor (the scripts are idempotent).`
  );
}

interface LockInputs {
  kind: string;
}

// The provider is serialized into the state, with the functions it calls.
const lockProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<LockInputs>, news: LockInputs) {
    if (olds?.kind && olds.kind !== news.kind) {
      const reason = executorSwitchMessage(olds.kind, news.kind);
      return { inputs: news, failures: [{ property: "kind", reason }] };
    }
    return { inputs: news };
  },
  async create(inputs: LockInputs) {
    return { id: `executor-${inputs.kind}`, outs: inputs };
  },
  async diff(_id: string, olds: LockInputs, news: LockInputs) {
    return { changes: olds.kind !== news.kind };
  },
  async update(_id: string, _olds: LockInputs, news: LockInputs) {
    return { outs: news };
  },
};

/** The pure rule the lock's provider applies (exported for tests). */
export const checkExecutorSwitch = (olds: Partial<LockInputs> | undefined, news: LockInputs) => lockProvider.check!(olds ?? {}, news);

/**
 * Records which executor made the stack's steps. Every step waits for it (through the
 * readiness gates), and its check refuses a different executor before anything else
 * runs: the same resource type under either executor, so switching can't slip past it.
 */
export class ExecutorLock extends pulumi.dynamic.Resource {
  declare readonly kind: pulumi.Output<string>;
  constructor(name: string, executor: Executor, opts?: pulumi.CustomResourceOptions) {
    super(lockProvider, name, { kind: executor.kind }, opts);
  }
}
