import * as pulumi from "@pulumi/pulumi";
import { runtimeRemoveScript, runtimeScript } from "../src/render/runtime";
import type { EtSettings } from "../src/team/model";
import { remoteScript, type Connection } from "./executor";

export interface RuntimeArgs {
  readonly connection: Connection;
  /** Eternal Terminal source and port. */
  readonly et: EtSettings;
}

/** tmux, et, auditd, journald, node, the PAM hook. Destroy removes our files (packages stay). */
export function installRuntime(name: string, args: RuntimeArgs, opts: pulumi.CustomResourceOptions) {
  return remoteScript(name, { connection: args.connection, script: runtimeScript(args.et), undo: runtimeRemoveScript() }, opts);
}
