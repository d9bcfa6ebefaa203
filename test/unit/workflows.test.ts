import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parse } from "yaml";

// The CI workflow is code: actionlint (built by scripts/lint-workflows.sh from the Go
// module proxy) checks syntax, expressions and every run: script via shellcheck, and
// the tests below pin what the workflow must do for the access diff to be trustworthy.

const ROOT = path.join(__dirname, "..", "..");
const LINT = path.join(ROOT, "scripts", "lint-workflows.sh");
const WORKFLOW = path.join(ROOT, ".github", "workflows", "access-diff.yml");
const text = readFileSync(WORKFLOW, "utf8");
const dir = mkdtempSync(path.join(tmpdir(), "workflows-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lint = (...args: string[]) => spawnSync("bash", [LINT, ...args], { encoding: "utf8", timeout: 290_000 });
// The first run may build actionlint (go install from the proxy): allow minutes, not seconds.
const BUILD_TIMEOUT = 300_000;

/** The workflow with `from` replaced by `to`, written to its own temp dir; fails when `from` is not there. */
function brokenCopy(from: string | RegExp, to: string): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`brokenCopy: ${String(from)} not found`);
  const d = mkdtempSync(path.join(dir, "wf-"));
  writeFileSync(path.join(d, "access-diff.yml"), next);
  return d;
}

describe("actionlint", () => {
  test(
    "the repository's workflows pass",
    () => {
      const r = lint();
      expect(r.stdout + r.stderr).not.toMatch(/\.yml:\d+:\d+:/);
      expect(r.status).toBe(0);
    },
    BUILD_TIMEOUT,
  );

  test.each([
    ["an expression typo", "${{ github.base_ref }}", "${{ github.base_reff }}", /property "base_reff" is not defined/],
    ["a shell syntax error in run:", "            exit 1\n          fi", "            exit 1\n", /shellcheck reported issue/],
    [
      "an unknown job key",
      "    runs-on: ubuntu-24.04\n    timeout-minutes: 15",
      "    runs-onn: ubuntu-24.04\n    timeout-minutes: 15",
      /unexpected key "runs-onn"/,
    ],
  ])(
    "a copy with %s is rejected",
    (_what, from, to, message) => {
      const r = lint(brokenCopy(from, to));
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(message);
    },
    BUILD_TIMEOUT,
  );
});

