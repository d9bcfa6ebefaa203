import { Socket } from "node:net";
import { dependentsOf, stepsOf, urnName, type StateResource } from "./stackState";

// forget-server: a dev server died for good. Its steps in the state would make every later
// `up` run their undo scripts on the dead machine (ssh: No route to host) and fail. This
// drops exactly those steps from the state — after proving the old address no longer
// answers — so that the next `up` creates them on the server team.yaml now names.

export interface ForgetPlan {
  server: string;
  /** The dead address the dropped steps last ran on. */
  host: string;
  port: number;
  /** The dead server's steps (dropped; their undo never runs). */
  steps: string[];
  /** Of those, old copies still waiting for their undo after an `up` that failed on the
   *  dead address (their URN is shared with the live copy on the new host, which stays). */
  pendingDeletes: number;
  /** Steps elsewhere that depend on one of them (a lead's hop key made on the dead server):
   *  dropped too, and run again by the next `up` (the scripts are idempotent). */
  dependents: string[];
  /** Whether one resource of the exported state is among the dropped (the exact copy:
   *  a URN can appear twice, the live step on the new host and its old copy). */
  drops(r: StateResource): boolean;
}

/** `host:port` of every address the state's steps of `server` ran on (two after an `up`
 *  that moved the server but failed to undo the old steps). */
export function serverAddresses(resources: StateResource[], server: string): { host: string; port: number }[] {
  const seen = new Map<string, { host: string; port: number }>();
  for (const s of stepsOf(resources)) {
    if (s.server === server && s.connection)
      seen.set(`${s.connection.host}:${s.connection.port}`, { host: s.connection.host, port: s.connection.port });
  }
  return [...seen.values()];
}

/** What forget-server would drop for `server` at the dead address `dead`; throws (naming
 *  the fix) when the state has no steps for it. */
export function planForget(resources: StateResource[], server: string, dead?: { host: string; port: number }): ForgetPlan {
  const all = stepsOf(resources);
  const ofServer = all.filter((s) => s.server === server);
  if (ofServer.length === 0) {
    const known = [...new Set(all.map((s) => s.server))].sort();
    throw new Error(`forget-server: the stack has no steps for "${server}" (servers with steps: ${known.join(", ") || "none"})`);
  }
  const at = dead ?? ofServer.find((s) => s.connection)?.connection;
  if (!at) throw new Error(`forget-server: no step of ${server} records an address`);
  // Steps on the dead address, and the server's local steps (gate, archive pull) unless a
  // live copy on another address exists: those belong to whichever machine the server is.
  const moved = ofServer.some((s) => s.connection && (s.connection.host !== at.host || s.connection.port !== at.port));
  const mine = ofServer.filter((s) =>
    s.connection ? s.connection.host === at.host && s.connection.port === at.port : !moved || s.pendingDelete,
  );
  const urns = mine.map((s) => s.urn);
  const live = new Set(all.filter((s) => !s.pendingDelete && !mine.includes(s)).map((s) => s.urn));
  const dependents = dependentsOf(
    resources,
    urns.filter((u) => !live.has(u)),
  );
  const onDead = (r: StateResource) => {
    const c = (r.inputs?.connection as Record<string, unknown> | undefined) ?? r.inputs ?? {};
    return typeof c.host === "string" ? c.host === at.host && Number(c.port ?? 22) === at.port : !moved || r.delete === true;
  };
  return {
    server,
    host: at.host,
    port: at.port,
    steps: urns,
    pendingDeletes: mine.filter((s) => s.pendingDelete).length,
    // A pending-delete copy's URN lives on in its replacement: nothing depends on it alone.
    dependents,
    drops: (r) => dependents.includes(r.urn) || (urns.includes(r.urn) && onDead(r)),
  };
}

/** The plan as the confirmation text. */
export function describeForget(p: ForgetPlan): string {
  return [
    `${p.server} (at ${p.host}:${p.port}): ${p.steps.length} steps will be dropped from the state, without running their undo there` +
      (p.pendingDeletes ? ` (${p.pendingDeletes} of them old copies left by an up that could not undo them):` : ":"),
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
