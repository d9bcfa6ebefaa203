import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shq } from "../src/render/script";
import { SshStep } from "./sshExecutor";

// Every step on a server is one rendered script from templates/, sent as stdin to
// `sudo -n bash -s` over the typed connection. The script text is the resource's input:
// change it and the step re-runs in place (no replacement); leave it and a second `up`
// runs nothing. The undo script (if any) is self-contained in `delete`, because delete
// runs with the inputs recorded at the last successful run.

/** How the provisioner reaches a server. */
export interface Connection {
  host: pulumi.Input<string>;
  port: number;
  user: string;
  privateKey: pulumi.Input<string>;
  /** Which machine this is (provider + address). When it changes, every step is replaced:
   *  undone on the old machine, done on the new one — a visible replacement, never silent. */
  identity?: pulumi.Input<string>;
  /** Executor "ssh" (see sshExecutor.ts): the key file and the pinned host key. */
  ssh?: { keyPath: string; hostKey: string };
}

export interface RemoteScriptArgs {
  connection: Connection;
  /** The rendered script (see src/render/script.ts). */
  script: pulumi.Input<string>;
  /** A rendered script that undoes this step when the resource is deleted. */
  undo?: pulumi.Input<string>;
  /** Keep stdout out of the engine's log (it still lands in state: never print secrets). */
  quiet?: boolean;
  /** One line a reviewer should see in `pulumi preview --diff` (e.g. the sudoers rules),
   *  which otherwise elides long scripts on create. */
  summary?: string;
}

/** A step's resource: either executor gives the script's stdout. */
export type Step = pulumi.CustomResource & { readonly stdout: pulumi.Output<string> };

/** One idempotent provisioning step on a remote server. */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): Step {
  const c = args.connection;
  if (c.ssh) {
    return new SshStep(
      name,
      { host: c.host, port: c.port, user: c.user, keyPath: c.ssh.keyPath, hostKey: c.ssh.hostKey, script: args.script, undo: args.undo, triggers: c.identity ? [c.identity] : [], summary: args.summary },
      opts,
    );
  }
  return new command.remote.Command(
    name,
    {
      connection: {
        host: args.connection.host,
        port: args.connection.port,
        user: args.connection.user,
        privateKey: args.connection.privateKey,
        dialErrorLimit: 10,
        perDialTimeout: 15,
      },
      // A trailing comment is inert for the shell and visible in the preview.
      create: args.summary ? `sudo -n bash -s # ${args.summary.replace(/\n/g, "; ")}` : "sudo -n bash -s",
      stdin: args.script,
      delete: args.undo ? pulumi.output(args.undo).apply((u) => `sudo -n bash -c ${shq(u)}`) : undefined,
      addPreviousOutputInEnv: false,
      triggers: args.connection.identity ? [args.connection.identity] : undefined,
      logging: args.quiet ? "none" : "stdoutAndStderr",
    },
    opts,
  );
}
