import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, test } from "vitest";
import { sshArgs, type PoolHost } from "../../src/sandbox/hostPool";
import { knownHostsPattern, sshClientOptions } from "../../src/ssh/clientOptions";
import { sshMuxOptions } from "../../src/ssh/mux";

// The one spelling of the ssh client options. Asserted as ssh itself reads them
// (`ssh -G` prints the configuration it would connect with; `ssh-keygen -F` looks a host
// up the way ssh does), not only as strings.

const dir = mkdtempSync(path.join(tmpdir(), "agent-runtime-sshopts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// ssh -G lists only identity files that exist (else it falls back to ~/.ssh/id_*).
const key = path.join(dir, "id_ed25519");
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key]);

/** What ssh would connect with: its `-G` output as lowercase key → value (identityfile: all of them). */
function resolved(args: string[]): Record<string, string> {
  const out = execFileSync("ssh", ["-G", ...args, "someone@192.0.2.7"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const lines = out
    .split("\n")
    .filter(Boolean)
    .map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]);
  const identities = lines.filter(([k]) => k === "identityfile").map(([, v]) => v);
  return { ...Object.fromEntries(lines), identityfile: identities.join(" ") };
}

describe("sshClientOptions", () => {
  const base = { hostKeyFile: "/k/known_hosts", keyPath: key, port: 22 };

  test.each([
    ["strict: only the pinned key", { ...base, strict: true }, "true"],
    ["not strict: first use recorded, a changed key still refused", { ...base, strict: false }, "accept-new"],
  ])("%s", (_, args, checking) => {
    expect(resolved(sshClientOptions(args))).toMatchObject({
      stricthostkeychecking: checking,
      userknownhostsfile: "/k/known_hosts",
      globalknownhostsfile: "/dev/null",
      batchmode: "yes",
      connecttimeout: "10",
      identitiesonly: "yes",
      identityagent: "none",
      identityfile: key, // the only key offered: no ~/.ssh defaults
      loglevel: "ERROR",
      serveraliveinterval: "10", // a server that dies mid-step ends the session in ~30 s
      serveralivecountmax: "3",
      port: "22",
    });
  });

  test("port and connect timeout are the caller's", () => {
    expect(resolved(sshClientOptions({ ...base, strict: true, port: 2222, connectTimeout: 5 }))).toMatchObject({
      port: "2222",
      connecttimeout: "5",
    });
  });

  test("reads no config file: a ~/.ssh/config or /etc/ssh/ssh_config cannot add a ProxyCommand or an agent", () => {
    const args = sshClientOptions({ ...base, strict: true });
    expect(args.slice(0, 2)).toEqual(["-F", "none"]);
    // Every other argument is an option pair; nothing positional slips in before user@host.
    for (let i = 2; i < args.length; i += 2) expect(["-o", "-i", "-p"]).toContain(args[i]);
  });
});

describe("knownHostsPattern", () => {
  test.each([
    ["10.213.1.10", 22, "10.213.1.10"],
    ["10.213.1.10", 2222, "[10.213.1.10]:2222"],
    ["dev-wes.example.org", 22, "dev-wes.example.org"],
    ["dev-wes.example.org", 22022, "[dev-wes.example.org]:22022"],
  ])("%s port %d → %s", (host, port, pattern) => {
    expect(knownHostsPattern(host, port)).toBe(pattern);
  });

  // How ssh names a host it looks up: "host" on port 22, "[host]:port" otherwise.
  test.each([
    [22, "192.0.2.7", "[192.0.2.7]:22"],
    [2222, "[192.0.2.7]:2222", "192.0.2.7"],
  ])("a known_hosts line for port %d is found as ssh looks it up (%s), not as %s", (port, lookup, other) => {
    const file = path.join(dir, `known_hosts_${port}`);
    writeFileSync(file, `${knownHostsPattern("192.0.2.7", port)} ${readFileSync(`${key}.pub`, "utf8").trim()}\n`);
    expect(spawnSync("ssh-keygen", ["-F", lookup, "-f", file]).status).toBe(0);
    expect(spawnSync("ssh-keygen", ["-F", other, "-f", file]).status).toBe(1);
  });
});

