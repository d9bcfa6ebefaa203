import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { adminRemoveScript, adminScript } from "../../src/render/bootstrap";
import { helpersRemoveScript, helpersScript } from "../../src/render/helpers";
import { helpers, HELPERS_DIR, renderScript, shq, template } from "../../src/render/script";

// The shared helpers are installed once per server (the lib step) and sourced by every
// other step after templates/lib/load.sh has checked them: the file and every directory
// above it root's alone, no link, the expected hash. Run for real on a scratch tree (root
// only: the check wants root-owned directories all the way up, so the tree is under /run).

describe("rendered steps carry a loader, not the helpers", () => {
  const h = helpers();
  test("the path is named by the content hash", () => {
    expect(h.path).toBe(`${HELPERS_DIR}/common-${h.sha256.slice(0, 12)}.sh`);
    expect(h.text).toBe(template("lib/common.sh"));
  });
  test("a step sources the installed copy; the admin and lib steps and gate/ scripts carry them", () => {
    const step = renderScript("sudoers/remove.sh", { AR_FILE: "agent-runtime-user-olga" });
    expect(step).toContain(`AR_HELPERS=${shq(h.path)}\nAR_HELPERS_SHA256=${h.sha256}\n`);
    expect(step).not.toContain("install_file() {");
    expect(step.length).toBeLessThan(h.text.length);
    const inline = [
      adminScript("agent-runtime", "ssh-ed25519 AAAA x"),
      adminRemoveScript("agent-runtime"),
      helpersScript(),
      helpersRemoveScript(),
    ];
    for (const text of [...inline, renderScript("gate/wait-ssh.sh", {})]) {
      expect(text).toContain("install_file() {");
      expect(text).not.toContain('source "$AR_HELPERS"');
    }
    expect(helpersScript()).toContain(`AR_HELPERS=${shq(h.path)}\nAR_HELPERS_TEXT=${shq(h.text)}\n`);
    expect(helpersRemoveScript()).toContain(`AR_HELPERS_DIR=${shq(HELPERS_DIR)}\n`);
  });
});

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)("templates/lib/load.sh, run (scratch tree under /run)", () => {
  const base = asRoot ? mkdtempSync("/run/agent-runtime-helpers-test-") : "";
  afterAll(() => base && rmSync(base, { recursive: true, force: true }));
  let n = 0;

  /** A fresh tree `<base>/<n>/lib/common-x.sh` holding `text`; returns its paths. */
  function tree(text = helpers().text) {
    const top = path.join(base, String(n++));
    const dir = path.join(top, "lib");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(base, 0o755);
    const file = path.join(dir, "common-x.sh");
    writeFileSync(file, text, { mode: 0o644 });
    return { top, dir, file };
  }
  /** The loader as a step carries it, pointed at `file`, then a line that uses a helper. */
  function load(file: string, sha = helpers().sha256) {
    const script = [
      "set -euo pipefail",
      "AR_WHERE='dev-wes (agent-runtime@192.0.2.10:22)'",
      `AR_HELPERS=${shq(file)}`,
      `AR_HELPERS_SHA256=${sha}`,
      template("lib/load.sh"),
      "declare -F install_file >/dev/null && echo loaded",
    ].join("\n");
    return spawnSync("bash", ["-s"], { input: script, encoding: "utf8" });
  }
  const refused = (r: ReturnType<typeof load>, why: RegExp) => {
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^agent-runtime on dev-wes \(agent-runtime@192\.0\.2\.10:22\): ERROR: the shared helpers this step needs are not usable: /,
    );
    expect(r.stderr).toMatch(/The dev-wes-lib step installs them: run `agent-runtime drift --repair`/);
    expect(r.stderr).toMatch(why);
  };

  test("root's file with the expected hash is sourced", () => {
    const r = load(tree().file);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("loaded\n");
  });
  test("a missing file is refused", () => {
    const t = tree();
    rmSync(t.file);
    refused(load(t.file), /common-x\.sh is missing or not root's alone/);
  });
  test("other content (an older or altered version) is refused", () => {
    const t = tree(helpers().text + "echo extra\n");
    refused(load(t.file), /does not have sha256/);
  });
  test("a group- or other-writable directory anywhere above is refused", () => {
    for (const mode of [0o775, 0o757, 0o777]) {
      const t = tree();
      chmodSync(t.top, mode);
      refused(load(t.file), new RegExp(`${t.top} is missing or not root's alone`));
    }
  });
  test("a file or directory someone else owns is refused", () => {
    const t = tree();
    chownSync(t.file, 65534, 65534);
    refused(load(t.file), /common-x\.sh is missing or not root's alone/);
    const u = tree();
    chownSync(u.dir, 65534, 65534);
    refused(load(u.file), new RegExp(`${u.dir} is missing or not root's alone`));
  });
  test("a symbolic link, to the file or to a directory, is never followed", () => {
    const t = tree();
    const link = path.join(t.top, "link.sh");
    symlinkSync(t.file, link);
    refused(load(link), /link\.sh is missing or not root's alone/);
    const u = tree();
    symlinkSync(u.dir, path.join(u.top, "lib2"));
    refused(load(path.join(u.top, "lib2", "common-x.sh")), /lib2 is missing or not root's alone/);
  });
});
