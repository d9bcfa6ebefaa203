import * as pulumi from "@pulumi/pulumi";
import { etAptLine, renderEtCfg, renderEtPin, renderLauncher } from "../src/render/runtime";
import { renderAgentTmuxConf, renderPamHook, renderPamStack } from "../src/render/containment";
import { renderScript } from "../src/render/script";
import type { EtSettings } from "../src/team/model";
import { remoteScript, type Connection } from "./executor";

export interface RuntimeArgs {
  readonly connection: Connection;
  /** Eternal Terminal source and port. */
  readonly et: EtSettings;
}

/** The script that installs the runtime on a server (exported for render tests). */
export function runtimeScript(et: EtSettings): string {
  return renderScript("runtime/base.sh", {
    AR_ET_SOURCE: et.source,
    AR_ET_APT_LINE: etAptLine(et),
    AR_ET_PIN: renderEtPin(et),
    AR_ET_KEY: et.signingKey ?? "",
    AR_ET_CFG: renderEtCfg(et.port),
    AR_LAUNCHER: renderLauncher(),
    AR_PAM_HOOK: renderPamHook(),
    AR_PAM_STACK: renderPamStack(),
    AR_TMUX_CONF: renderAgentTmuxConf(),
  });
}

/** tmux, et, auditd, journald, the agent-session launcher. Destroy removes our files (packages stay). */
export function installRuntime(name: string, args: RuntimeArgs, opts: pulumi.CustomResourceOptions) {
  return remoteScript(name, { connection: args.connection, script: runtimeScript(args.et), undo: renderScript("runtime/remove.sh", {}) }, opts);
}
