import { cmp } from "../byteOrder";
import type { AgentPlan, Grant, GrantReason, HumanPlan, ServerPlan, TeamPlan } from "./access";
import type { ResolvedLimits, ServerSpec, Team } from "../team/model";
import { parsePublicKey, type SshPublicKey } from "../team/sshKeys";

// base plan vs head plan → who gains or loses which access where. Pure data, no I/O, no
// @pulumi import: `access-diff` prints it on every pull request that touches team.yaml,
// so a reviewer sees grants and keys change before anything is applied. Keys appear only
// as fingerprints: the comment is public, the key text never needs to be.

/** `+` added, `-` removed, `~` changed in place. */
export type Op = "+" | "-" | "~";

/** A key as a diff shows it (fingerprint, algorithm, comment), never the key text. */
export interface KeyRef {
  fingerprint: string;
  type: string;
  comment: string;
}

/** A sudo right gained, lost, or changed (reason or recording). */
export interface GrantChange {
  op: Op;
  human: string;
  target: string;
  reason: GrantReason;
  recorded: boolean;
  /** team.yaml line causing it: in head for `+`/`~`, in base for `-`. */
  line: number;
  /** The old reason and recording, for `~`. */
  was?: { reason: GrantReason; recorded: boolean };
}

/** A human user created or removed on a server, with the keys and forwarding it carries. */
export interface HumanChange {
  op: "+" | "-";
  human: string;
  keys: KeyRef[];
  hopFrom?: string;
  forwarding: boolean;
}

/** A key authorized or revoked for a human who stays on the server. */
export interface KeyChange {
  op: "+" | "-";
  human: string;
  key: KeyRef;
}

/** ssh forwarding turned on or off for a human who stays on the server. */
export interface ForwardingChange {
  human: string;
  from: boolean;
  to: boolean;
}

/** One field's old and new value (null: absent on that side). */
export interface FieldChange {
  field: string;
  from: string | null;
  to: string | null;
}

/** An agent user created, removed, or with changed limits (`changes` for `~`). */
export interface AgentChange {
  op: Op;
  agent: string;
  limits: ResolvedLimits;
  changes: FieldChange[];
}

/** Everything that changes on one server. */
export interface ServerDiff {
  server: string;
  owner: string;
  status: "created" | "destroyed" | "changed";
  grants: GrantChange[];
  humans: HumanChange[];
  keys: KeyChange[];
  forwarding: ForwardingChange[];
  agents: AgentChange[];
  spec: FieldChange[];
}

/** Counts for the summary line; all zero means no access change. */
export interface DiffSummary {
  serversCreated: number;
  serversDestroyed: number;
  serversChanged: number;
  grantsAdded: number;
  grantsRemoved: number;
  grantsChanged: number;
  humansCreated: number;
  humansRemoved: number;
  keysAdded: number;
  keysRemoved: number;
  forwardingChanged: number;
  limitsChanged: number;
  teamChanges: number;
}

/** The whole structured diff: team-wide settings first, then servers by name. */
export interface AccessDiff {
  team: string;
  empty: boolean;
  summary: DiffSummary;
  /** Team-wide: name, allowFrom (cloud firewalls), allowWorld, et port. */
  teamChanges: FieldChange[];
  servers: ServerDiff[];
}

/** Names of the two sides, for headings. */
export interface DiffLabels {
  base: string;
  head: string;
}

const keyRef = (k: SshPublicKey): KeyRef => ({ fingerprint: k.fingerprint, type: k.type, comment: k.comment });
const byName = <T>(items: readonly T[], name: (t: T) => string) => new Map(items.map((t) => [name(t), t]));
const sortedUnion = (a: Iterable<string>, b: Iterable<string>) => [...new Set([...a, ...b])].sort(cmp);
const grantKey = (g: Grant) => `${g.human}\u0000${g.target}`;
const LIMIT_FIELDS = ["cpu", "memory", "memoryHigh", "tasks"] as const;

/** What changes in access between two plans of the same repository; deterministic order. */
export function diffPlans(base: TeamPlan, head: TeamPlan, baseTeam: Team, headTeam: Team): AccessDiff {
  const b = byName(base.servers, (s) => s.name);
  const h = byName(head.servers, (s) => s.name);
  const servers = sortedUnion(b.keys(), h.keys())
    .map((name) => diffServer(b.get(name), h.get(name)))
    .filter((d): d is ServerDiff => d !== undefined);
  const teamChanges = diffTeamSettings(baseTeam, headTeam);
  const summary = summarize(servers, teamChanges);
  const empty = Object.values(summary).every((n) => n === 0);
  return { team: headTeam.name, empty, summary, teamChanges, servers };
}

function diffServer(base: ServerPlan | undefined, head: ServerPlan | undefined): ServerDiff | undefined {
  const any = (head ?? base)!;
  const status = !base ? "created" : !head ? "destroyed" : "changed";
  const d: ServerDiff = {
    server: any.name,
    owner: any.owner,
    status,
    grants: diffGrants(base?.grants ?? [], head?.grants ?? []),
    humans: [],
    keys: [],
    forwarding: [],
    agents: diffAgents(base?.agents ?? [], head?.agents ?? []),
    spec: diffFields(base ? specFields(base.spec) : {}, head ? specFields(head.spec) : {}),
  };
  const bh = byName(base?.humans ?? [], (x) => x.name);
  const hh = byName(head?.humans ?? [], (x) => x.name);
  for (const name of sortedUnion(bh.keys(), hh.keys())) {
    const [was, now] = [bh.get(name), hh.get(name)];
    if (was && now) {
      d.keys.push(...diffKeys(name, was, now));
      if (was.forwarding !== now.forwarding) d.forwarding.push({ human: name, from: was.forwarding, to: now.forwarding });
    } else d.humans.push(humanChange(now ? "+" : "-", (now ?? was)!));
  }
  const changed = d.grants.length + d.humans.length + d.keys.length + d.forwarding.length + d.agents.length + d.spec.length > 0;
  return status !== "changed" || changed ? d : undefined;
}

