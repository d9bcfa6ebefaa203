import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import {
  renderSudoDefaults,
  rulesOf,
  SUDO_DEFAULTS_FILE,
  sudoersFileName,
  sudoersFiles,
  sudoersRemoveScript,
  sudoersScript,
} from "../src/render/sudoers";
import type { DevServer } from "./devServer";
import { remoteScript } from "./executor";
import { stepOpts } from "./linuxUsers";

// sudoers.d files on one server: the shared defaults, then one file per human with
// grants there (contents and scripts: src/render/sudoers.ts).

/** Defaults file plus one validated file per human; each waits for the users it names. */
export function writeSudoers(
  access: pulumi.Resource,
  server: DevServer,
  plan: ServerPlan,
  users: pulumi.Resource[],
  broken: readonly string[] = [],
): pulumi.Resource[] {
  const conn = server.connection;
  const defaults = remoteScript(
    `${plan.name}-sudoers-defaults`,
    { connection: conn, script: sudoersScript(SUDO_DEFAULTS_FILE, renderSudoDefaults()), undo: sudoersRemoveScript(SUDO_DEFAULTS_FILE) },
    stepOpts(access, server),
  );
  const files = Object.entries(sudoersFiles(plan, broken)).map(([human, content]) => {
    const file = sudoersFileName(human);
    return remoteScript(
      `${plan.name}-sudoers-${human}`,
      { connection: conn, script: sudoersScript(file, content), undo: sudoersRemoveScript(file), summary: rulesOf(content) },
      stepOpts(access, server, [defaults, ...users]),
    );
  });
  return [defaults, ...files];
}
