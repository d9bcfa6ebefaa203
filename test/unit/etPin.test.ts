import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { etAptLine, renderEtPin } from "../../src/render/runtime";
import { ET_FIXTURE_APT_LINE } from "../../src/sandbox/etFixture";
import type { EtSettings } from "../../src/team/model";

// The apt pin that lets the et source supply `et` and nothing else. Snapshots of the text,
// then the real thing: apt-cache policy in a throwaway apt root (no network, no root),
// with index files written in place, so the candidate apt would install is what we assert.

const key = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const et = (source: EtSettings["source"], aptLine?: string): EtSettings => ({
  port: 2022,
  source,
  ...(aptLine ? { aptLine } : {}),
  signingKey: key,
});
const SIGNED = "[signed-by=/etc/apt/keyrings/agent-runtime-et.asc]";

describe("renderEtPin", () => {
  test("nothing for source none", () => expect(renderEtPin({ port: 2022, source: "none" })).toBe(""));

  test.each([
    ["ubuntu-ppa", et("ubuntu-ppa"), "ppa.launchpadcontent.net"],
    ["debian-upstream", et("debian-upstream"), "github.com"],
    ["apt-repo over https", et("apt-repo", `deb ${SIGNED} https://apt.example.org/et stable main`), "apt.example.org"],
    ["apt-repo with a port", et("apt-repo", `deb ${SIGNED} https://apt.example.org:8443/et ./`), "apt.example.org"],
    ["apt-repo file: (the sandbox fixture)", et("apt-repo", ET_FIXTURE_APT_LINE), ""],
  ])("%s: both stanzas pin the origin %j", (_, settings, origin) => {
    const text = renderEtPin(settings);
    expect(text.match(/^Pin: .*$/gm)).toEqual([`Pin: origin "${origin}"`, `Pin: origin "${origin}"`]);
    expect(text.match(/^Package: .*$/gm)).toEqual(["Package: *", "Package: et"]);
    expect(text.match(/^Pin-Priority: .*$/gm)).toEqual(["Pin-Priority: -1", "Pin-Priority: 500"]);
    expect(text.endsWith("\n") && !text.endsWith("\n\n")).toBe(true);
  });

  test("snapshot: https origin", () => expect(renderEtPin(et("ubuntu-ppa"))).toMatchSnapshot());
  test("snapshot: file: origin", () => expect(renderEtPin(et("apt-repo", ET_FIXTURE_APT_LINE))).toMatchSnapshot());
});

// ---- apt itself ----

interface Pkg {
  name: string;
  version: string;
}

