import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { etAptLine } from "../../src/render/runtime";
import { ET_FIXTURE_APT_LINE } from "../../src/sandbox/etFixture";
import { aptLineOrigin, checkAptLine, ET_APT_OPTIONS } from "../../src/team/aptLine";
import { checkAptLine as fromChecks } from "../../src/team/checks";
import { formatError } from "../../src/team/errors";
import { parseTeam } from "../../src/team/load";
import { fixedKey, teamYaml } from "./teamYaml";

// The et apt line is written verbatim, as root, to sources.list.d: one shape only.
// Tables of accepted and refused lines, the built-in lines of runtime.ts, and properties
// (a valid line with any one shell metacharacter spliced in is refused).

const K = "/etc/apt/keyrings/agent-runtime-et.asc";
const ok = `deb ${ET_APT_OPTIONS} https://apt.example.org/et stable main`;

describe("accepted lines", () => {
  test.each([
    ["flat https repo", `deb ${ET_APT_OPTIONS} https://apt.example.org/et/ ./`, "apt.example.org"],
    ["suite and components", ok, "apt.example.org"],
    ["several components", `deb ${ET_APT_OPTIONS} https://apt.example.org/debian bookworm main contrib`, "apt.example.org"],
    ["@CODENAME@ filled in on the server", `deb ${ET_APT_OPTIONS} https://apt.example.org/ubuntu @CODENAME@ main`, "apt.example.org"],
    [
      "a port (apt's origin is the host without it)",
      `deb ${ET_APT_OPTIONS} https://apt.example.org:8443/et stable main`,
      "apt.example.org",
    ],
    ["an IPv4 address", `deb ${ET_APT_OPTIONS} https://192.0.2.7/et ./`, "192.0.2.7"],
    ["upper-case host (origin lower-cased)", `deb ${ET_APT_OPTIONS} https://Apt.Example.ORG/et ./`, "apt.example.org"],
    ["a path suite", `deb ${ET_APT_OPTIONS} https://apt.example.org/et dists/stable/ `.trimEnd(), "apt.example.org"],
    ["file: repository on the server", `deb ${ET_APT_OPTIONS} file:/srv/et ./`, ""],
    ["the sandbox fixture's line (src/sandbox/etFixture.ts)", ET_FIXTURE_APT_LINE, ""],
  ])("%s", (_, line, origin) => {
    expect(checkAptLine(line)).toBeUndefined();
    expect(aptLineOrigin(line)).toBe(origin);
  });

  test.each(["ubuntu-ppa", "debian-upstream"] as const)("the built-in %s line passes the same validator", (source) => {
    const line = etAptLine({ port: 2022, source });
    expect(line).not.toBe("");
    expect(checkAptLine(line)).toBeUndefined();
    expect(fromChecks(line)).toBeUndefined();
  });

  test("built-in origins: the hosts of their URLs", () => {
    expect(aptLineOrigin(etAptLine({ port: 2022, source: "ubuntu-ppa" }))).toBe("ppa.launchpadcontent.net");
    expect(aptLineOrigin(etAptLine({ port: 2022, source: "debian-upstream" }))).toBe("github.com");
  });

  test("aptLineOrigin refuses a line the validator refuses", () => {
    expect(() => aptLineOrigin(`deb ${ET_APT_OPTIONS} http://apt.example.org/et ./`)).toThrow(/not a valid et apt line/);
  });
});