function humanChange(op: "+" | "-", h: HumanPlan): HumanChange {
  return { op, human: h.name, keys: h.keys.map(keyRef), ...(h.hopFrom ? { hopFrom: h.hopFrom } : {}), forwarding: h.forwarding };
}

function diffGrants(base: Grant[], head: Grant[]): GrantChange[] {
  const b = byName(base, grantKey);
  const h = byName(head, grantKey);
  const out: GrantChange[] = [];
  for (const k of sortedUnion(b.keys(), h.keys())) {
    const [was, now] = [b.get(k), h.get(k)];
    const g = (now ?? was)!;
    const row = { human: g.human, target: g.target, reason: g.reason, recorded: g.ioLog, line: g.source.line };
    if (!was) out.push({ op: "+", ...row });
    else if (!now) out.push({ op: "-", ...row });
    else if (was.reason !== now.reason || was.ioLog !== now.ioLog)
      out.push({ op: "~", ...row, was: { reason: was.reason, recorded: was.ioLog } });
  }
  return out;
}

function diffKeys(human: string, was: HumanPlan, now: HumanPlan): KeyChange[] {
  const b = byName(was.keys, (k) => k.fingerprint);
  const h = byName(now.keys, (k) => k.fingerprint);
  // Removals first: a rotation reads "- old, + new".
  return [
    ...[...b.keys()]
      .filter((f) => !h.has(f))
      .sort(cmp)
      .map((f): KeyChange => ({ op: "-", human, key: keyRef(b.get(f)!) })),
    ...[...h.keys()]
      .filter((f) => !b.has(f))
      .sort(cmp)
      .map((f): KeyChange => ({ op: "+", human, key: keyRef(h.get(f)!) })),
  ];
}

function diffAgents(base: AgentPlan[], head: AgentPlan[]): AgentChange[] {
  const b = byName(base, (a) => a.name);
  const h = byName(head, (a) => a.name);
  return sortedUnion(b.keys(), h.keys()).flatMap((name): AgentChange[] => {
    const [was, now] = [b.get(name), h.get(name)];
    if (!was) return [{ op: "+", agent: name, limits: now!.limits, changes: [] }];
    if (!now) return [{ op: "-", agent: name, limits: was.limits, changes: [] }];
    const str = (l: ResolvedLimits) => Object.fromEntries(LIMIT_FIELDS.map((f) => [f, String(l[f])]));
    const changes = diffFields(str(was.limits), str(now.limits));
    return changes.length ? [{ op: "~", agent: name, limits: now.limits, changes }] : [];
  });
}

/** Flat, printable server settings; an existing host's pinned key shows as its fingerprint. */
function specFields(spec: ServerSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (v === undefined) continue;
    const key = k === "hostKey" ? parsePublicKey(String(v)) : undefined;
    out[k] = key?.ok ? key.key.fingerprint : String(v);
  }
  return out;
}

function diffFields(base: Record<string, string>, head: Record<string, string>): FieldChange[] {
  return sortedUnion(Object.keys(base), Object.keys(head))
    .filter((f) => base[f] !== head[f])
    .map((f) => ({ field: f, from: base[f] ?? null, to: head[f] ?? null }));
}

function diffTeamSettings(base: Team, head: Team): FieldChange[] {
  const scalar = diffFields(
    { name: base.name, allowWorld: String(base.allowWorld), etPort: String(base.et.port) },
    { name: head.name, allowWorld: String(head.allowWorld), etPort: String(head.et.port) },
  );
  const [was, now] = [new Set(base.allowFrom), new Set(head.allowFrom)];
  const cidrs = sortedUnion(was, now)
    .filter((c) => was.has(c) !== now.has(c))
    .map((c) => ({ field: "allowFrom", from: was.has(c) ? c : null, to: now.has(c) ? c : null }));
  return [...scalar, ...cidrs];
}

function summarize(servers: ServerDiff[], teamChanges: FieldChange[]): DiffSummary {
  const count = <T>(pick: (s: ServerDiff) => T[], ok: (t: T) => boolean) => servers.reduce((n, s) => n + pick(s).filter(ok).length, 0);
  const status = (st: ServerDiff["status"]) => servers.filter((s) => s.status === st).length;
  return {
    serversCreated: status("created"),
    serversDestroyed: status("destroyed"),
    serversChanged: status("changed"),
    grantsAdded: count(
      (s) => s.grants,
      (g) => g.op === "+",
    ),
    grantsRemoved: count(
      (s) => s.grants,
      (g) => g.op === "-",
    ),
    grantsChanged: count(
      (s) => s.grants,
      (g) => g.op === "~",
    ),
    humansCreated: count(
      (s) => s.humans,
      (x) => x.op === "+",
    ),
    humansRemoved: count(
      (s) => s.humans,
      (x) => x.op === "-",
    ),
    keysAdded: count(
      (s) => s.keys,
      (k) => k.op === "+",
    ),
    keysRemoved: count(
      (s) => s.keys,
      (k) => k.op === "-",
    ),
    forwardingChanged: count(
      (s) => s.forwarding,
      () => true,
    ),
    limitsChanged: count(
      (s) => s.agents,
      (a) => a.op === "~",
    ),
    teamChanges: teamChanges.length,
  };
}