const root = mkdtempSync(join(tmpdir(), "agent-runtime-etpin-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let roots = 0;

const packages = (pkgs: Pkg[]) =>
  pkgs
    .map(
      (p) =>
        `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: all\nMaintainer: t <t@example.invalid>\nFilename: pool/${p.name}.deb\nSize: 1\nSHA256: ${"0".repeat(64)}\nDescription: test\n`,
    )
    .join("\n");

/** apt's index file name for a sources.list URI (URItoFileName: scheme dropped, / → _). */
const listName = (uri: string, suite: string, component?: string) => {
  const base = `${uri.replace(/^[a-z]+:(\/\/)?/, "").replace(/\/+$/, "")}/${component ? `dists/${suite}/${component}/binary-amd64` : suite.replace(/\/$/, "")}/Packages`;
  return base.replace(/\//g, "_");
};

/** Candidate versions apt-cache picks, with these sources (line + its packages) and preferences. */
function candidates(sources: { line: string; pkgs: Pkg[] }[], prefs: string | undefined, ask: string[]): Record<string, string> {
  const r = join(root, String(roots++));
  for (const d of [
    "etc/apt/apt.conf.d",
    "etc/apt/preferences.d",
    "etc/apt/sources.list.d",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/lib/dpkg",
  ])
    mkdirSync(join(r, d), { recursive: true });
  writeFileSync(join(r, "var/lib/dpkg/status"), "");
  const conf = [
    `Dir "${r}/";`,
    `Dir::State::status "${r}/var/lib/dpkg/status";`,
    `Dir::Etc::main "${r}/etc/apt/apt.conf";`,
    `Dir::Etc::parts "${r}/etc/apt/apt.conf.d";`,
    `Dir::Etc::sourcelist "${r}/etc/apt/sources.list";`,
    `Dir::Etc::sourceparts "${r}/etc/apt/sources.list.d";`,
    `Dir::Etc::preferences "${r}/etc/apt/preferences";`,
    `Dir::Etc::preferencesparts "${r}/etc/apt/preferences.d";`,
    'Dir::Cache::pkgcache "";',
    'Dir::Cache::srcpkgcache "";',
    'APT::Architecture "amd64";',
    'APT::Architectures { "amd64"; };',
  ].join("\n");
  writeFileSync(join(r, "apt.conf"), `${conf}\n`);
  writeFileSync(join(r, "etc/apt/sources.list"), sources.map((s) => s.line).join("\n") + "\n");
  for (const s of sources) {
    const [uri, suite, component] = s.line.replace(/^deb (\[[^\]]*\] )?/, "").split(" ");
    writeFileSync(join(r, "var/lib/apt/lists", listName(uri!, suite!, component)), packages(s.pkgs));
  }
  if (prefs !== undefined) writeFileSync(join(r, "etc/apt/preferences.d/agent-runtime-et"), prefs);
  const out = spawnSync("apt-cache", ["policy", ...ask], {
    env: { ...process.env, APT_CONFIG: join(r, "apt.conf"), LC_ALL: "C" },
    encoding: "utf8",
  });
  if (out.error || out.status !== 0) throw new Error(`apt-cache (from the apt package) failed: ${out.error?.message ?? out.stderr}`);
  const result: Record<string, string> = {};
  let current = "";
  for (const line of out.stdout.split("\n")) {
    const pkg = /^(\S+):$/.exec(line);
    if (pkg) current = pkg[1]!;
    const cand = /^ {2}Candidate: (.*)$/.exec(line);
    if (cand) result[current] = cand[1]!;
  }
  return result;
}

const DISTRO = {
  line: `deb ${SIGNED} https://deb.example.net/debian bookworm main`,
  pkgs: [
    { name: "openssh-server", version: "1:9.2p1-2" },
    { name: "sudo", version: "1.9.13p3-1" },
  ],
};
// What a compromised et repository would serve: et, plus a "newer" openssh-server and sudo, plus something new.
const HOSTILE = [
  { name: "et", version: "6.2.9-1" },
  { name: "openssh-server", version: "1:99.0-1" },
  { name: "sudo", version: "9.9-1" },
  { name: "backdoor", version: "1.0" },
];
const ASK = ["et", "openssh-server", "sudo", "backdoor"];
const PINNED = { et: "6.2.9-1", "openssh-server": "1:9.2p1-2", sudo: "1.9.13p3-1", backdoor: "(none)" };

describe("apt honours the pin (apt-cache policy in a throwaway root)", () => {
  const cases: [string, EtSettings, string][] = [
    [
      "apt-repo over https",
      et("apt-repo", `deb ${SIGNED} https://apt.example.org/et stable main`),
      `deb ${SIGNED} https://apt.example.org/et stable main`,
    ],
    [
      "apt-repo with a port",
      et("apt-repo", `deb ${SIGNED} https://apt.example.org:8443/et ./`),
      `deb ${SIGNED} https://apt.example.org:8443/et ./`,
    ],
    [
      "apt-repo, host in capitals",
      et("apt-repo", `deb ${SIGNED} https://Apt.Example.ORG/et ./`),
      `deb ${SIGNED} https://Apt.Example.ORG/et ./`,
    ],
    ["apt-repo at an IPv4 address", et("apt-repo", `deb ${SIGNED} https://192.0.2.7/et ./`), `deb ${SIGNED} https://192.0.2.7/et ./`],
    ["apt-repo file: (the sandbox fixture)", et("apt-repo", ET_FIXTURE_APT_LINE), ET_FIXTURE_APT_LINE],
    // @CODENAME@ is filled in on the server; noble stands in for it here.
    ["ubuntu-ppa", et("ubuntu-ppa"), etAptLine(et("ubuntu-ppa")).replace("@CODENAME@", "noble")],
    ["debian-upstream", et("debian-upstream"), etAptLine(et("debian-upstream")).replace("@CODENAME@", "bookworm")],
  ];

  test.each(cases)("%s: without the pin the et source wins everything (control)", (_, _settings, line) => {
    expect(candidates([DISTRO, { line, pkgs: HOSTILE }], undefined, ASK)).toEqual({
      et: "6.2.9-1",
      "openssh-server": "1:99.0-1",
      sudo: "9.9-1",
      backdoor: "1.0",
    });
  });

  test.each(cases)("%s: with the pin, et comes from the et source and nothing else does", (_, settings, line) => {
    expect(candidates([DISTRO, { line, pkgs: HOSTILE }], renderEtPin(settings), ASK)).toEqual(PINNED);
  });

  test("the order of the stanzas does not matter (the specific Package: et record wins for et)", () => {
    const line = `deb ${SIGNED} https://apt.example.org/et stable main`;
    const [star, etStanza] = renderEtPin(et("apt-repo", line)).trimEnd().split("\n\n");
    expect(candidates([DISTRO, { line, pkgs: HOSTILE }], `${etStanza}\n\n${star}\n`, ASK)).toEqual(PINNED);
  });

  test("et from another origin is not pinned down: the distro's et stays installable", () => {
    const line = `deb ${SIGNED} https://apt.example.org/et stable main`;
    const distro = { ...DISTRO, pkgs: [...DISTRO.pkgs, { name: "et", version: "6.0.0-1" }] };
    expect(candidates([distro, { line, pkgs: [] }], renderEtPin(et("apt-repo", line)), ["et"])).toEqual({ et: "6.0.0-1" });
  });
});