describe("refused lines", () => {
  test.each([
    // one line
    ["two lines", `${ok}\n${ok}`, "single line"],
    ["trailing newline (a | block scalar)", `${ok}\n`, "single line"],
    ["carriage return", `${ok}\r`, "single line"],
    ["leading space", ` ${ok}`, "leading or trailing spaces"],
    // type
    ["deb-src", ok.replace("deb ", "deb-src "), "deb-src lines are not allowed"],
    ["no type", ok.slice(4), 'must start with "deb "'],
    ["DEB", ok.replace("deb ", "DEB "), 'must start with "deb "'],
    ["a tab after deb", ok.replace("deb ", "deb\t"), 'must start with "deb "'],
    // options
    ["no options", "deb https://apt.example.org/et stable main", "needs the options"],
    ["unclosed bracket", `deb [signed-by=${K} https://apt.example.org/et stable main`, "not closed"],
    ["trusted=yes alone", "deb [trusted=yes] https://apt.example.org/et stable main", 'apt option "trusted=yes" is not allowed'],
    ["trusted=yes with signed-by", `deb [signed-by=${K} trusted=yes] https://apt.example.org/et stable main`, 'apt option "trusted=yes"'],
    ["allow-insecure=yes", `deb [signed-by=${K} allow-insecure=yes] https://apt.example.org/et stable main`, '"allow-insecure=yes"'],
    ["allow-weak=yes", `deb [allow-weak=yes signed-by=${K}] https://apt.example.org/et stable main`, '"allow-weak=yes"'],
    [
      "allow-downgrade-to-insecure",
      `deb [signed-by=${K} allow-downgrade-to-insecure=yes] https://apt.example.org/et ./`,
      '"allow-downgrade-to-insecure=yes"',
    ],
    ["arch=", `deb [arch=amd64 signed-by=${K}] https://apt.example.org/et stable main`, '"arch=amd64"'],
    ["check-valid-until=no", `deb [signed-by=${K} check-valid-until=no] https://apt.example.org/et ./`, '"check-valid-until=no"'],
    ["signed-by twice", `deb [signed-by=${K} signed-by=${K}] https://apt.example.org/et stable main`, "more than once"],
    ["another keyring", "deb [signed-by=/etc/apt/trusted.gpg] https://apt.example.org/et stable main", "signed-by must be"],
    ["a keyring path that only starts like ours", `deb [signed-by=${K}.d] https://apt.example.org/et ./`, "signed-by must be"],
    ["a second keyring, comma-separated", `deb [signed-by=${K},/etc/apt/trusted.gpg] https://apt.example.org/et ./`, 'contains ","'],
    ["empty signed-by", "deb [signed-by=] https://apt.example.org/et ./", "signed-by must be"],
    ["spaces inside the bracket", `deb [ signed-by=${K} ] https://apt.example.org/et ./`, "must be exactly"],
    ["empty bracket", "deb [] https://apt.example.org/et ./", "must be exactly"],
    ["Signed-By in capitals", `deb [Signed-By=${K}] https://apt.example.org/et ./`, '"Signed-By='],
    // URI
    ["no URI", `deb ${ET_APT_OPTIONS}`, "no repository URI"],
    ["http", `deb ${ET_APT_OPTIONS} http://apt.example.org/et stable main`, 'scheme "http:"'],
    ["HTTPS in capitals", `deb ${ET_APT_OPTIONS} HTTPS://apt.example.org/et stable main`, "is not a plain https://"],
    ["ftp", `deb ${ET_APT_OPTIONS} ftp://apt.example.org/et stable main`, 'scheme "ftp:"'],
    ["cdrom", `deb ${ET_APT_OPTIONS} cdrom:[Debian]/ bookworm main`, 'scheme "cdrom:"'],
    ["mirror+https", `deb ${ET_APT_OPTIONS} mirror+https://apt.example.org/mirrors.txt stable main`, 'scheme "mirror+https:"'],
    ["tor+https", `deb ${ET_APT_OPTIONS} tor+https://apt.example.org/et stable main`, 'scheme "tor+https:"'],
    ["copy:", `deb ${ET_APT_OPTIONS} copy:/srv/et ./`, 'scheme "copy:"'],
    ["ssh", `deb ${ET_APT_OPTIONS} ssh://apt.example.org/et ./`, 'scheme "ssh:"'],
    ["no scheme", `deb ${ET_APT_OPTIONS} apt.example.org/et ./`, "is not a repository URI"],
    ["https without a path", `deb ${ET_APT_OPTIONS} https://apt.example.org stable main`, "is not a plain https://"],
    ["credentials (not echoed)", `deb ${ET_APT_OPTIONS} https://deploy:s3cret@apt.example.org/et ./`, "carries credentials"],
    ["IPv6 literal", `deb ${ET_APT_OPTIONS} https://[2001:db8::1]/et ./`, "is not a plain https://"],
    ["port out of range", `deb ${ET_APT_OPTIONS} https://apt.example.org:99999/et ./`, "out of range"],
    ["https path with ..", `deb ${ET_APT_OPTIONS} https://apt.example.org/et/../other ./`, '".." path segments'],
    ["file: relative", `deb ${ET_APT_OPTIONS} file:srv/et ./`, "must be file:/ABSOLUTE/PATH"],
    ["file:// with a host", `deb ${ET_APT_OPTIONS} file://server/srv/et ./`, "must be file:/ABSOLUTE/PATH"],
    ["file: with ..", `deb ${ET_APT_OPTIONS} file:/srv/../etc ./`, '".." path segments'],
    // suite and components
    ["no suite", `deb ${ET_APT_OPTIONS} https://apt.example.org/et`, "no suite"],
    ["suite looking like an option", `deb ${ET_APT_OPTIONS} https://apt.example.org/et -o main`, "suite"],
    ["suite with @ other than @CODENAME@", `deb ${ET_APT_OPTIONS} https://apt.example.org/et @RELEASE@ main`, "suite"],
    ["suite ..", `deb ${ET_APT_OPTIONS} https://apt.example.org/et ../.. main`, "suite"],
    ["flat suite with components", `deb ${ET_APT_OPTIONS} file:/srv/et ./ main`, "takes no components"],
    ["component with =", `deb ${ET_APT_OPTIONS} https://apt.example.org/et stable main=1`, 'component "main=1"'],
    ["component @CODENAME@", `deb ${ET_APT_OPTIONS} https://apt.example.org/et stable @CODENAME@`, "component"],
    // shell
    ["; and a command", `${ok}; curl https://apt.example.org/x | sh`, 'contains ";"'],
    ["$(…)", `deb ${ET_APT_OPTIONS} https://apt.example.org/$(id) ./`, 'contains "$"'],
    ["backquote", `deb ${ET_APT_OPTIONS} https://apt.example.org/\`id\` ./`, 'contains "`"'],
    ["quote", `deb ${ET_APT_OPTIONS} 'https://apt.example.org/et' ./`, 'contains "\'"'],
    ["# comment", `${ok} # et`, 'contains "#"'],
    ["tab between fields", ok.replace(" stable", "\tstable"), 'contains "\\t"'],
    ["NUL", `${ok}\u0000`, 'contains "\\u0000"'],
  ])("%s", (_, line, fragment) => {
    const problem = checkAptLine(line);
    expect(problem).toBeDefined();
    expect(problem).toContain(fragment);
  });

  test("credentials are not repeated in the message", () => {
    expect(checkAptLine(`deb ${ET_APT_OPTIONS} https://deploy:s3cret@apt.example.org/et ./`)).not.toContain("s3cret");
  });
});

