import { isMap, isPair, isScalar, LineCounter, type Document, type Node } from "yaml";
import { looksPrivate } from "./sshKeys";

/** One validation error, located in the file. */
export interface TeamError {
  file: string;
  line: number;
  col: number;
  /** Data path like `developers[2].sshKeys[0]`. */
  path: string;
  message: string;
  hint?: string;
}

export type PathPart = string | number;

/** `["developers", 2, "sshKeys", 0]` → `developers[2].sshKeys[0]`. */
export function formatPath(path: readonly PathPart[]): string {
  return path.reduce<string>((s, p) => (typeof p === "number" ? `${s}[${p}]` : s ? `${s}.${p}` : p), "") || "(root)";
}

/** `team.yaml:14:7 developers[2].sshKeys[0]: message (hint)`. */
export function formatError(e: TeamError): string {
  return `${e.file}:${e.line}:${e.col} ${e.path}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`;
}

/** Thrown by loadTeam with every error found; `message` lists them all, one per line. */
export class TeamValidationError extends Error {
  constructor(readonly errors: TeamError[]) {
    super(errors.map(formatError).join("\n"));
    this.name = "TeamValidationError";
  }
}

/** Finds positions of data paths in a parsed YAML document. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  /** The closest existing node for the path (the parent when the key is missing), as 1-based line/col. */
  position(path: readonly PathPart[], opts: { key?: boolean } = {}): { line: number; col: number } {
    for (let n = path.length; n >= 0; n--) {
      const prefix = path.slice(0, n);
      if (opts.key && n === path.length && n > 0) {
        const parent = this.doc.getIn(prefix.slice(0, -1), true) as Node | undefined;
        if (isMap(parent)) {
          const pair = parent.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === path[n - 1]);
          const keyNode = pair?.key as Node | undefined;
          if (keyNode?.range) return this.at(keyNode.range[0]);
        }
      }
      const node = (prefix.length ? this.doc.getIn(prefix, true) : this.doc.contents) as Node | undefined | null;
      if (node && typeof node === "object" && "range" in node && node.range) return this.at(node.range[0]);
    }
    return { line: 1, col: 1 };
  }

  /** Build a located error for a data path. */
  error(path: readonly PathPart[], message: string, hint?: string, opts: { key?: boolean } = {}): TeamError {
    return { file: this.file, ...this.position(path, opts), path: formatPath(path), message, ...(hint ? { hint } : {}) };
  }

  private at(offset: number) {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }
}

/** A value quoted in a message: cut to `max` characters, and withheld when it is a private key. */
export function quoted(value: string, max: number): string {
  return looksPrivate(value) ? "(a private key, not shown)" : `"${value.slice(0, max)}"`;
}

/** Levenshtein distance, for "did you mean" hints. */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** `did you mean "mentees"?` when a candidate is close enough, else a list of the valid choices. */
export function suggest(word: string, candidates: readonly string[]): string {
  const best = [...candidates].sort((x, y) => distance(word, x) - distance(word, y))[0];
  if (best !== undefined && distance(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3))) {
    return `did you mean "${best}"?`;
  }
  return `expected one of: ${candidates.join(", ")}`;
}
