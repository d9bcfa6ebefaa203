import * as pulumi from "@pulumi/pulumi";
import type { ServerPlan } from "../src/plan/access";
import { renderScript } from "../src/render/script";
import { renderHumanSudoers, renderSudoDefaults, SUDO_DEFAULTS_FILE, sudoersFileName } from "../src/render/sudoers";
import type { DevServer } from "./devServer";
import { remoteScript } from "./executor";

// sudoers.d files on one server: the shared defaults, then one file per human with
// grants there. Each is installed through visudo (templates/sudoers/install.sh);
// revoking a grant rewrites or deletes exactly that human's file on that server.

/** Script installing one sudoers.d file (exported for render tests). */
export function sudoersScript(file: string, content: string): string {
  return renderScript("sudoers/install.sh", { AR_FILE: file, AR_CONTENT: content });
}

/** Revoke: remove the file and list the reached agents' crontabs and user units. */
export const removeFile = (file: string) => renderScript("sudoers/remove.sh", { AR_FILE: file });

/** The content of each human's file on this server, keyed by human. */
export function sudoersFiles(plan: ServerPlan, broken: readonly string[] = []): Record<string, string> {
  const humans = [...new Set(plan.grants.map((g) => g.human))].sort();
  return Object.fromEntries(
    humans.map((h) => {
      const text = renderHumanSudoers(plan.name, h, plan.grants);
      // Test-only seam: a line visudo rejects, to prove it is never installed.
      return [h, broken.includes(h) ? `${text}${h} ALL=(wes-agent NOPASSWD ALL\n` : text];
    }),
  );
}

/** The rule lines of a sudoers file (what a reviewer must see). */
export const rulesOf = (content: string) => content.split("\n").filter((l) => / ALL=\(/.test(l)).join("\n");

/** Defaults file plus one validated file per human; each waits for the users it names. */
export function writeSudoers(server: DevServer, plan: ServerPlan, users: pulumi.Resource[], broken: readonly string[] = []): pulumi.Resource[] {
  const conn = server.connection;
  const defaults = remoteScript(
    `${plan.name}-sudoers-defaults`,
    { connection: conn, script: sudoersScript(SUDO_DEFAULTS_FILE, renderSudoDefaults()), undo: removeFile(SUDO_DEFAULTS_FILE) },
    { parent: server, dependsOn: server.base },
  );
  const files = Object.entries(sudoersFiles(plan, broken)).map(([human, content]) => {
    const file = sudoersFileName(human);
    return remoteScript(
      `${plan.name}-sudoers-${human}`,
      { connection: conn, script: sudoersScript(file, content), undo: removeFile(file), summary: rulesOf(content) },
      { parent: server, dependsOn: [defaults, ...users] },
    );
  });
  return [defaults, ...files];
}
