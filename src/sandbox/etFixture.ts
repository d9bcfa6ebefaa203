// The Eternal Terminal apt-source fixture for local hosts: scripts/et-fixture.sh builds
// (once, cached) a signed flat apt repo with a stand-in `et` package; this module copies
// it into each host at /srv/agent-runtime-et-repo and returns the team.yaml et settings
// that point at it. Pool hosts have no route anywhere, so a file: repo inside each host
// is the honest way to exercise apt source + pinned key + install + et.cfg + et.service.
// et itself is not exercised. No Pulumi imports.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { shq } from "../render/script";
import { sshExec, type PoolHost } from "./hostPool";

/** Absolute path of the fixture build script. */
export const ET_FIXTURE_SCRIPT = path.join(__dirname, "../../scripts/et-fixture.sh");
/** Where the repo lives on each host. */
export const ET_FIXTURE_REPO = "/srv/agent-runtime-et-repo";
/** The apt line the runtime writes to /etc/apt/sources.list.d/agent-runtime-et.list. */
export const ET_FIXTURE_APT_LINE = `deb [signed-by=/etc/apt/keyrings/agent-runtime-et.asc] file:${ET_FIXTURE_REPO} ./`;

// The provisioner account: root login is refused once our sshd drop-in is in place,
// so a host that was already provisioned is reached through it instead.
const ADMIN = "agent-runtime";

/** Build the fixture if needed; returns its directory (repo/, signing-key.asc, package-version, decoy-key.asc). */
export function buildEtFixture(): string {
  const out = execFileSync("bash", [ET_FIXTURE_SCRIPT, "build"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 5 * 60_000,
  });
  return out.trim().split("\n").pop()!;
}

/** Version of the stand-in `et` package, as built by scripts/et-fixture.sh. */
export function etFixtureVersion(): string {
  return readFileSync(path.join(buildEtFixture(), "package-version"), "utf8").trim();
}

/** A second public key that signs nothing: pinning it must make apt refuse the repo. */
export function etFixtureDecoyKey(): string {
  return readFileSync(path.join(buildEtFixture(), "decoy-key.asc"), "utf8");
}

/** Copy the fixture repo into every host and return the et source settings for team.yaml. */
export async function ensureEtFixture(hosts: PoolHost[], subnet: string): Promise<{ aptLine: string; signingKey: string }> {
  const dir = buildEtFixture();
  // Hosts are only ever our own pool's: refuse anything outside its subnet.
  for (const h of hosts) {
    if (!h.address.startsWith(`${subnet}.`))
      throw new Error(`et fixture: ${h.name} (${h.address}) is outside the pool subnet ${subnet}.0/24`);
  }
  // sshExec input is text: the repo (a few KB) travels as base64 of a tarball.
  const archive = execFileSync("tar", ["-C", path.join(dir, "repo"), "--owner=0", "--group=0", "-czf", "-", "."]).toString("base64");
  const unpack = [
    `d=${ET_FIXTURE_REPO}`,
    'rm -rf "$d.new" && mkdir -p "$d.new"',
    'base64 -d | tar -xzf - -C "$d.new" --no-same-owner',
    // apt reads file: repos as its sandbox user _apt: everything must be world-readable.
    'chmod -R a+rX "$d.new" && chmod 0755 "$d.new"',
    'rm -rf "$d" && mv "$d.new" "$d"',
  ].join(" && ");
  await Promise.all(hosts.map((h) => copyTo(h, unpack, archive)));
  return { aptLine: ET_FIXTURE_APT_LINE, signingKey: readFileSync(path.join(dir, "signing-key.asc"), "utf8") };
}

async function copyTo(host: PoolHost, script: string, input: string): Promise<void> {
  let r = await sshExec(host, `bash -c ${shq(script)}`, { user: "root", input });
  // 255: ssh itself failed, i.e. root login refused (already provisioned): use the admin account.
  if (r.code === 255) r = await sshExec(host, `sudo -n bash -c ${shq(script)}`, { user: ADMIN, input });
  if (r.code !== 0)
    throw new Error(`et fixture: copying the repo to ${host.name} (${host.address}) failed: exit ${r.code}: ${r.stderr.trim()}`);
}
