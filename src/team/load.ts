import { cmp } from "../byteOrder";
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { checkTeam, sizeBytes } from "./checks";
import { LIMIT_DEFAULTS, MEMORY_HIGH_FRACTION, SERVER_DEFAULTS } from "./defaults";
import { formatPath, Locator, quoted, suggest, TeamValidationError, type PathPart, type TeamError } from "./errors";
import type { Person, ResolvedLimits, ServerSpec, Source, Team } from "./model";
import { TeamSchema, type Limits, type TeamInput } from "./schema";
import { parsePublicKey } from "./sshKeys";

/** Validation outcome: the team, or every error found. */
export type LoadResult = { ok: true; team: Team } | { ok: false; errors: TeamError[] };

/** Read and validate a team file. */
export function loadTeamFile(file: string, displayName = file): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    return { ok: false, errors: [{ file: displayName, line: 1, col: 1, path: "(file)", message: `cannot read: ${(e as Error).message}` }] };
  }
  return parseTeam(text, displayName);
}

/** Like loadTeamFile but throws TeamValidationError listing all errors. */
export function loadTeamOrThrow(file: string, displayName = file): Team {
  const r = loadTeamFile(file, displayName);
  if (!r.ok) throw new TeamValidationError(r.errors);
  return r.team;
}

/** Validate team.yaml text; `file` is only used in messages. */
export function parseTeam(text: string, file = "team.yaml"): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        // linePos is only filled in with prettyErrors (off here), so locate the error from its offset.
        const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, path: "(yaml)", message: e.message.split("\n")[0]!, hint: "fix the YAML syntax" };
      }),
    };
  }
  const at = new Locator(doc, lines, file);
  const raw = doc.toJS() as unknown;
  const parsed = TeamSchema.safeParse(raw ?? {});
  const errors: TeamError[] = parsed.success ? [] : parsed.error.issues.flatMap((i) => issueErrors(i, raw, at));
  errors.push(...checkTeam(raw, at));
  if (errors.length > 0 || !parsed.success) {
    errors.sort((a, b) => a.line - b.line || a.col - b.col);
    return { ok: false, errors: dedupe(errors) };
  }
  return { ok: true, team: normalize(parsed.data, at) };
}

function issueErrors(issue: z.core.$ZodIssue, raw: unknown, at: Locator): TeamError[] {
  const path = issue.path as PathPart[];
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    return issue.keys.map((k) => at.error([...path, k], `unknown key "${k}"`, suggest(k, known), { key: true }));
  }
  if (issue.code === "invalid_value" && "values" in issue) {
    const got = valueAt(raw, path);
    return [at.error(path, `${quoted(String(got), 40)} is not allowed`, suggest(String(got), issue.values.map(String)))];
  }
  if (issue.code === "invalid_type" && path.length === 0) {
    return [
      at.error(
        path,
        `a team file is a mapping with "team:" and "developers:" (this file is a ${Array.isArray(raw) ? "list" : typeof raw})`,
      ),
    ];
  }
  if (issue.code === "invalid_type" && valueAt(raw, path) === undefined) {
    return [at.error(path, `missing required key "${String(path[path.length - 1])}"`, `add it (${issue.expected})`)];
  }
  return [at.error(path, issue.message)];
}

function dedupe(errors: TeamError[]): TeamError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.line}:${e.col}:${e.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function valueAt(raw: unknown, path: readonly PathPart[]): unknown {
  return path.reduce<unknown>((v, p) => (v && typeof v === "object" ? (v as Record<PathPart, unknown>)[p] : undefined), raw);
}

/** The keys the schema allows at a data path (numbers step into arrays). */
function knownKeys(path: readonly PathPart[]): string[] {
  let s: unknown = TeamSchema;
  for (const p of path) s = step(unwrap(s), p);
  const def = (unwrap(s) as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def;
  return Object.keys(def?.shape ?? {});
}

function unwrap(s: unknown): unknown {
  let cur = s as { _zod: { def: { type: string; innerType?: unknown } } };
  while (cur?._zod?.def?.innerType) cur = cur._zod.def.innerType as typeof cur;
  return cur;
}

function step(s: unknown, p: PathPart): unknown {
  const def = (s as { _zod: { def: { type: string; element?: unknown; shape?: Record<string, unknown> } } })._zod.def;
  if (typeof p === "number") return def.element;
  return def.shape?.[p];
}

function normalize(input: TeamInput, at: Locator): Team {
  const src = (path: PathPart[]): Source => ({ line: at.position(path).line, path: formatPath(path) });
  const people: Person[] = input.developers.map((d, i) => {
    const provider = d.server?.provider ?? input.defaults.provider;
    const merged = { ...SERVER_DEFAULTS[provider], ...input.defaults.server[provider], ...d.server, provider };
    return {
      name: d.name,
      role: d.role,
      keys: d.sshKeys.map((k) => {
        const r = parsePublicKey(k);
        if (!r.ok) throw new Error("unreachable: keys were validated");
        return r.key;
      }),
      server: pick(merged) as ServerSpec,
      limits: resolveLimits({ ...LIMIT_DEFAULTS, ...input.defaults.limits, ...d.limits }),
      mentees: [...(d.mentees ?? [])].sort(),
      forwarding: d.forwarding,
      source: {
        entry: src(["developers", i]),
        role: src(d.role ? ["developers", i, "role"] : ["developers", i]),
        mentees: Object.fromEntries((d.mentees ?? []).map((m, j) => [m, src(["developers", i, "mentees", j])])),
      },
    };
  });
  people.sort((a, b) => cmp(a.name, b.name));
  return {
    name: input.team,
    file: at.file,
    allowFrom: input.defaults.allowFrom,
    allowWorld: input.defaults.allowWorld,
    et: input.defaults.et,
    people,
  };
}

function pick(s: Record<string, unknown> & { provider: string }): ServerSpec {
  const keys = {
    existing: ["host", "port", "adminUser", "hostKey"],
    hcloud: ["serverType", "image", "location"],
    aws: ["instanceType", "volumeSize"],
  }[s.provider]!;
  return Object.fromEntries([["provider", s.provider], ...keys.map((k) => [k, s[k]])]) as ServerSpec;
}

/** Fill memoryHigh from memory when absent. */
export function resolveLimits(l: Limits): ResolvedLimits {
  const memoryHigh = l.memoryHigh ?? `${Math.floor((sizeBytes(l.memory) * MEMORY_HIGH_FRACTION) / 1024 ** 2)}M`;
  return { cpu: l.cpu, memory: l.memory, memoryHigh, tasks: l.tasks };
}
