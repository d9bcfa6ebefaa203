import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseDocument } from "yaml";
import { removeScript } from "../../src/render/users";
import { sshdDropIn } from "../../src/render/sshd";
import { renderScript, shq } from "../../src/render/script";
import { sshExec } from "../../src/sandbox/hostPool";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";
import { ADMIN, asPerson, asRoot, bootTeam, configure, renderTeam, teardownTeam, upOps, type TeamEnv } from "./harness";

// The red team. Each attack is done by the user it comes from — their own ssh key (or,
// for an agent user, its owner's `sudo -u`) — then comes the `pulumi up` that would
// trigger it, then the effect is checked: no file outside the attacker's own changed
// owner, mode or content; the provisioner still gets in; the attacker's `sudo -l` is
// unchanged; the step either succeeded safely or failed naming the unsafe path.

const BASE = `team: redteam
defaults:
  provider: existing
  limits: { cpu: 2, memory: 1G, memoryHigh: 800M, tasks: 256 }
developers:
  - name: marcus
    role: lead
    sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHeAV9+bivce34OvRktLLW9w58Ux8rLumXvqsyUNNuQq marcus@laptop]
  - name: olga
    role: senior
    sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOhRLUeJI5esBq/GvwqZMvImmAYlq+5bZYAwwia30WfN olga@laptop]
  - name: wes
    sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFStgbhP2/C3mE7l3MxoV148ggv+gTdSVB29sh+idgmX wes@laptop]
`;
type Doc = ReturnType<typeof parseDocument>;
let env: TeamEnv;
let current = BASE;
/** Keys added on top of each person's generated one (applied to every deploy). */
const extraKeys: Record<string, string[]> = {};
/** A recognisable root password hash: if it ever shows up outside /etc/shadow, shadow leaked. */
const SHADOW_MARK = "$6$redteam$ShadowMustNeverLeaveTheHostXXXXXXXXXXXXXXXXXXXX";

/** BASE with edits applied to the parsed document. */
function edit(text: string, change: (doc: Doc, index: (name: string) => number) => void): string {
  const doc = parseDocument(text);
  const index = (name: string) => (doc.toJS().developers as { name: string }[]).findIndex((d) => d.name === name);
  change(doc, index);
  return doc.toString();
}

/** team.yaml for the hosts, with the extra keys. */
function yamlFor(text: string): string {
  return edit(renderTeam(env, text).yaml, (d, i) => {
    for (const [who, keys] of Object.entries(extraKeys))
      if (i(who) >= 0) for (const k of keys) d.addIn(["developers", i(who), "sshKeys"], k);
  });
}

async function deploy(text: string) {
  current = text;
  const stack = await configure(env, yamlFor(text));
  return upOps(stack);
}

/** `up` that must fail: the error text and the engine output. */
async function deployFails(text: string): Promise<string> {
  current = text;
  const stack = await configure(env, yamlFor(text));
  let output = "";
  const err = await stack.up({ onOutput: (s) => (output += s) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "up must fail").toBeInstanceOf(Error);
  return `${String(err)}\n${output}`;
}

/** Owner, mode, type and content hash of every file root cares about on a server. */
async function fingerprint(server: string): Promise<Map<string, string>> {
  const roots = "/etc /root /home/agent-runtime /usr/local /var/lib/agent-runtime /var/spool/cron";
  const out = await asRoot(
    env,
    server,
    `find ${roots} -xdev -printf '%p\\t%u:%g %m %y\\n' 2>/dev/null | sort; find ${roots} -xdev -type f -print0 2>/dev/null | xargs -0 sha256sum | sed 's/^\\([0-9a-f]*\\)  /sha:\\1\\t/'`,
  );
  const map = new Map<string, string>();
  for (const line of out.trim().split("\n")) {
    if (line.startsWith("sha:")) {
      const [hash, p] = line.slice(4).split("\t");
      map.set(p!, `${map.get(p!) ?? ""} ${hash}`);
    } else {
      const [p, rest] = line.split("\t");
      map.set(p!, `${rest}${map.get(p!) ?? ""}`);
    }
  }
  return map;
}

/** Paths whose owner, mode, type or content differ (or appear/vanish), minus the expected ones. */
function changed(before: Map<string, string>, after: Map<string, string>, expected: RegExp[] = []): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k) && !expected.some((re) => re.test(k))).sort();
}
// What a users/sudoers/limits step legitimately rewrites.
const ACCOUNT_FILES = /^\/etc\/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^\/etc\/\.pwd\.lock$/;

