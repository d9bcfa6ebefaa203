// The local host pool is the ground every other e2e test stands on: if these hosts
// are not real systemd machines reachable only by pinned-key ssh, later results mean
// nothing. Pool "test", subnet 10.213.2 (the sandbox CLI uses "sandbox", 10.213.1).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOSTPOOL_SCRIPT, leftovers, poolStatus, sshExec, startPool, stopPool, type PoolHost } from "../../src/sandbox/hostPool";

import { POOL, SUBNET } from "./pool";
const run = promisify(execFile);

async function sh(host: PoolHost, command: string): Promise<string> {
  const res = await sshExec(host, command);
  if (res.code !== 0) throw new Error(`${host.name}: \`${command}\` exited ${res.code}: ${res.stderr}`);
  return res.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

function recordedPids(): number[] {
  const dir = `/run/agent-runtime/pools/${POOL}`;
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".pid") || f.endsWith(".leader"))
    .map((f) => Number(fs.readFileSync(path.join(dir, f), "utf8").trim().split(/\s+/)[0]));
}

describe("host pool: two booted hosts", () => {
  let hosts: PoolHost[] = [];
  let a: PoolHost;
  let b: PoolHost;

  beforeAll(async () => {
    hosts = await startPool({ pool: POOL, subnet: SUBNET, names: ["hp-a", "hp-b"] });
    [a, b] = hosts;
  });
  afterAll(async () => {
    await stopPool(POOL);
  });

  it("prints the documented JSON contract", () => {
    expect(hosts.map((h) => [h.name, h.address, h.port, h.adminUser])).toEqual([
      ["hp-a", `${SUBNET}.10`, 22, "root"],
      ["hp-b", `${SUBNET}.11`, 22, "root"],
    ]);
    for (const h of hosts) {
      expect(fs.existsSync(h.privateKeyPath)).toBe(true);
      expect(fs.statSync(h.privateKeyPath).mode & 0o077).toBe(0);
      expect(h.hostPublicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
      expect(fs.readFileSync(h.knownHostsPath, "utf8")).toContain(`${h.address} ${h.hostPublicKey}\n`);
    }
  });

  it("answers ssh by IP as root with the pool key", async () => {
    for (const h of hosts) {
      expect((await sh(h, "id -un; hostname")).split("\n")).toEqual(["root", h.name, ""]);
    }
  });

  it("gives each host its own host key, and the pin is enforced", async () => {
    expect(a.hostPublicKey).not.toEqual(b.hostPublicKey);
    for (const h of hosts) {
      const served = await sh(h, "cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub");
      expect(served.trim()).toEqual(h.hostPublicKey);
    }
    // hp-a's address pinned to hp-b's key: StrictHostKeyChecking must refuse it.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostpool-kh-"));
    try {
      const wrong = path.join(tmp, "known_hosts");
      fs.writeFileSync(wrong, `${a.address} ${b.hostPublicKey}\n`);
      const res = await sshExec({ ...a, knownHostsPath: wrong }, "true");
      expect(res.code).toBe(255);
      expect(res.stderr).toMatch(/host key verification failed/i);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("resolves its own hostname, so sudo does not complain", async () => {
    for (const h of hosts) {
      const out = (await sshExec(h, 'sudo -n true 2>&1; getent hosts "$(hostname)" || echo "no hosts entry"')).stdout;
      expect(out).not.toMatch(/unable to resolve host/i);
      expect(out.trim()).toMatch(new RegExp(`^127\\.0\\.1\\.1\\s+${h.name}$`));
    }
  });

  it("runs systemd to completion; only auditd may fail (no audit in containers)", async () => {
    for (const h of hosts) {
      const res = await sshExec(h, "timeout 60 systemctl is-system-running --wait");
      expect(res.stdout.trim()).toMatch(/^(running|degraded)$/);
      const failed = (await sh(h, "systemctl list-units --state=failed --plain --no-legend | awk '{print $1}'"))
        .split("\n")
        .filter(Boolean);
      const unexpected = failed.filter((u) => u !== "auditd.service");
      const journal = unexpected.length ? (await sshExec(h, `journalctl -b --no-pager -n 40 -u ${unexpected.join(" -u ")}`)).stdout : "";
      expect(unexpected, `${h.name} failed units:\n${journal}`).toEqual([]);
      expect((await sh(h, "systemd-detect-virt -c")).trim()).toBe("systemd-nspawn");
    }
  });

  it("starts a lingering user's manager, and systemd-run --user lands in it", async () => {
    const script = `set -e
      id hpuser >/dev/null 2>&1 || useradd -m -s /bin/bash hpuser
      uid=$(id -u hpuser)
      loginctl enable-linger hpuser
      for i in $(seq 50); do systemctl is-active --quiet "user@$uid.service" && break; sleep 0.2; done
      systemctl is-active "user@$uid.service"
      sudo -n -u hpuser env XDG_RUNTIME_DIR=/run/user/$uid DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$uid/bus \\
        systemd-run --user --quiet --unit=hp-probe sleep 120
      for i in $(seq 25); do pid=$(pgrep -u hpuser -x sleep || true); [ -n "$pid" ] && break; sleep 0.2; done
      grep '^0::' "/proc/$pid/cgroup"
      echo "uid=$uid"`;
    const out = await sh(a, script);
    const uid = /uid=(\d+)/.exec(out)?.[1];
    expect(uid).toBeDefined();
    expect(out).toMatch(/^active$/m);
    expect(out).toContain(`0::/user.slice/user-${uid}.slice/user@${uid}.service/app.slice/hp-probe.service`);
  });

  it("has no default route inside; the range is closed, the bridge shared", async () => {
    for (const h of hosts) {
      const v4 = await sh(h, "ip -4 route");
      expect(v4).not.toMatch(/^default/m);
      expect(v4).toMatch(new RegExp(`^${SUBNET.replace(/\./g, "\\.")}\\.0/24 dev eth0`, "m"));
      expect(await sh(h, "ip -6 route")).not.toMatch(/^default/m);
    }
    // Same pool = same bridge: hosts reach each other, like servers in one subnet.
    // That is intended (a lead's host and a developer's host are separate machines
    // that can talk); isolation is between pools and from the outside world.
    expect((await sshExec(a, `timeout 3 bash -c 'exec 3<>/dev/tcp/${b.address}/22' && echo open`)).stdout).toContain("open");
    // Off-link, still inside the test range, so even a bug could not send it anywhere.
    const off = await sshExec(a, "timeout 3 bash -c 'exec 3<>/dev/tcp/10.213.250.1/22' 2>&1");
    expect(off.code).not.toBe(0);
    expect(off.stdout).toMatch(/network is unreachable/i);
  });

  it("reports status with a live ssh probe", async () => {
    const status = await poolStatus(POOL);
    expect(status.map((s) => [s.name, s.address, s.running, s.reachable])).toEqual([
      ["hp-a", `${SUBNET}.10`, true, true],
      ["hp-b", `${SUBNET}.11`, true, true],
    ]);
  });

  it("stops cleanly and leaves nothing behind", async () => {
    const pids = recordedPids();
    expect(pids.length).toBe(4); // two nspawns + two container inits
    await stopPool(POOL);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(await leftovers(POOL)).toEqual([]);
    expect(await poolStatus(POOL)).toEqual([]);
  });
});

describe("host pool: recovery from a crashed run", () => {
  afterAll(async () => {
    await stopPool(POOL);
  });

  it("cleans stale state on `up` and boots fresh hosts", async () => {
    const first = await startPool({ pool: POOL, subnet: SUBNET, names: ["hp-a", "hp-b"] });
    await sh(first[1], "touch /root/stale-marker");
    const oldPids = recordedPids();
    // A runner killed mid-test: one nspawn dies hard (its container is orphaned), the
    // other keeps running, and nobody calls `down`.
    const nspawnA = Number(fs.readFileSync(`/run/agent-runtime/pools/${POOL}/hp-a.pid`, "utf8"));
    process.kill(nspawnA, "SIGKILL");

    const { stdout, stderr } = await run("bash", [HOSTPOOL_SCRIPT, "up", "--pool", POOL, "--subnet", SUBNET, "hp-a", "hp-b"], {
      timeout: 10 * 60_000,
    });
    expect(stderr).toMatch(/state from an earlier run/);
    const second = JSON.parse(stdout) as PoolHost[];
    expect(oldPids.filter(pidAlive)).toEqual([]);
    expect(second.map((h) => h.address)).toEqual(first.map((h) => h.address));
    for (let i = 0; i < second.length; i++) {
      expect(second[i].hostPublicKey).not.toEqual(first[i].hostPublicKey);
      expect((await sh(second[i], "hostname")).trim()).toBe(second[i].name);
    }
    // The old overlay went with the stale pool: a fresh host, not a reused one.
    expect((await sshExec(second[1], "test -e /root/stale-marker")).code).toBe(1);

    await stopPool(POOL);
    expect(await leftovers(POOL)).toEqual([]);
  });

  it("rejects bad arguments without leaving anything", async () => {
    await expect(startPool({ pool: POOL, subnet: "192.168.1", names: ["x"] })).rejects.toThrow(/subnet/);
    await expect(startPool({ pool: POOL, subnet: SUBNET, names: ["a", "a"] })).rejects.toThrow(/duplicate/);
    await expect(startPool({ pool: "Bad-Name", subnet: SUBNET, names: ["x"] })).rejects.toThrow(/pool/);
    const sid = await run("bash", [HOSTPOOL_SCRIPT, "up", "--suite", "sid", "--pool", POOL, "--subnet", SUBNET, "x"]).then(
      () => "exit 0",
      (e: { stderr: string }) => e.stderr,
    );
    expect(sid).toContain('unknown Debian suite "sid" (--suite or AGENT_RUNTIME_ROOTFS_SUITE): use bookworm or trixie');
    expect(await leftovers(POOL)).toEqual([]);
  });
});
