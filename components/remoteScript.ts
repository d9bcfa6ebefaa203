import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { shq } from "../src/render/script";

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
}

export interface RemoteScriptArgs {
  connection: Connection;
  /** The rendered script (see src/render/script.ts). */
  script: pulumi.Input<string>;
  /** A rendered script that undoes this step when the resource is deleted. */
  undo?: pulumi.Input<string>;
  /** Keep stdout out of the engine's log (it still lands in state: never print secrets). */
  quiet?: boolean;
}

/** One idempotent provisioning step on a remote server. */
export function remoteScript(name: string, args: RemoteScriptArgs, opts: pulumi.CustomResourceOptions): command.remote.Command {
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
      create: "sudo -n bash -s",
      stdin: args.script,
      delete: args.undo ? pulumi.output(args.undo).apply((u) => `sudo -n bash -c ${shq(u)}`) : undefined,
      addPreviousOutputInEnv: false,
      triggers: args.connection.identity ? [args.connection.identity] : undefined,
      logging: args.quiet ? "none" : "stdoutAndStderr",
    },
    opts,
  );
}
