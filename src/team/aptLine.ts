// The one-line apt source for Eternal Terminal (`defaults.et.aptLine`, and the built-in
// lines of runtime.ts). The line is written verbatim to sources.list.d as root, so only
// one shape is accepted: `deb [signed-by=<our keyring>] <https:// or file:/ URI> SUITE
// [COMPONENT…]`. Anything that weakens apt's checks (trusted=yes, allow-insecure,
// another keyring, a plain-text transport) or could be read as shell is refused.

/** Where the team's pinned et signing key is installed; the only keyring an et line may name. */
export const ET_KEYRING = "/etc/apt/keyrings/agent-runtime-et.asc";
/** The options bracket every et line carries, exactly. */
export const ET_APT_OPTIONS = `[signed-by=${ET_KEYRING}]`;
/** Hint shown with every aptLine error. */
export const APT_LINE_HINT = `write "deb ${ET_APT_OPTIONS} https://HOST/PATH SUITE [COMPONENT…]", or file:/ABSOLUTE/PATH for a repository already on the server`;

// Host names and IPv4 addresses, optionally with a port. No user:password@, no IPv6 literal.
const HOST = String.raw`[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*`;
const PATH_CHARS = String.raw`[A-Za-z0-9._/+%-]`;
const HTTPS_RE = new RegExp(String.raw`^https://(${HOST})(?::([0-9]{1,5}))?(/${PATH_CHARS}*)$`);
const FILE_RE = new RegExp(String.raw`^file:(/(?!/)${PATH_CHARS}*)$`);
const WORD_RE = /^[A-Za-z0-9._][A-Za-z0-9._/-]*$/;
// Everything a valid line can contain; the rest (shell metacharacters, tabs, quotes, …) is refused up front.
const ALLOWED_CHARS = /^[A-Za-z0-9 ._/:+%=@[\]-]*$/;

/** What is wrong with an et apt line, or undefined when it is acceptable. Pure. */
export function checkAptLine(line: string): string | undefined {
  if (/[\r\n]/.test(line)) return "aptLine must be a single line (it contains a line break)";
  if (line !== line.trim()) return "aptLine has leading or trailing spaces";
  if (line.startsWith("deb-src")) return "deb-src lines are not allowed: et is installed as a binary package";
  if (!line.startsWith("deb ")) return 'aptLine must start with "deb "';
  const bad = [...line].find((c) => !ALLOWED_CHARS.test(c));
  if (bad !== undefined) return `aptLine contains ${JSON.stringify(bad)}, which is not allowed in an apt line here`;

  const rest = line.slice(4).trimStart();
  if (!rest.startsWith("[")) return `aptLine needs the options ${ET_APT_OPTIONS} after "deb"`;
  const close = rest.indexOf("]");
  if (close < 0) return "aptLine's options bracket is not closed";
  const bracket = rest.slice(0, close + 1);
  if (bracket !== ET_APT_OPTIONS) return optionsMessage(bracket);

  const [uri, suite, ...components] = rest
    .slice(close + 1)
    .trim()
    .split(/ +/);
  if (!uri) return "aptLine has no repository URI after the options";
  const uriProblem = checkUri(uri);
  if (uriProblem) return uriProblem;
  if (suite === undefined) return 'aptLine has no suite after the URI (e.g. "./" for a flat repository, or @CODENAME@)';
  if (suite !== "@CODENAME@" && (!WORD_RE.test(suite) || hasDotDot(suite))) {
    return `suite ${JSON.stringify(suite)} must be "./", @CODENAME@ or a word of letters, digits and . _ / -`;
  }
  if (suite.endsWith("/") && components.length > 0) return `a flat repository's suite (${JSON.stringify(suite)}) takes no components`;
  const badComponent = components.find((c) => !WORD_RE.test(c) || hasDotDot(c));
  if (badComponent !== undefined) return `component ${JSON.stringify(badComponent)} must be a word of letters, digits and . _ / -`;
  return undefined;
}

/**
 * The apt "origin" (apt_preferences `Pin: origin`) of a valid et line: the URI's host, without
 * any port (apt 2.6 `apt-cache policy` shows and matches it that way), "" for file: repositories.
 */
export function aptLineOrigin(line: string): string {
  const uri =
    line
      .slice(line.indexOf("]") + 1)
      .trim()
      .split(/ +/)[0] ?? "";
  const m = HTTPS_RE.exec(uri);
  if (m) return m[1]!.toLowerCase();
  if (FILE_RE.test(uri)) return "";
  throw new Error(`not a valid et apt line: ${line}`);
}

function optionsMessage(bracket: string): string {
  const options = bracket.slice(1, -1).trim().split(/ +/).filter(Boolean);
  const other = options.find((o) => o !== `signed-by=${ET_KEYRING}`);
  const signedBy = options.filter((o) => o.startsWith("signed-by=")).length;
  if (other?.startsWith("signed-by="))
    return `aptLine's signed-by must be ${ET_KEYRING} (the key pinned in team.yaml), not ${other.slice("signed-by=".length) || "empty"}`;
  if (other !== undefined) return `apt option "${other}" is not allowed; the only option is signed-by=${ET_KEYRING}`;
  if (signedBy > 1) return "aptLine names signed-by more than once";
  return `aptLine's options must be exactly ${ET_APT_OPTIONS}`;
}

function checkUri(uri: string): string | undefined {
  const m = HTTPS_RE.exec(uri);
  if (m) {
    if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return `port ${m[2]} in ${JSON.stringify(uri)} is out of range`;
    return hasDotDot(m[3]!) ? `${JSON.stringify(uri)} must not contain ".." path segments` : undefined;
  }
  if (FILE_RE.test(uri)) return hasDotDot(uri) ? `${JSON.stringify(uri)} must not contain ".." path segments` : undefined;
  // Not echoed: it would print the credentials in every CI log.
  if (/^[a-z0-9+.-]+:\/\/[^/]*@/i.test(uri))
    return "the repository URL carries credentials (user@host); apt reads those from /etc/apt/auth.conf.d, never from the line";
  if (/^https:/i.test(uri))
    return `${JSON.stringify(uri)} is not a plain https://HOST/PATH URL (host name or IPv4 address, path of letters, digits and . _ / + % -)`;
  if (/^file:/i.test(uri)) return `${JSON.stringify(uri)} must be file:/ABSOLUTE/PATH (one slash)`;
  const scheme = /^([a-z0-9+.-]+):/i.exec(uri)?.[1];
  return scheme
    ? `repository URI scheme "${scheme}:" is not allowed; use https:// (or file:/ for a repository already on the server)`
    : `${JSON.stringify(uri)} is not a repository URI (https://HOST/PATH or file:/ABSOLUTE/PATH)`;
}

const hasDotDot = (s: string) => s.split("/").includes("..");
