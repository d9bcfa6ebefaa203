import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import {
  AUDIT_BASE_FILE,
  AUDIT_WATCH_FILE,
  auditKernelSettings,
  auditScript,
  auditUndoScript,
  renderAuditBaseRules,
  renderAuditdSettings,
  renderAuditWatches,
} from "../../src/render/audit";
import { renderAgentAuditRules } from "../../src/render/runtime";

// The audit step: what the agent must not be able to erase or flood away. Renders are
// snapshot-tested and checked for the properties that matter; the scripts are linted and
// then run for real against a scratch root with the host tools stubbed (root only:
// install_file sets root ownership), twice, to prove the second run changes nothing.

const scratch = mkdtempSync(path.join(tmpdir(), "audit-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const settings = Object.fromEntries(
  renderAuditdSettings()
    .trimEnd()
    .split("\n")
    .map((l) => l.split(" = ") as [string, string]),
);

describe("kernel settings (base rules)", () => {
  test("snapshot", () => expect(renderAuditBaseRules()).toMatchSnapshot());

  test("wait for auditd rather than drop; never panic; no rate limit", () => {
    const k = auditKernelSettings();
    expect(k).toEqual({ backlog_limit: 16384, backlog_wait_time: 60000, rate_limit: 0, failure: 1 });
    // The kernel refuses more than 10 x 60 x HZ; 60000 is accepted at HZ=100 and above.
    expect(k.backlog_wait_time).toBeGreaterThan(0);
    expect(k.backlog_wait_time).toBeLessThanOrEqual(60000);
  });

  test("only settings belong in the base file: -e 2 (or a rule) is refused", () => {
    expect(() => auditKernelSettings(`${renderAuditBaseRules()}-e 2\n`)).toThrow(/unexpected line "-e 2"/);
    expect(() => auditKernelSettings("-D\n-b 1\n")).toThrow(/no backlog_wait_time/);
  });

  test("augenrules order (ls -v): the base file comes after Debian's audit.rules and every numbered file; the watches before the per-agent rules", () => {
    const dir = mkdtempSync(path.join(scratch, "order-"));
    const names = [
      "audit.rules",
      "10-base-config.rules",
      "99-finalize.rules",
      "60-agent-runtime-wes-agent.rules",
      AUDIT_WATCH_FILE,
      AUDIT_BASE_FILE,
      "zz-site.rules",
    ];
    for (const n of names) writeFileSync(path.join(dir, n), "");
    const order = spawnSync("ls", ["-1v", dir], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(order.indexOf(AUDIT_BASE_FILE)).toBeGreaterThan(order.indexOf("audit.rules"));
    expect(order.indexOf(AUDIT_BASE_FILE)).toBeGreaterThan(order.indexOf("99-finalize.rules"));
    expect(order.indexOf(AUDIT_WATCH_FILE)).toBeLessThan(order.indexOf("60-agent-runtime-wes-agent.rules"));
  });
});

describe("watches", () => {
  const rules = renderAuditWatches()
    .split("\n")
    .filter((l) => l.startsWith("-"));
  const keyOf = Object.fromEntries(rules.map((l) => [l.split(" ")[1]!, l.split(" -k ")[1]!]));

  test("snapshot", () => expect(renderAuditWatches()).toMatchSnapshot());

  test("every line is a write/attribute watch on an absolute path with an agent-runtime key", () => {
    for (const l of rules) expect(l).toMatch(/^-w \/[^\s*?]+ -p wa -k agent-runtime-[a-z]+$/);
    expect(new Set(Object.keys(keyOf)).size).toBe(rules.length);
  });

  test.each([
    ["/etc/sudoers", "agent-runtime-sudoers"],
    ["/etc/sudoers.d/", "agent-runtime-sudoers"],
    ["/etc/sudo.conf", "agent-runtime-sudoers"],
    ["/var/log/sudo.log", "agent-runtime-sudolog"],
    ["/var/log/sudo-io/", "agent-runtime-sudolog"],
    ["/etc/ssh/sshd_config", "agent-runtime-sshd"],
    ["/etc/ssh/sshd_config.d/", "agent-runtime-sshd"],
    ["/etc/pam.d/", "agent-runtime-pam"],
    ["/etc/security/", "agent-runtime-pam"],
    ["/var/spool/cron/", "agent-runtime-cron"],
    ["/etc/audit/", "agent-runtime-audit"],
    ["/var/log/audit/", "agent-runtime-audit"],
  ])("%s is watched under %s", (p, key) => expect(keyOf[p]).toBe(key));

  test("the keys never collide with the per-agent execve keys", () => {
    const agentKey = renderAgentAuditRules("wes-agent", "wes").match(/-k (\S+)/)![1]!;
    expect(agentKey).toBe("agent-exec-wes-agent");
    for (const k of Object.values(keyOf)) expect(agentKey.startsWith(k)).toBe(false);
  });
});

describe("auditd.conf settings", () => {
  test("snapshot", () => expect(renderAuditdSettings()).toMatchSnapshot());

  test("logs are kept, never rotated away; every low-disk action alerts and keeps auditing", () => {
    expect(settings).toMatchObject({ max_log_file_action: "keep_logs", log_group: "root", log_format: "enriched", write_logs: "yes" });
    for (const k of ["space_left_action", "admin_space_left_action", "disk_full_action", "disk_error_action"])
      expect(settings[k], k).toBe("syslog");
    expect(Object.values(settings).join(" ")).not.toMatch(/\b(rotate|suspend|halt|single|ignore)\b/i);
  });

  test("space_left is above admin_space_left (auditd refuses to start otherwise)", () => {
    const pct = (v: string) => Number(/^(\d+)%$/.exec(v)![1]);
    expect(pct(settings.space_left!)).toBeGreaterThan(pct(settings.admin_space_left!));
  });

  test("a malformed or repeated line is refused", () => {
    expect(() => renderAuditdSettings("num_logs=5\n")).toThrow(/not a "key = value" line/);
    expect(() => renderAuditdSettings("num_logs = 5\nnum_logs = 6\n")).toThrow(/num_logs set twice/);
  });
});

describe("scripts", () => {
  const scripts = { apply: auditScript(), undo: auditUndoScript() };

  test("snapshots", () => {
    expect(scripts.apply).toMatchSnapshot();
    expect(scripts.undo).toMatchSnapshot();
  });

  // shellcheck comes from scripts/setup.sh; a missing linter fails here rather than skipping.
  test.each(Object.keys(scripts))("%s passes shellcheck and bash -n", (name) => {
    const text = scripts[name as keyof typeof scripts];
    const sc = spawnSync("shellcheck", ["-x", "-s", "bash", "-S", "warning", "-"], { input: text, encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
    expect(spawnSync("bash", ["-n"], { input: text, encoding: "utf8" }).stderr).toBe("");
  });
});

// ---- the scripts, run ------------------------------------------------------------------

/** Debian 12's auditd.conf, shortened, plus what a hand-edited file may hold. */
const STOCK_CONF = `#
# This file controls the configuration of the audit daemon
#

local_events = yes
write_logs = yes
log_file = /var/log/audit/audit.log
log_group = adm
log_format = ENRICHED
flush = INCREMENTAL_ASYNC
max_log_file = 8
num_logs = 5
Max_Log_File_Action = ROTATE
space_left = 75
space_left_action = SYSLOG
##space_left_action = email
admin_space_left = 50
admin_space_left_action = SUSPEND
disk_full_action = SUSPEND
disk_full_action = HALT
plugin_dir = /etc/audit/plugins.d
`;

const STUBS: Record<string, string> = {
  "dpkg-query": `echo "install ok installed"`,
  "systemd-detect-virt": `[[ -f $STUB/container ]]`,
  systemctl: `echo "systemctl $*" >> "$STUB/calls"
case $1 in
  is-active) if [[ -f $STUB/active ]]; then [[ $2 == --quiet ]] || echo active; else [[ $2 == --quiet ]] || echo inactive; exit 3; fi ;;
  enable) touch "$STUB/active" ;;
esac`,
  augenrules: `echo "augenrules $*" >> "$STUB/calls"; echo "No change"; [[ ! -f $STUB/augenrules-fails ]] || { echo "Error sending add rule data request (Operation not permitted)" >&2; exit 1; }`,
  auditctl: `echo "auditctl $*" >> "$STUB/calls"
case $1 in
  -s) cat "$STUB/status" ;;
  -l) printf -- '-w /etc/sudoers -p wa -k agent-runtime-sudoers\\n-w /etc/pam.d -p wa -k agent-runtime-pam\\n-a always,exit -F arch=b64 -S execve -F uid=1001 -F key=agent-exec-wes-agent\\n' ;;
esac`,
  journalctl: `echo "auditd journal"`,
};
const GOOD_STATUS = "enabled 1\nfailure 1\npid 123\nrate_limit 0\nbacklog_limit 16384\nlost 0\nbacklog 0\nbacklog_wait_time 60000\n";

interface Host {
  root: string;
  stub: string;
  run: (script: string) => { status: number | null; stdout: string; stderr: string };
  calls: () => string[];
  conf: () => string;
}

function host(opts: { container: boolean; active?: boolean; status?: string; augenrulesFails?: boolean }): Host {
  const dir = mkdtempSync(path.join(scratch, "host-"));
  const root = path.join(dir, "root");
  const stub = path.join(dir, "stub");
  const bin = path.join(stub, "bin");
  mkdirSync(path.join(root, "etc/audit/rules.d"), { recursive: true, mode: 0o755 });
  mkdirSync(path.join(root, "var/log/audit"), { recursive: true, mode: 0o755 });
  writeFileSync(path.join(root, "etc/audit/auditd.conf"), STOCK_CONF, { mode: 0o640 });
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(path.join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  if (opts.container) writeFileSync(path.join(stub, "container"), "");
  if (opts.active) writeFileSync(path.join(stub, "active"), "");
  if (opts.augenrulesFails) writeFileSync(path.join(stub, "augenrules-fails"), "");
  writeFileSync(path.join(stub, "status"), opts.status ?? GOOD_STATUS);
  writeFileSync(path.join(stub, "calls"), "");
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, STUB: stub };
  return {
    root,
    stub,
    run: (script) => spawnSync("bash", ["-s"], { input: script, encoding: "utf8", env }),
    calls: () => readFileSync(path.join(stub, "calls"), "utf8").split("\n").filter(Boolean),
    conf: () => readFileSync(path.join(root, "etc/audit/auditd.conf"), "utf8"),
  };
}

const asRoot = process.getuid?.() === 0;

describe.skipIf(!asRoot)("apply.sh, run (scratch root, host tools stubbed)", () => {
  test("auditd.conf: each key set once, in place, case-insensitively; missing keys appended; everything else untouched", () => {
    const h = host({ container: true });
    expect(h.run(auditScript({ root: h.root })).status).toBe(0);
    const lines = h.conf().split("\n");
    for (const [k, v] of Object.entries(settings)) {
      expect(
        lines.filter((l) => l.toLowerCase().replace(/\s/g, "").startsWith(`${k}=`)),
        k,
      ).toEqual([`${k} = ${v}`]);
    }
    // Replaced where it stood (after num_logs), comments and unmanaged lines kept as they were.
    expect(lines.indexOf("max_log_file_action = keep_logs")).toBe(lines.indexOf("num_logs = 999") + 1);
    for (const kept of [
      "##space_left_action = email",
      "flush = INCREMENTAL_ASYNC",
      "plugin_dir = /etc/audit/plugins.d",
      "# This file controls the configuration of the audit daemon",
    ]) {
      expect(lines, kept).toContain(kept);
    }
    // disk_error_action was not in the file: appended.
    expect(lines.at(-2)).toBe("disk_error_action = syslog");
  });

  test("in a container: files written, nothing loaded, one status line; the second run changes nothing and says nothing on stderr", () => {
    const h = host({ container: true });
    const first = h.run(auditScript({ root: h.root }));
    expect(first.status).toBe(0);
    expect(first.stdout).toBe("auditd: installed, not running (container)\n");
    const rulesDir = path.join(h.root, "etc/audit/rules.d");
    expect(readFileSync(path.join(rulesDir, AUDIT_BASE_FILE), "utf8")).toBe(renderAuditBaseRules());
    expect(readFileSync(path.join(rulesDir, AUDIT_WATCH_FILE), "utf8")).toBe(renderAuditWatches());
    const mode = (p: string) => (statSync(path.join(h.root, p)).mode & 0o7777).toString(8);
    expect(mode(`etc/audit/rules.d/${AUDIT_BASE_FILE}`)).toBe("640");
    expect(mode("etc/audit/auditd.conf")).toBe("640");
    expect(mode("var/log/audit")).toBe("700");
    expect(mode("var/log/sudo-io")).toBe("700");
    expect(h.calls()).toEqual([]);

    const files = ["etc/audit/auditd.conf", `etc/audit/rules.d/${AUDIT_BASE_FILE}`, `etc/audit/rules.d/${AUDIT_WATCH_FILE}`];
    const before = files.map((f) => [statSync(path.join(h.root, f)).ino, statSync(path.join(h.root, f)).mtimeMs]);
    const second = h.run(auditScript({ root: h.root }));
    expect(second).toMatchObject({ status: 0, stderr: "", stdout: "auditd: installed, not running (container)\n" });
    expect(files.map((f) => [statSync(path.join(h.root, f)).ino, statSync(path.join(h.root, f)).mtimeMs])).toEqual(before);
  });

  test("auditd running: a changed auditd.conf is applied with SIGHUP, rules loaded, kernel settings checked; the second run sends nothing", () => {
    const h = host({ container: false, active: true });
    const first = h.run(auditScript({ root: h.root }));
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toBe("auditd: running (2 agent-runtime watches loaded, auditd.conf applied)\n");
    expect(h.calls()).toEqual([
      "systemctl is-active --quiet auditd.service",
      "systemctl enable --quiet --now auditd.service",
      "auditctl --signal HUP",
      "augenrules --load",
      "auditctl -s",
      "systemctl is-active auditd.service",
      "auditctl -l",
    ]);

    writeFileSync(path.join(h.stub, "calls"), "");
    const second = h.run(auditScript({ root: h.root }));
    expect(second).toMatchObject({ status: 0, stderr: "", stdout: "auditd: running (2 agent-runtime watches loaded)\n" });
    expect(h.calls()).not.toContain("auditctl --signal HUP");
    expect(h.calls()).toContain("augenrules --load");
  });

  test("auditd not running yet: started (it reads the new auditd.conf itself), no signal", () => {
    const h = host({ container: false, active: false });
    const r = h.run(auditScript({ root: h.root }));
    expect(r.status, r.stderr).toBe(0);
    expect(h.calls()).toContain("systemctl enable --quiet --now auditd.service");
    expect(h.calls()).not.toContain("auditctl --signal HUP");
  });

  test("a rules file that overrides our backlog is reported, not ignored", () => {
    const h = host({ container: false, active: true, status: GOOD_STATUS.replace("backlog_limit 16384", "backlog_limit 8192") });
    const r = h.run(auditScript({ root: h.root }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `the kernel's audit backlog_limit is 8192, not 16384: a file in /etc/audit/rules.d that sorts after ${AUDIT_BASE_FILE} overrides it`,
    );
  });

  test("augenrules failing fails the step with its message", () => {
    const h = host({ container: false, active: true, augenrulesFails: true });
    const r = h.run(auditScript({ root: h.root }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/augenrules --load failed: No change; Error sending add rule data request \(Operation not permitted\)/);
  });

  test("undo: our rules files go, auditd.conf keeps the enforced lines, the rest is reloaded outside containers", () => {
    for (const container of [true, false]) {
      const h = host({ container, active: true });
      expect(h.run(auditScript({ root: h.root })).status).toBe(0);
      const conf = h.conf();
      writeFileSync(path.join(h.stub, "calls"), "");
      const r = h.run(auditUndoScript({ root: h.root }));
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        container
          ? /^auditd: agent-runtime rules removed \(container, nothing loaded\); auditd.conf settings stay/
          : /^auditd: agent-runtime rules removed \(remaining rules reloaded\); auditd.conf settings stay/,
      );
      expect(spawnSync("ls", ["-A", path.join(h.root, "etc/audit/rules.d")], { encoding: "utf8" }).stdout).toBe("");
      expect(h.conf()).toBe(conf);
      expect(h.calls()).toEqual(container ? [] : ["augenrules --load"]);
    }
  });
});
