import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { buildAgentctl } from "../../../src/agentctl/build";

// The bundle is rebuilt only when a file the last build read changed; a bundle is only
// ever taken from a directory that is this user's alone (it is shipped to every server).

const scratch = mkdtempSync(path.join(tmpdir(), "agentctl-build-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const manifestOf = (dir: string) =>
  path.join(
    dir,
    readdirSync(dir).find((f) => f.startsWith("agentctl-inputs-"))!,
  );

describe("buildAgentctl", () => {
  const dir = path.join(scratch, "out");
  test("a second build with the same inputs reuses the bundle; its manifest lists every input with its hash", () => {
    const first = buildAgentctl(dir);
    const manifest = JSON.parse(readFileSync(manifestOf(dir), "utf8")) as { inputs: Record<string, string>; sha256: string };
    expect(Object.keys(manifest.inputs)).toContain(path.resolve(__dirname, "../../../src/agentctl/cli/main.ts"));
    expect(Object.keys(manifest.inputs).some((f) => f.includes("/node_modules/react/"))).toBe(true);
    expect(manifest.sha256).toBe(first.sha256);
    expect(buildAgentctl(dir)).toEqual(first);
  });
  test("a changed input or a changed bundle means a new build", () => {
    const first = buildAgentctl(dir);
    const file = manifestOf(dir);
    const m = JSON.parse(readFileSync(file, "utf8")) as { inputs: Record<string, string> };
    const [input] = Object.keys(m.inputs);
    m.inputs[input!] = "0".repeat(64);
    writeFileSync(file, JSON.stringify(m));
    expect(buildAgentctl(dir)).toEqual(first);
    expect((JSON.parse(readFileSync(file, "utf8")) as typeof m).inputs[input!]).not.toBe("0".repeat(64));
    // A bundle someone altered is never shipped: rebuilt with the right bytes.
    writeFileSync(first.path, "altered");
    expect(buildAgentctl(dir)).toEqual(first);
    expect(readFileSync(first.path).length).toBe(first.bytes);
  });
  test("a build directory others can read or write is refused", () => {
    const open = path.join(scratch, "open");
    buildAgentctl(open);
    chmodSync(open, 0o755);
    expect(() => buildAgentctl(open)).toThrow(/is not a private directory of this user/);
  });
});
