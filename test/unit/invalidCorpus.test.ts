import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatError, type TeamError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";

// Every file in test/fixtures/invalid/ is a complete team file that is wrong in one way.
// Its leading comment lines say which errors it must produce:
//   # expect: 7:9 developers[1].name: is reserved
// (line:col, data path, and a fragment of the message or hint). A fixture must produce
// exactly those errors: a missing one is a regression, an extra one means the fixture
// (or the validator) is wrong in more than one way.

const DIR = join(__dirname, "..", "fixtures", "invalid");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

interface Expectation {
  line: number;
  col: number;
  path: string;
  fragment: string;
}

const EXPECT_RE = /^#\s*expect:\s*(\d+):(\d+)\s+(\S+):\s+(.+)$/;

/** The `# expect:` lines of the leading comment block. */
function expectations(text: string): Expectation[] {
  const out: Expectation[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    const m = EXPECT_RE.exec(line);
    if (m) out.push({ line: Number(m[1]), col: Number(m[2]), path: m[3]!, fragment: m[4]!.trim() });
  }
  return out;
}

/** Lines of private-key material in the file: bodies of BEGIN … PRIVATE KEY blocks and bare OpenSSH key bodies. */
function privateMaterial(text: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(/^-\s+/, "");
    if (/-----BEGIN [A-Z ]*PRIVATE KEY/.test(line)) inBlock = true;
    else if (/-----END [A-Z ]*PRIVATE KEY/.test(line)) inBlock = false;
    else if (inBlock && line.length >= 16) out.push(line);
    for (const token of line.split(/\s+/)) if (token.startsWith("b3BlbnNzaC1rZXktdjE") && !out.includes(token)) out.push(token);
  }
  return out;
}

/** Every 12-character window of the material that appears in `output` (a truncated echo is still a leak). */
function leaks(material: string[], output: string): string[] {
  const found = new Set<string>();
  for (const m of material) {
    for (let i = 0; i + 12 <= m.length; i++) if (output.includes(m.slice(i, i + 12))) found.add(m.slice(i, i + 12));
  }
  return [...found];
}

const matches = (e: TeamError, x: Expectation) =>
  e.line === x.line && e.col === x.col && e.path === x.path && `${e.message}${e.hint ? ` (${e.hint})` : ""}`.includes(x.fragment);

function load(file: string) {
  const text = readFileSync(join(DIR, file), "utf8");
  return { text, result: parseTeam(text, file) };
}

describe("invalid team files", () => {
  test("the corpus has at least 40 fixtures, uniquely numbered NN-short-name.yaml", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(40);
    for (const f of FILES) expect(f).toMatch(/^\d{2}-[a-z0-9-]+\.yaml$/);
    const numbers = FILES.map((f) => f.slice(0, 2));
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  test("no fixture is accepted", () => {
    const accepted = FILES.filter((f) => load(f).result.ok);
    expect(accepted).toEqual([]);
  });

  test.each(FILES)("%s", (file) => {
    const { text, result } = load(file);
    const wanted = expectations(text);
    expect(wanted.length, "the fixture needs at least one `# expect:` line").toBeGreaterThan(0);
    if (result.ok) throw new Error(`${file} was accepted`);
    const shown = result.errors.map(formatError).join("\n");
    for (const x of wanted) {
      const hit = result.errors.find((e) => matches(e, x));
      expect(hit, `expected ${x.line}:${x.col} ${x.path}: …${x.fragment}… among:\n${shown}`).toBeDefined();
    }
    // Wrong in one way: nothing reported beyond what the fixture expects.
    const unexpected = result.errors.filter((e) => !wanted.some((x) => matches(e, x)));
    expect(unexpected.map(formatError)).toEqual([]);
    expect(result.errors.every((e) => e.file === file)).toBe(true);
  });
});

describe("private keys pasted into team.yaml", () => {
  const withKeys = FILES.filter((f) => privateMaterial(load(f).text).length > 0);

  test("the corpus pastes private keys in several forms", () => {
    // OpenSSH block, PEM RSA, bare body, as sshKeys string, unindented, as hostKey, as host, PGP.
    expect(withKeys.length).toBeGreaterThanOrEqual(8);
  });

  test("the leak detector finds a truncated echo", () => {
    const material = privateMaterial(load(withKeys[0]!).text);
    expect(leaks(material, `x "${material[0]!.slice(5, 45)}" is not allowed`)).not.toEqual([]);
  });

  test.each(withKeys)("%s: formatted errors and JSON never contain key material", (file) => {
    const { text, result } = load(file);
    if (result.ok) throw new Error(`${file} was accepted`);
    const output = `${result.errors.map(formatError).join("\n")}\n${JSON.stringify(result.errors)}`;
    expect(leaks(privateMaterial(text), output)).toEqual([]);
  });
});