const sudoList = (server: string, user: string) => asRoot(env, server, `sudo -l -U ${user} | sed -n '/may run/,$p'`);
const provisionerGetsIn = async (server: string) => {
  const h = env.hosts.find((x) => x.name === server)!;
  const r = await sshExec(h, "sudo -n id -un", { user: ADMIN });
  expect(r.stdout, `${server}: ${r.stderr}`).toBe("root\n");
};
const asAgent = (owner: string, command: string) =>
  asPerson(env, owner, `dev-${owner}`, `cd / && sudo -n -u ${owner}-agent bash -c ${JSON.stringify(command)}`);
const uidOf = async (server: string, user: string) => (await asRoot(env, server, `id -u ${user}`)).trim();
const cgroupOf = (server: string, pattern: string) => asRoot(env, server, `cat /proc/$(pgrep -n -f '${pattern}')/cgroup`);

beforeAll(async () => {
  env = await bootTeam(["marcus", "olga", "wes", "pat"]);
  await deploy(BASE);
  for (const s of ["dev-olga", "dev-wes"]) await asRoot(env, s, `usermod -p '${SHADOW_MARK}' root`);
});
afterAll(async () => {
  await teardownTeam(env);
});

describe.sequential("red team: managed users against the provisioner", () => {
  test("hop .pub pointing at /etc/shadow: the hop-key step fails naming the file, nothing of shadow leaves the host", async () => {
    const planted = await asPerson(
      env,
      "olga",
      "dev-olga",
      "mkdir -p ~/.ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/agent-runtime-hop && rm ~/.ssh/agent-runtime-hop.pub && ln -s /etc/shadow ~/.ssh/agent-runtime-hop.pub",
    );
    expect(planted.code, planted.stderr).toBe(0);
    const before = await fingerprint("dev-olga");
    const text = await deployFails(edit(BASE, (d, i) => d.setIn(["developers", i("olga"), "mentees"], d.createNode(["wes"]))));
    expect(text).toMatch(/agent-runtime-hop\.pub/);
    expect(text).not.toContain("ShadowMustNeverLeave");
    expect(text).not.toMatch(/^root:/m);
    expect(changed(before, await fingerprint("dev-olga"))).toEqual([]);
    expect(JSON.stringify(await env.stack!.exportStack())).not.toContain("ShadowMustNeverLeave");
    await provisionerGetsIn("dev-olga");
  });

  test("symlinked ~/.ssh/config, hop config and known_hosts: the hop steps write olga's own files, never the targets", async () => {
    // olga cleans up her bad key but keeps three links to root paths that don't exist yet.
    const planted = await asPerson(
      env,
      "olga",
      "dev-olga",
      "rm -f ~/.ssh/agent-runtime-hop ~/.ssh/agent-runtime-hop.pub && ln -s /etc/ld.so.preload ~/.ssh/config && ln -s /etc/sudoers.d/zz-olga ~/.ssh/agent-runtime.conf && ln -s /etc/cron.d/olga ~/.ssh/agent-runtime_known_hosts",
    );
    expect(planted.code, planted.stderr).toBe(0);
    const before = await fingerprint("dev-olga");
    const sudoBefore = await sudoList("dev-olga", "olga");
    const { ops } = await deploy(edit(BASE, (d, i) => d.setIn(["developers", i("olga"), "mentees"], d.createNode(["wes"]))));
    expect(ops).toEqual(expect.arrayContaining(["create dev-olga-hopkey-olga", "create dev-olga-hop-olga"]));
    expect(
      await asRoot(env, "dev-olga", "ls /etc/ld.so.preload /etc/sudoers.d/zz-olga /etc/cron.d/olga 2>&1 | grep -c 'No such file'"),
    ).toBe("3\n");
    expect(await asRoot(env, "dev-olga", "stat -c '%F %U %a' /home/olga/.ssh/config /home/olga/.ssh/agent-runtime.conf")).toBe(
      "regular file olga 600\nregular file olga 600\n",
    );
    expect(await asRoot(env, "dev-olga", "head -n 1 /home/olga/.ssh/config")).toBe("Include ~/.ssh/agent-runtime.conf\n");
    expect(changed(before, await fingerprint("dev-olga"))).toEqual([]);
    expect(await sudoList("dev-olga", "olga")).toBe(sudoBefore);
    // The hop works: the key generated as olga, the config written as olga.
    const hop = await asPerson(env, "olga", "dev-olga", "ssh -o BatchMode=yes dev-wes sudo -n -u wes-agent id -un");
    expect(hop.stdout, hop.stderr).toBe("wes-agent\n");
    await provisionerGetsIn("dev-olga");
  });

  test("symlinked ~/.ssh and ~/.ssh/authorized_keys: a key change writes only the root-owned key files", async () => {
    expect((await asPerson(env, "wes", "dev-wes", "rm -rf ~/.ssh && ln -s /etc/cron.d ~/.ssh")).code).toBe(0);
    expect(
      (await asPerson(env, "marcus", "dev-marcus", "mkdir -p ~/.ssh && ln -sf /etc/sudoers.d/zz-marcus ~/.ssh/authorized_keys")).code,
    ).toBe(0);
    const before = { wes: await fingerprint("dev-wes"), marcus: await fingerprint("dev-marcus") };
    const sudoBefore = await sudoList("dev-wes", "wes");
    const second = path.join(env.dir, "keys", "wes-second");
    for (const who of ["wes", "marcus"]) {
      const k = path.join(env.dir, "keys", `${who}-second`);
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${who}-second@e2e`, "-f", k]);
      extraKeys[who] = [readFileSync(`${k}.pub`, "utf8").trim()];
    }
    const { ops } = await deploy(current);
    expect(ops).toEqual(expect.arrayContaining(["update dev-wes-user-wes", "update dev-marcus-user-marcus", "update dev-wes-user-marcus"]));
    const keyFiles = /^\/etc\/ssh\/agent-runtime\/authorized_keys\/(wes|marcus)$/;
    expect(changed(before.wes, await fingerprint("dev-wes"), [keyFiles])).toEqual([]);
    expect(changed(before.marcus, await fingerprint("dev-marcus"), [keyFiles])).toEqual([]);
    expect(await asRoot(env, "dev-wes", "stat -c '%U:%G %a' /etc/cron.d")).toBe("root:root 755\n");
    expect(await asRoot(env, "dev-marcus", "test -e /etc/sudoers.d/zz-marcus && echo present || echo absent")).toBe("absent\n");
    expect(await sudoList("dev-wes", "wes")).toBe(sudoBefore);
    // Both keys log in, from the root-owned file; the person can't add a key by editing their home.
    const wesHost = env.hosts.find((h) => h.name === "dev-wes")!;
    expect((await sshExec(wesHost, "id -un", { user: "wes", keyPath: second })).stdout).toBe("wes\n");
    expect((await sshExec(wesHost, "id -un", { user: "wes", keyPath: env.keys.wes })).stdout).toBe("wes\n");
    await asPerson(
      env,
      "marcus",
      "dev-marcus",
      `rm -f ~/.ssh/authorized_keys; cat ~/.ssh/agent-runtime-hop.pub > ~/.ssh/authorized_keys 2>/dev/null; echo '${readFileSync(`${env.keys.pat}.pub`, "utf8").trim()}' >> ~/.ssh/authorized_keys`,
    );
    const marcusHost = env.hosts.find((h) => h.name === "dev-marcus")!;
    expect((await sshExec(marcusHost, "true", { user: "marcus", keyPath: env.keys.pat })).code).toBe(255);
    for (const s of ["dev-wes", "dev-marcus"]) await provisionerGetsIn(s);
  });

  test("the agent's ~/.ssh pointing at the provisioner's: a limits change leaves the provisioner's keys alone", async () => {
    const keysBefore = await asRoot(env, "dev-wes", "sha256sum /home/agent-runtime/.ssh/authorized_keys");
    const planted = await asAgent(
      "wes",
      "cd ~ && rm -rf .ssh && ln -s /home/agent-runtime/.ssh .ssh && ln -s /home/agent-runtime/.ssh/authorized_keys authorized_keys",
    );
    expect(planted.code, planted.stderr).toBe(0);
    const before = await fingerprint("dev-wes");
    const { ops } = await deploy(edit(current, (d, i) => d.setIn(["developers", i("wes"), "limits"], d.createNode({ tasks: 300 }))));
    expect(ops).toEqual(["update dev-wes-agent-wes-agent"]);
    expect(changed(before, await fingerprint("dev-wes"), [/^\/etc\/systemd\/system\/user-\d+\.slice\.d\//])).toEqual([]);
    expect(await asRoot(env, "dev-wes", "sha256sum /home/agent-runtime/.ssh/authorized_keys")).toBe(keysBefore);
    await provisionerGetsIn("dev-wes");
  });

  test("every launch path of an agent user lands in its slice; cron and at are denied", async () => {
    const uid = await uidOf("dev-wes", "wes-agent");
    const inSlice = new RegExp(`/user\\.slice/user-${uid}\\.slice/`);
    // plain sudo -u, left running in the background
    expect((await asPerson(env, "wes", "dev-wes", "cd / && (nohup sudo -n -u wes-agent sleep 1001 >/dev/null 2>&1 &)")).code).toBe(0);
    // sudo -iu
    expect((await asPerson(env, "wes", "dev-wes", "cd / && (nohup sudo -n -iu wes-agent sleep 1002 >/dev/null 2>&1 &)")).code).toBe(0);
    // a child that outlives its sudo
    expect((await asAgent("wes", "setsid sleep 1003 </dev/null >/dev/null 2>&1 &")).code).toBe(0);
    // su and runuser (root's ways in; the agent has no password to su with)
    await asRoot(
      env,
      "dev-wes",
      "(su -s /bin/sh wes-agent -c 'sleep 1004' </dev/null >/dev/null 2>&1 &); (runuser -u wes-agent -- sleep 1005 </dev/null >/dev/null 2>&1 &)",
    );
    // a systemd --user unit
    const unit = await asAgent("wes", `XDG_RUNTIME_DIR=/run/user/${uid} systemd-run --user --unit=planted-by-wes sleep 1006`);
    expect(unit.code, unit.stderr).toBe(0);
    // a lead's background command, started through sudo on someone else's agent
    expect((await asPerson(env, "marcus", "dev-wes", "cd / && (nohup sudo -n -u wes-agent sleep 1007 >/dev/null 2>&1 &)")).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    for (const n of [1001, 1002, 1003, 1004, 1005, 1006, 1007]) {
      expect(await cgroupOf("dev-wes", `sleep ${n}$`), `sleep ${n}`).toMatch(inSlice);
    }
    expect(await cgroupOf("dev-wes", "^sleep 1001$")).toMatch(/agent-runtime:wes:wes-agent:\d+\.scope$/m);
    expect(await cgroupOf("dev-wes", "^sleep 1007$")).toMatch(/agent-runtime:marcus:wes-agent:\d+\.scope$/m);
    expect(await cgroupOf("dev-wes", "sleep 1006$")).toMatch(new RegExp(`/user@${uid}\\.service/.*planted-by-wes\\.service$`, "m"));
    // The managed sudo hook never touches sessions of other targets.
    expect(await asRoot(env, "dev-wes", "cat /proc/self/cgroup")).not.toMatch(inSlice);

    const cron = await asAgent("wes", "echo '* * * * * true' | crontab -");
    expect(cron.code).not.toBe(0);
    expect(cron.stderr).toMatch(/not allowed/);
    const at = await asAgent("wes", "echo true | at now + 1 minute");
    expect(at.code).not.toBe(0);
    expect(at.stderr).toMatch(/permission/);

    // Agent sessions start with the managed tmux config: no clipboard, no passthrough.
    expect((await asPerson(env, "wes", "dev-wes", "agentctl new --name main -- sleep 3000")).code).toBe(0);
    const opts = await asPerson(
      env,
      "wes",
      "dev-wes",
      "cd / && sudo -n -u wes-agent tmux -L agents show -s set-clipboard \\; show -g allow-passthrough",
    );
    expect(opts.stdout).toBe("set-clipboard off\nallow-passthrough off\n");
  });

  test("a lead's planted user unit is listed at revocation; what the lead started through sudo is stopped", async () => {
    const uid = await uidOf("dev-wes", "wes-agent");
    const planted = await asPerson(
      env,
      "marcus",
      "dev-wes",
      `cd / && sudo -n -u wes-agent env XDG_RUNTIME_DIR=/run/user/${uid} systemd-run --user --unit=planted-by-marcus sleep 2001`,
    );
    expect(planted.code, planted.stderr).toBe(0);
    const { ops, output } = await deploy(edit(current, (d, i) => d.setIn(["developers", i("marcus"), "role"], "developer")));
    expect(ops).toEqual(expect.arrayContaining(["delete dev-wes-sudoers-marcus", "delete dev-wes-user-marcus"]));
    // The revocation reports what the reached agent user runs by itself.
    expect(output).toMatch(
      /revoked: wes-agent: crontab none; at jobs 0; user unit files none; running user units [^\n]*planted-by-marcus\.service/,
    );
    // marcus's sudo'd process is gone with his access; wes's own are not.
    expect(await asRoot(env, "dev-wes", "pgrep -f '^sleep 1007$' || echo gone")).toBe("gone\n");
    expect(await asRoot(env, "dev-wes", "pgrep -c -f '^sleep 1001$'")).toBe("1\n");
    expect((await asPerson(env, "marcus", "dev-marcus", "ssh -o BatchMode=yes dev-wes true")).code).not.toBe(0);
  });

  test("offboarding an agent with planted crontab, unit, /tmp files, a 100 GB sparse file and links to root files", async () => {
    const uid = await uidOf("dev-wes", "wes-agent");
    const wesUid = await uidOf("dev-wes", "wes");
    const planted = await asAgent(
      "wes",
      "cd ~ && truncate -s 100G sparse && ln -s /etc/shadow shadow-link && touch /tmp/agent-drop /var/tmp/agent-drop /dev/shm/agent-drop && mkdir -p ~/.config/systemd/user && printf '[Service]\\nExecStart=/bin/sleep 2002\\n[Install]\\nWantedBy=default.target\\n' > ~/.config/systemd/user/persist.service && echo planted",
    );
    expect(planted.stdout, planted.stderr).toBe("planted\n");
    // Links for root's deletes to follow: a linked directory in the home (removed with
    // the home), and links it owns in /tmp (removed with the agent's /tmp files).
    const linked = await asAgent(
      "wes",
      "ln -s /etc/cron.d ~/cron-link && ln -s /etc/cron.d /tmp/agent-cron-link && mkdir /tmp/agent-dir && ln -s /root /tmp/agent-dir/root-link && echo linked",
    );
    expect(linked.stdout, linked.stderr).toBe("linked\n");
    // nullglob: Debian 13 ships /etc/cron.d with only a hidden .placeholder (dotglob).
    const targets = "shopt -s nullglob dotglob; stat -c '%n %U:%G %a %h' /etc/cron.d /etc/cron.d/* /root /etc/shadow";
    const targetsBefore = await asRoot(env, "dev-wes", targets);
    // The kernel refuses hard links to files the agent doesn't own (fs.protected_hardlinks).
    const hard = await asAgent("wes", "ln /etc/shadow ~/shadow-hard");
    expect(hard.code).not.toBe(0);
    expect(hard.stderr).toMatch(/Operation not permitted/);
    // A crontab from before the deny rule (root plants it as if the agent had).
    await asRoot(
      env,
      "dev-wes",
      "printf '* * * * * sleep 2003\\n' > /var/spool/cron/crontabs/wes-agent && chown wes-agent:crontab /var/spool/cron/crontabs/wes-agent && chmod 600 /var/spool/cron/crontabs/wes-agent",
    );

    const { ops, output } = await deploy(
      edit(current, (d, i) => {
        d.deleteIn(["developers", i("wes")]);
        d.deleteIn(["developers", i("olga"), "mentees"]);
      }),
    );
    expect(ops).toContain("delete dev-wes-agent-wes-agent");
    expect(ops).toContain("delete dev-wes-archives");
    expect(output).toMatch(/archives of 10\.213\.\d+\.\d+ in .*dev-wes: [1-9]/);
    const root = async (cmd: string) =>
      (
        await sshExec(
          env.hosts.find((h) => h.name === "dev-wes")!,
          `bash -c ${shq(cmd)}`,
          { user: "root" },
        )
      ).stdout;
    expect(await root(`pgrep -u ${uid} || pgrep -u ${wesUid} || echo none`)).toBe("none\n");
    expect(await root("ls -A /var/spool/cron/crontabs/ /var/lib/systemd/linger/ | grep -v :$ | grep . || echo empty")).toBe("empty\n");
    expect(await root('ls /tmp/agent-drop /var/tmp/agent-drop /dev/shm/agent-drop 2>&1 | grep -c "No such"')).toBe("3\n");
    expect(await root("grep -c wes-agent /etc/cron.deny /etc/at.deny || true")).toBe("/etc/cron.deny:0\n/etc/at.deny:0\n");
    // Root's deletes removed the links, never what they point at.
    expect(await root(targets)).toBe(targetsBefore);
    expect(await root("ls -d /tmp/agent-cron-link /tmp/agent-dir 2>&1 | grep -c 'No such'")).toBe("2\n");
    // Archives were pulled to the machine running Pulumi before the server's steps went.
    const pulled = readdirSync(path.join(env.dir, "archives", "dev-wes"));
    const agentArchive = pulled.find((f) => /^wes-agent-\d{8}T\d{6}Z\.tar\.gz$/.test(f));
    expect(agentArchive, pulled.join(" ")).toBeDefined();
    const archive = path.join(env.dir, "archives", "dev-wes", agentArchive!);
    const outer = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" });
    expect(outer).toMatch(/^\.\/MANIFEST$/m);
    const home = execFileSync("bash", ["-c", `tar -xzOf '${archive}' ./home.tar | tar -tvf -`], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(home).toMatch(/shadow-link -> \/etc\/shadow/);
    expect(home).toMatch(/persist\.service/);
    expect(home).toMatch(/wes-agent\/sparse/);
    const bytes = execFileSync("bash", ["-c", `tar -xzOf '${archive}' | grep -c -a -F ShadowMustNeverLeave || true`], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    expect(bytes).toBe("0\n");
    expect(readFileSync(archive).length).toBeLessThan(10 << 20);
    expect(existsSync(path.join(env.dir, "archives", "dev-wes"))).toBe(true);
  });

  test("an existing account with a developer's name is never adopted, and never deleted", async () => {
    await sshExec(
      env.hosts.find((h) => h.name === "dev-pat")!,
      "useradd -m -c 'local employee' pat && echo mine > /home/pat/keep.txt",
      { user: "root" },
    );
    const before = await sshExec(
      env.hosts.find((h) => h.name === "dev-pat")!,
      "getent passwd pat; sha256sum /home/pat/keep.txt; stat -c '%U %a' /home/pat",
      { user: "root" },
    );
    const text = await deployFails(
      edit(current, (d) => {
        (d.get("developers") as { add: (x: unknown) => void }).add(
          d.createNode({
            name: "pat",
            sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFVipvsY700setxk8YMSkAA+U/Z0BGch1FCn/NeHgMau pat@laptop"],
          }),
        );
      }),
    );
    expect(text).toMatch(/account pat already exists on dev-pat and was not created by agent-runtime/);
    const pat = env.hosts.find((h) => h.name === "dev-pat")!;
    expect((await sshExec(pat, "sudo -n true", { user: ADMIN })).code).toBe(0);
    // As root, as before: on Debian 13 useradd makes the home 0700, closed to the admin.
    const after = await sshExec(
      pat,
      `sudo -n bash -c ${shq("getent passwd pat; sha256sum /home/pat/keep.txt; stat -c '%U %a' /home/pat")}`,
      {
        user: ADMIN,
      },
    );
    expect(after.stdout, after.stderr).toBe(before.stdout);
    // The offboarding script itself refuses an unmarked account.
    const r = await sshExec(pat, "sudo -n bash -s", { user: ADMIN, input: removeScript("pat") });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/refusing to remove pat: the account has no agent-runtime mark/);
    expect((await sshExec(pat, "getent passwd pat", { user: ADMIN })).stdout).toMatch(/^pat:/);
  });

  test("sshd: an earlier drop-in that re-enables passwords fails the step and the previous state is restored", async () => {
    const server = "dev-marcus";
    const h = env.hosts.find((x) => x.name === server)!;
    const dropBefore = await asRoot(env, server, "sha256sum /etc/ssh/sshd_config.d/00-agent-runtime.conf");
    await asRoot(env, server, "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/00-0-local.conf");
    const r = await sshExec(h, "sudo -n bash -s", {
      user: ADMIN,
      input: renderScript("sshd/apply.sh", { AR_CONTENT: sshdDropIn({ maxAuthTries: 9 }), AR_ADMIN: ADMIN }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /effective sshd config for agent-runtime is not "passwordauthentication no" \(it is "passwordauthentication yes"\)/,
    );
    expect(await asRoot(env, server, "sha256sum /etc/ssh/sshd_config.d/00-agent-runtime.conf")).toBe(dropBefore);
    await asRoot(env, server, "rm /etc/ssh/sshd_config.d/00-0-local.conf");
    await provisionerGetsIn(server);
  });

  test("a malicious et aptLine never reaches a server: validate rejects it", () => {
    for (const line of [
      "deb [trusted=yes] https://evil.example/ ./",
      "deb [signed-by=/etc/apt/keyrings/agent-runtime-et.asc allow-insecure=yes] https://evil.example/ ./",
      "deb [signed-by=/etc/apt/keyrings/agent-runtime-et.asc] http://evil.example/ ./",
      "deb [signed-by=/etc/apt/keyrings/agent-runtime-et.asc] https://evil.example/ ./\ndeb [trusted=yes] https://evil.example/ ./",
    ]) {
      const text = edit(BASE, (d) =>
        d.setIn(
          ["defaults", "et"],
          d.createNode({
            source: "apt-repo",
            aptLine: line,
            signingKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----\nx\n-----END PGP PUBLIC KEY BLOCK-----",
          }),
        ),
      );
      const r = parseTeam(text, "team.yaml");
      expect(r.ok, line).toBe(false);
      if (!r.ok) expect(r.errors.map(formatError).join("\n"), line).toMatch(/defaults\.et\.aptLine/);
    }
  });

  test("a home over the archive size limit: the archive is cut at the limit and says so", async () => {
    // Incompressible data, more than the limit this test sets (1 MB instead of 2048).
    const big = await asAgent("marcus", "head -c 3M /dev/urandom > ~/big && echo big");
    expect(big.stdout, big.stderr).toBe("big\n");
    const marcus = env.hosts.find((h) => h.name === "dev-marcus")!;
    const script = renderScript("users/remove.sh", { AR_USER: "marcus-agent", AR_ARCHIVE_MAX_MB: 1, AR_ARCHIVE_TIMEOUT: 120 });
    const r = await sshExec(marcus, "sudo -n bash -s", { user: ADMIN, input: script });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^removed marcus-agent \(archive: \/var\/backups\/agent-runtime\/marcus-agent-\d{8}T\d{6}Z\.TRUNCATED\.tar\.gz, TRUNCATED: cut at 1 MB \(archive size limit\)\)$/m,
    );
    const archive = /archive: (\S+\.TRUNCATED\.tar\.gz)/.exec(r.stdout)![1]!;
    expect(await asRoot(env, "dev-marcus", `tar -xzOf ${archive} ./MANIFEST`)).toMatch(
      /home\.tar: .* — TRUNCATED: cut at 1 MB \(archive size limit\)/,
    );
    expect(await asRoot(env, "dev-marcus", `tar -xzOf ${archive} ./home.tar | wc -c`)).toBe(`${1024 * 1024}\n`);
    expect(await asRoot(env, "dev-marcus", "getent passwd marcus-agent || echo gone")).toBe("gone\n");
  });
});
