import * as pulumi from "@pulumi/pulumi";
import { sshdRemoveScript, sshdScript, type SshdSettings } from "../src/render/sshd";
import { remoteScript, type Connection } from "./executor";

export interface SshdArgs {
  readonly connection: Connection;
  /** The provisioner account that must keep key login after the reload. */
  readonly admin: string;
  /** Drop-in settings. Defaults to MaxAuthTries 10. */
  readonly settings?: SshdSettings;
  /** Test-only: append an invalid line to prove the sshd -t gate never installs it. */
  readonly broken?: boolean;
}

/** Hardened sshd: 00-agent-runtime.conf behind an `sshd -t` gate; removed again on destroy. */
export function hardenSshd(name: string, args: SshdArgs, opts: pulumi.CustomResourceOptions) {
  return remoteScript(
    name,
    { connection: args.connection, script: sshdScript(args.settings, args.admin, args.broken), undo: sshdRemoveScript() },
    opts,
  );
}