// The ssh executor's dynamic provider is serialized into stack state and runs in another
// process: the options must travel inside the closure. Import-free keeps that trivially so.
describe("inside the ssh executor's dynamic provider", () => {
  test("the module imports nothing", () => {
    expect(readFileSync(path.join(__dirname, "../../src/ssh/clientOptions.ts"), "utf8")).not.toMatch(/^\s*import\b|\brequire\(/m);
  });

  test("a closure calling it serializes and runs without the repository", async () => {
    const connect = async (p: { host: string; port: number }) => [
      ...sshClientOptions({ hostKeyFile: "/k/known", strict: false, keyPath: "/k/id", port: p.port }),
      knownHostsPattern(p.host, p.port),
    ];
    const { text, exportName } = await pulumi.runtime.serializeFunction(connect);
    const loaded: Record<string, typeof connect> = {};
    new Function("exports", text)(loaded);
    expect(await loaded[exportName]!({ host: "192.0.2.7", port: 2222 })).toEqual(await connect({ host: "192.0.2.7", port: 2222 }));
  });
});

describe("the host pool's ssh arguments", () => {
  const host: PoolHost = {
    name: "hp-a",
    address: "10.213.2.10",
    port: 22,
    adminUser: "root",
    privateKeyPath: "/var/lib/agent-runtime/pools/test/id_ed25519",
    hostPublicKey: "ssh-ed25519 AAAA",
    knownHostsPath: "/var/lib/agent-runtime/pools/test/known_hosts",
  };

  test("are the shared options (pinned, 5 s connect) then user@address", () => {
    expect(sshArgs(host)).toEqual([
      "-F",
      "none",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UserKnownHostsFile=/var/lib/agent-runtime/pools/test/known_hosts",
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=5",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "IdentityAgent=none",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "ServerAliveCountMax=3",
      "-i",
      "/var/lib/agent-runtime/pools/test/id_ed25519",
      "-p",
      "22",
      "root@10.213.2.10",
    ]);
    expect(sshArgs(host, { user: "nadia", keyPath: "/keys/nadia" }).slice(-5)).toEqual([
      "-i",
      "/keys/nadia",
      "-p",
      "22",
      "nadia@10.213.2.10",
    ]);
  });

  test("refuse a host name (it would send DNS queries off the machine)", () => {
    expect(() => sshArgs({ ...host, address: "dev-wes" })).toThrow(/IPv4 address only/);
  });
});

describe("connection sharing (ssh executor)", () => {
  const base = mkdtempSync(path.join(tmpdir(), "mux-test-"));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const target = { user: "agent-runtime", host: "192.0.2.10", port: 22, hostKey: "ssh-ed25519 AAAA1", keyPath: "/k" };
  const socket = (o: string[]) => o.find((x) => x.startsWith("ControlPath="))?.slice("ControlPath=".length);

  test("one socket per server and key, in this process's own private directory", () => {
    const dir = path.join(base, "mux");
    const o = sshMuxOptions(dir, target);
    expect(o).toEqual(["-o", "ControlMaster=auto", "-o", expect.stringMatching(/^ControlPath=/), "-o", "ControlPersist=10"]);
    expect(path.dirname(socket(o)!)).toBe(path.join(dir, String(process.pid)));
    for (const d of [dir, path.join(dir, String(process.pid))]) expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(socket(sshMuxOptions(dir, target))).toBe(socket(o));
    // Anything that authenticates the connection differently gets its own.
    for (const other of [
      { hostKey: "ssh-ed25519 AAAA2" },
      { hostKey: "" },
      { keyPath: "/k2" },
      { user: "root" },
      { port: 2222 },
      { host: "192.0.2.11" },
    ])
      expect(socket(sshMuxOptions(dir, { ...target, ...other }))).not.toBe(socket(o));
  });
  test("never shared across runs: another process gets another socket; a gone process's directory is removed", () => {
    const dir = path.join(base, "runs");
    const mine = socket(sshMuxOptions(dir, target));
    // A pid that cannot exist (above pid_max) stands for a finished run.
    const gone = 4194305;
    const theirs = socket(sshMuxOptions(dir, target, gone));
    expect(theirs).not.toBe(mine);
    expect(path.dirname(theirs!)).toBe(path.join(dir, String(gone)));
    sshMuxOptions(dir, target);
    expect(readdirSync(dir)).toEqual([String(process.pid)]);
  });
  test("no sharing from a directory others can reach, or a link", () => {
    const open = path.join(base, "open");
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    expect(sshMuxOptions(open, target)).toEqual([]);
    const real = path.join(base, "real");
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, path.join(base, "link"));
    expect(sshMuxOptions(path.join(base, "link"), target)).toEqual([]);
  });
  test("mux.ts has no imports (the executor's provider is serialized with it)", () => {
    expect(readFileSync(path.join(__dirname, "../../src/ssh/mux.ts"), "utf8")).not.toMatch(/^\s*import\b/m);
  });
});
