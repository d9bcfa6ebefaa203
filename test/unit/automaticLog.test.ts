import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AUTOMATIC_LOG_OFF, engineEnv, TOOLCHAIN_BIN, withoutAutomaticLog } from "../../src/sandbox/engine";

// The private PULUMI_HOMEs of the sandbox and the tests keep no automatic debug log
// (src/sandbox/engine.ts withoutAutomaticLog): a file where the CLI would make logs/.
// Checked against the real CLI: what it writes with and without that file.

const scratch = mkdtempSync(path.join(tmpdir(), "agent-runtime-autolog-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const home = () => {
  const h = path.join(scratch, `home${n++}`);
  mkdirSync(h);
  return h;
};

describe("withoutAutomaticLog", () => {
  test("a fresh home gets the file that says why", () => {
    const h = home();
    withoutAutomaticLog(h, {});
    expect(readFileSync(path.join(h, "logs"), "utf8")).toBe(AUTOMATIC_LOG_OFF);
    withoutAutomaticLog(h, {}); // again: unchanged
    expect(readFileSync(path.join(h, "logs"), "utf8")).toBe(AUTOMATIC_LOG_OFF);
  });
  test("earlier logs of the private home go, the file takes their place", () => {
    const h = home();
    mkdirSync(path.join(h, "logs"));
    writeFileSync(path.join(h, "logs", "pulumi-20261130T120000-1-up.log"), "x");
    withoutAutomaticLog(h, {});
    expect(lstatSync(path.join(h, "logs")).isFile()).toBe(true);
  });
  test("AGENT_RUNTIME_PULUMI_LOGS=1 removes the file and leaves a logs directory alone", () => {
    const h = home();
    withoutAutomaticLog(h, {});
    withoutAutomaticLog(h, { AGENT_RUNTIME_PULUMI_LOGS: "1" });
    expect(existsSync(path.join(h, "logs"))).toBe(false);
    mkdirSync(path.join(h, "logs"));
    writeFileSync(path.join(h, "logs", "kept.log"), "x");
    withoutAutomaticLog(h, { AGENT_RUNTIME_PULUMI_LOGS: "1" });
    expect(readdirSync(path.join(h, "logs"))).toEqual(["kept.log"]);
  });
});

// The toolchain is there in every test run (scripts/test.sh runs setup first).
describe("the real CLI", () => {
  mkdirSync(path.join(scratch, "state", "backend"), { recursive: true });
  const run = (h: string) =>
    spawnSync(path.join(TOOLCHAIN_BIN, "pulumi"), ["stack", "ls", "--all", "--non-interactive"], {
      cwd: scratch,
      env: { ...process.env, ...engineEnv(path.join(scratch, "state")), PULUMI_HOME: h },
      encoding: "utf8",
    });
  test("writes its automatic log without the file, and runs without one with it", () => {
    const logged = home();
    const r1 = run(logged);
    expect(readdirSync(path.join(logged, "logs")).some((f) => /^pulumi-.*\.log$/.test(f))).toBe(true);
    const quiet = home();
    withoutAutomaticLog(quiet, {});
    const r2 = run(quiet);
    expect(lstatSync(path.join(quiet, "logs")).isFile()).toBe(true);
    expect([r1.status, r1.stderr]).toEqual([0, ""]);
    expect([r2.status, r2.stderr]).toEqual([r1.status, r1.stderr]);
  });
});