describe("what the workflow does", () => {
  type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string };
  type Workflow = {
    on: { pull_request: { paths: string[] } };
    permissions: Record<string, string>;
    env?: Record<string, string>;
    jobs: Record<string, { steps: Step[]; if?: string; environment?: string | { name: string } }>;
  };
  const wf = parse(text) as Workflow;
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  const diffSteps = wf.jobs["access-diff"]!.steps;

  test("runs on pull requests touching team.yaml or the program", () => {
    expect(wf.on.pull_request.paths).toEqual(
      expect.arrayContaining(["team.yaml", "index.ts", "components/**", "src/**", "templates/**", "policy/**"]),
    );
    expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  test("every action is pinned to a commit SHA or an exact release", () => {
    const uses = steps.flatMap((s) => (s.uses ? [s.uses] : []));
    expect(uses.length).toBeGreaterThanOrEqual(6);
    for (const u of uses) expect(u).toMatch(/@([0-9a-f]{40}|v\d+\.\d+\.\d+)$/);
  });

  test("history for git show, Node 22, npm ci without scripts, validate, then the diff from the base branch", () => {
    expect(diffSteps[0]).toMatchObject({ uses: expect.stringMatching(/^actions\/checkout@/), with: { "fetch-depth": 0 } });
    expect(diffSteps[1]).toMatchObject({ uses: expect.stringMatching(/^actions\/setup-node@/), with: { "node-version": 22 } });
    const runs = diffSteps.flatMap((s) => (s.run ? [s.run] : []));
    expect(runs[0]).toBe("npm ci --ignore-scripts");
    expect(runs[1]).toBe("npx agent-runtime validate team.yaml");
    expect(runs[2]).toContain('npx agent-runtime access-diff --base "origin/$BASE_REF" --format markdown > diff.md');
    expect(diffSteps.find((s) => s.run?.includes("access-diff"))!.env).toEqual({ BASE_REF: "${{ github.base_ref }}" });
  });

  test("the diff is one sticky comment, updated rather than duplicated", () => {
    const post = diffSteps.find((s) => s.uses?.startsWith("marocchino/sticky-pull-request-comment@"))!;
    expect(post.with).toEqual({ header: "agent-runtime-access-diff", path: "diff.md" });
    expect(post.if).toContain("always()");
  });

  test("pulumi preview --diff through pulumi/actions v6, commenting on the PR, with the policy pack", () => {
    const preview = wf.jobs.preview!.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(preview.uses).toMatch(/^pulumi\/actions@v6\./);
    expect(preview.with).toMatchObject({
      command: "preview",
      diff: true,
      "comment-on-pr": true,
      "stack-name": "${{ vars.PULUMI_STACK }}",
      "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
      policyPacks: "policy",
    });
    expect(wf.jobs.preview!.if).toContain("vars.PULUMI_STACK != ''");
  });

  // The stack's passphrase/token decrypt agent-runtime:adminPrivateKey. They live only in
  // the approval-gated environment; a job outside it may use the automatic GITHUB_TOKEN only.
  const STACK_SECRETS = ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HCLOUD_TOKEN"];
  /** Secrets named (secrets.X, secrets['X'], or the whole context) in a piece of the workflow. */
  const secretsIn = (x: unknown) =>
    [...JSON.stringify(x ?? {}).matchAll(/\bsecrets\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\s*\[\s*\\?["']([^"'\\]+))?/g)].map(
      (m) => m[1] ?? m[2] ?? "(all secrets)",
    );
  /** [job, secret] for every secret other than GITHUB_TOKEN that a job without an environment could read. */
  const ungated = (w: Workflow) => [
    ...secretsIn(w.env)
      .filter((x) => x !== "GITHUB_TOKEN")
      .map((x) => ["(workflow env)", x]),
    ...Object.entries(w.jobs).flatMap(([name, job]) =>
      job.environment
        ? []
        : secretsIn(job)
            .filter((x) => x !== "GITHUB_TOKEN")
            .map((x) => [name, x]),
    ),
  ];

  test("the preview job runs in the approval-gated environment agent-runtime-preview, with the stack's secrets", () => {
    const env = wf.jobs.preview!.environment;
    expect(typeof env === "string" ? env : env?.name).toBe("agent-runtime-preview");
    expect(secretsIn(wf.jobs.preview)).toEqual(expect.arrayContaining(STACK_SECRETS));
  });

  test("no job without an environment references a secret (GITHUB_TOKEN aside); the access diff none at all", () => {
    expect(ungated(wf)).toEqual([]);
    expect(wf.jobs["access-diff"]!.environment).toBeUndefined();
    expect(secretsIn(wf.jobs["access-diff"])).toEqual([]);
  });

  test("the check catches a preview without its environment, and secrets in a job or the workflow env", () => {
    const without = parse(text.replace("    environment: agent-runtime-preview\n", "")) as Workflow;
    expect(without.jobs.preview!.environment).toBeUndefined();
    expect(ungated(without).map(([, x]) => x)).toEqual(expect.arrayContaining(STACK_SECRETS));
    const leaky = parse(text) as Workflow;
    leaky.env = { P: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" };
    leaky.jobs["access-diff"]!.steps.push({ run: "echo", env: { A: "${{ secrets['HCLOUD_TOKEN'] }}", B: "${{ toJSON(secrets) }}" } });
    expect(ungated(leaky)).toEqual([
      ["(workflow env)", "PULUMI_CONFIG_PASSPHRASE"],
      ["access-diff", "HCLOUD_TOKEN"],
      ["access-diff", "(all secrets)"],
    ]);
  });
});
