import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, expect, test } from "vitest";

// The PR workflow is linted here with actionlint (built by scripts/setup.sh), so a
// broken workflow fails this suite instead of the first pull request.

const dir = mkdtempSync(path.join(tmpdir(), "workflows-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lint = (target?: string) => spawnSync("bash", ["scripts/lint-workflows.sh", ...(target ? [target] : [])], { encoding: "utf8", timeout: 120_000 });

test("the workflows lint clean", () => {
  const r = lint();
  expect(r.stdout + r.stderr).not.toMatch(/\[[a-z-]+\]/); // actionlint prints [rule] per finding
  expect(r.status).toBe(0);
});

test("a broken copy is rejected (the lint can fail)", () => {
  const text = readFileSync(".github/workflows/access-diff.yml", "utf8").replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    step: []");
  writeFileSync(path.join(dir, "broken.yml"), text.replace("${{ github.base_ref }}", "${{ github.no_such_context }}"));
  const r = lint(dir);
  expect(r.status).not.toBe(0);
  expect(r.stdout).toMatch(/unexpected key "step"|no_such_context/);
});

test("the workflow runs validate and access-diff, comments once, and previews with the official action", () => {
  const text = readFileSync(".github/workflows/access-diff.yml", "utf8");
  expect(text).toMatch(/npx agent-runtime validate team\.yaml/);
  expect(text).toMatch(/npx agent-runtime access-diff --base "origin\/\$BASE_REF" --format markdown/);
  expect(text).toMatch(/uses: marocchino\/sticky-pull-request-comment@v2/);
  expect(text).toMatch(/uses: pulumi\/actions@v6[\s\S]*command: preview[\s\S]*diff: true[\s\S]*comment-on-pr: true/);
});
