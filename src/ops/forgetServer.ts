import { Socket } from "node:net";
import { dependentsOf, stepsOf, urnName, type StateResource } from "./stackState";

// forget-server: a dev server died for good. Its steps in the state would make every later
// `up` run their undo scripts on the dead machine (ssh: No route to host) and fail. This
// drops exactly those steps from the state — after proving the old address no longer
// answers — so that the next `up` creates them on the server team.yaml now names.

export interface ForgetPlan {
  server: string;
  /** Where the server's steps last ran. */
  host: string;
  port: number;
  /** The dead server's steps (dropped; their undo never runs). */
  steps: string[];
  /** Steps elsewhere that depend on one of them (a lead's hop key made on the dead server):
   *  dropped too, and run again by the next `up` (the scripts are idempotent). */
  dependents: string[];
}

/** What forget-server would drop for `server`; throws (naming the fix) when the state has no steps for it. */
export function planForget(resources: StateResource[], server: string): ForgetPlan {
  const all = stepsOf(resources);
  const mine = all.filter((s) => s.server === server);
  if (mine.length === 0) {
    const known = [...new Set(all.map((s) => s.server))].sort();
    throw new Error(`forget-server: the stack has no steps for "${server}" (servers with steps: ${known.join(", ") || "none"})`);
  }
  const c = mine.find((s) => s.connection)?.connection;
  if (!c) throw new Error(`forget-server: no step of ${server} records an address`);
  const urns = mine.map((s) => s.urn);
  return { server, host: c.host, port: c.port, steps: urns, dependents: dependentsOf(resources, urns) };
}

/** The plan as the confirmation text. */
export function describeForget(p: ForgetPlan): string {
  return [
    `${p.server} (last reached at ${p.host}:${p.port}): ${p.steps.length} steps will be dropped from the state, without running their undo there:`,
    ...p.steps.map((u) => `  - ${urnName(u)}`),
    ...(p.dependents.length
      ? [
          `${p.dependents.length} steps on other servers depend on them (a key made on ${p.server}); dropped too, and run again by the next up:`,
          ...p.dependents.map((u) => `  - ${urnName(u)}`),
        ]
      : []),
    `Nothing on any server is changed now. Offboarding archives still on ${p.server} are not copied (it is unreachable).`,
  ].join("\n");
}

/** One TCP connect attempt; resolves with what happened ("connected", "refused", or the error code). */
function connectOnce(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (what: string) => {
      s.destroy();
      resolve(what);
    };
    s.setTimeout(timeoutMs, () => done("timeout"));
    s.once("connect", () => done("connected"));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : (e.code ?? e.message)));
    s.connect(port, host);
  });
}

/** Bounded proof that host:port is gone: `tries` connects, each at most `timeoutMs`. Resolves
 *  with undefined when none got an answer; otherwise with what answered. A refused
 *  connection counts as an answer (a machine is there). */
export async function provedUnreachable(host: string, port: number, tries = 3, timeoutMs = 3000): Promise<string | undefined> {
  const seen: string[] = [];
  for (let i = 0; i < tries; i++) {
    const r = await connectOnce(host, port, timeoutMs);
    if (r === "connected" || r === "refused")
      return `${host}:${port} answered (${r === "connected" ? "ssh port open" : "connection refused: a machine is there"})`;
    seen.push(r);
    await new Promise((res) => setTimeout(res, 500));
  }
  return undefined;
}
