import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";

// Provisioning scripts are real files in templates/; this turns one into the exact text
// a server runs: strict mode, the step's variables (shell-quoted, readable in a diff),
// the shared helpers, then the template. Pure apart from reading the template files.
// The shared helpers (templates/lib/common.sh, 9 KB) are not in each step's text: the
// lib step installs them once per server at a path named by their hash, and every
// other step sources them from there after checking it (templates/lib/load.sh). Each
// step's script and undo would otherwise carry them: ~18 KB per step in the state and
// in every preview's traffic (README "Performance").

/** Repository folder holding the script and config templates. */
export const TEMPLATES_DIR = path.resolve(__dirname, "../../templates");

const cache = new Map<string, string>();

/** Read a template by its path under templates/ (read once per process). */
export function template(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(path.join(TEMPLATES_DIR, name), "utf8");
    cache.set(name, text);
  }
  return text;
}

/** The shared helpers as installed on servers: their text, sha256 and root-owned path. */
export interface Helpers {
  readonly text: string;
  readonly sha256: string;
  readonly path: string;
}

/** Where the lib step installs templates/lib/common.sh: named by its content hash, so a
 *  new version never overwrites one that an undo recorded in the state may still source. */
export const HELPERS_DIR = "/usr/local/lib/agent-runtime/lib";

let installed: Helpers | undefined;

/** The shared helpers of this checkout (templates/lib/common.sh). */
export function helpers(): Helpers {
  if (!installed) {
    const text = template("lib/common.sh");
    const sha256 = createHash("sha256").update(text).digest("hex");
    installed = { text, sha256, path: `${HELPERS_DIR}/common-${sha256.slice(0, 12)}.sh` };
  }
  return installed;
}

/** How a script gets the shared helpers: `installed` sources the server's copy (every
 *  remote step after the lib step), `inline` carries them (the admin and lib steps, which
 *  run before they exist, and the gate/ scripts, which run where `pulumi up` runs). */
export type HelpersMode = "installed" | "inline";

/** Quote for POSIX shells: `it's` → `'it'\''s'`. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Variables passed to a script; names must be shell identifiers. */
export type ScriptVars = Record<string, string | number>;

/** The full text of templates/<name> with its variables and the shared helpers (plus the
 *  ssh client for gate/ scripts). Helpers: see HelpersMode; gate/ scripts always inline. */
export function renderScript(name: string, vars: ScriptVars, mode: HelpersMode = "installed"): string {
  const assigns = Object.entries(vars).map(([k, v]) => {
    if (!/^AR_[A-Z0-9_]+$/.test(k)) throw new Error(`script variable "${k}" must look like AR_NAME`);
    return `${k}=${shq(String(v))}`;
  });
  const h = helpers();
  const inline = mode === "inline" || name.startsWith("gate/");
  // A step that sources the installed helpers carries its template without comment lines
  // (see withoutComments); inline scripts are kept as they are: the admin step's text is
  // frozen (README "Performance"), and the gate scripts run where `pulumi up` runs.
  const body = (t: string) => (inline ? t : withoutComments(t)).trimEnd();
  const lib = inline ? [h.text.trimEnd()] : [`AR_HELPERS=${shq(h.path)}`, `AR_HELPERS_SHA256=${h.sha256}`, body(template("lib/load.sh"))];
  return [
    "#!/bin/bash",
    `# agent-runtime: templates/${name}`,
    "set -euo pipefail",
    "umask 022",
    ...assigns,
    ...lib,
    // Scripts in gate/ run where `pulumi up` runs and reach the server with ssh.
    ...(name.startsWith("gate/") ? [template("lib/ssh-client.sh").trimEnd()] : []),
    body(template(name)),
    "",
  ].join("\n");
}

/**
 * A template without its comment lines: every step's script and undo travel through the
 * engine and the dynamic provider on every preview and live in the state, and a third of
 * their bytes were comments (README "Performance"). The templates keep them; a reviewer
 * reads templates/<name>, which each script names in its second line. Lines inside a
 * here-document are kept whole (they are file content: `# Managed by agent-runtime` in a
 * slice drop-in), and so are `# shellcheck` directives (the rendered scripts are linted).
 * Only whole-line comments go; a unit test has bash itself confirm, for every template,
 * that the script it parses is unchanged.
 */
export function withoutComments(text: string): string {
  const out: string[] = [];
  let heredoc: { end: string; tabs: boolean } | undefined;
  for (const line of text.split("\n")) {
    if (heredoc) {
      out.push(line);
      if ((heredoc.tabs ? line.replace(/^\t+/, "") : line) === heredoc.end) heredoc = undefined;
      continue;
    }
    if (/^\s*#/.test(line) && !/^\s*# shellcheck /.test(line)) continue;
    out.push(line);
    const m = /(?<!<)<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(line);
    if (m) heredoc = { end: m[3]!, tabs: m[1] === "-" };
  }
  return out.join("\n");
}

/** Fill `{{NAME}}` placeholders; every placeholder must be given and every value used. */
export function fill(text: string, values: Record<string, string | number>): string {
  const used = new Set<string>();
  const out = text.replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`template placeholder {{${key}}} has no value`);
    used.add(key);
    return String(values[key]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`values never used by the template: ${unused.join(", ")}`);
  return out;
}
