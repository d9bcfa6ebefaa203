import { readFileSync } from "node:fs";
import * as path from "node:path";

// Provisioning scripts are real files in templates/; this turns one into the exact text
// a server runs: strict mode, the step's variables (shell-quoted, readable in a diff),
// the shared helpers, then the template. Pure apart from reading the template files.

/** Repository folder holding the script and config templates. */
export const TEMPLATES_DIR = path.resolve(__dirname, "../../templates");

/** Read a template by its path under templates/. */
export function template(name: string): string {
  return readFileSync(path.join(TEMPLATES_DIR, name), "utf8");
}

/** Quote for POSIX shells: `it's` → `'it'\''s'`. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Variables passed to a script; names must be shell identifiers. */
export type ScriptVars = Record<string, string | number>;

/** The full text of templates/<name> with its variables and the shared helpers (plus the ssh client for gate/ scripts). */
export function renderScript(name: string, vars: ScriptVars): string {
  const assigns = Object.entries(vars).map(([k, v]) => {
    if (!/^AR_[A-Z0-9_]+$/.test(k)) throw new Error(`script variable "${k}" must look like AR_NAME`);
    return `${k}=${shq(String(v))}`;
  });
  return [
    "#!/bin/bash",
    `# agent-runtime: templates/${name}`,
    "set -euo pipefail",
    "umask 022",
    ...assigns,
    template("lib/common.sh").trimEnd(),
    // Scripts in gate/ run where `pulumi up` runs and reach the server with ssh.
    ...(name.startsWith("gate/") ? [template("lib/ssh-client.sh").trimEnd()] : []),
    template(name).trimEnd(),
    "",
  ].join("\n");
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