describe("properties", () => {
  const word = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,10}$/);
  const arbLine = fc
    .record({
      host: fc.domain(),
      path: fc.array(fc.stringMatching(/^[A-Za-z0-9_+%-][A-Za-z0-9._+%-]{0,8}$/), { maxLength: 3 }),
      suite: fc.oneof(fc.constant("./"), fc.constant("@CODENAME@"), word),
      components: fc.array(word, { maxLength: 3 }),
      file: fc.boolean(),
    })
    .map(({ host, path, suite, components, file }) => {
      const p = `/${path.join("/")}`;
      const uri = file ? `file:${p === "/" ? "/srv" : p}` : `https://${host}${p}`;
      return { line: [`deb ${ET_APT_OPTIONS} ${uri} ${suite}`, ...(suite.endsWith("/") ? [] : components)].join(" "), host, file };
    });

  test('well-formed lines are accepted, and their origin is the host (or "" for file:)', () => {
    fc.assert(
      fc.property(arbLine, ({ line, host, file }) => {
        expect(checkAptLine(line)).toBeUndefined();
        expect(aptLineOrigin(line)).toBe(file ? "" : host.toLowerCase());
      }),
    );
  });

  test("any shell metacharacter or control character spliced in anywhere is refused", () => {
    const bad = fc.constantFrom(..."`$;&|<>(){}*?!#~'\"\\\t\n\r\u0000 ".split("").filter((c) => c !== " "), "\u00a0", "\u2028");
    fc.assert(
      fc.property(arbLine, bad, fc.nat(), ({ line }, c, at) => {
        const i = at % (line.length + 1);
        expect(checkAptLine(line.slice(0, i) + c + line.slice(i))).toBeDefined();
      }),
    );
  });

  test("no accepted line has an option other than our signed-by", () => {
    const option = fc.stringMatching(/^[a-z-]{1,20}=[a-z0-9/.-]{1,20}$/);
    fc.assert(
      fc.property(arbLine, option, fc.boolean(), ({ line }, opt, before) => {
        const opts = before ? `[${opt} signed-by=${K}]` : `[signed-by=${K} ${opt}]`;
        expect(checkAptLine(line.replace(ET_APT_OPTIONS, opts))).toBeDefined();
      }),
    );
  });
});

describe("through the loader", () => {
  const team = (aptLine: string) =>
    parseTeam(
      teamYaml({
        team: "acme",
        defaults: { et: { source: "apt-repo", aptLine, signingKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----" } },
        developers: [{ name: "wes", keys: [fixedKey(1)] }],
      }),
    );

  test("the fixture line loads", () => {
    const r = team(ET_FIXTURE_APT_LINE);
    if (!r.ok) throw new Error(r.errors.map(formatError).join("\n"));
    expect(r.team.et.aptLine).toBe(ET_FIXTURE_APT_LINE);
  });

  test("a bad line is one located error at the value, with the hint", () => {
    const r = team(ok.replace("https://", "http://"));
    expect(r.ok ? [] : r.errors.map(formatError)).toEqual([
      expect.stringMatching(
        /^team\.yaml:\d+:\d+ defaults\.et\.aptLine: repository URI scheme "http:" is not allowed; .* \(write "deb \[signed-by=.*\]/,
      ),
    ]);
  });

  test("an aptLine is checked even when the source does not use it", () => {
    const r = parseTeam(
      teamYaml({
        team: "acme",
        defaults: { et: { source: "none", aptLine: "deb [trusted=yes] http://apt.example.org/ ./" } },
        developers: [{ name: "wes", keys: [fixedKey(1)] }],
      }),
    );
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(["defaults.et.aptLine"]);
  });
});
