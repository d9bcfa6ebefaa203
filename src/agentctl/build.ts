import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

// Bundle agentctl (src/agentctl/cli/main.ts) into one ESM file for the distro's Node
// (18 on Debian 12 and Ubuntu 24.04): no npm install on servers. Built by the program on
// every run (index.ts) — never committed; the same sources give the same bytes, and the
// content hash is what the agentctl step is keyed on.

export interface AgentctlBundle {
  /** The bundle on the machine running Pulumi. */
  path: string;
  sha256: string;
  bytes: number;
}

/** What a build depends on besides its input files (a change rebuilds). */
const FORMAT = "agentctl-inputs/1";

/** Build the bundle into `outDir` (default: a per-user temp dir) as agentctl-<sha>.mjs.
 *  Runs esbuild only when an input changed: every file the last build read (its
 *  metafile), with its sha256, is kept next to the bundle (≈0.5 s of every preview/up). */
export function buildAgentctl(outDir = path.join(tmpdir(), `agent-runtime-build-${process.getuid?.() ?? "u"}`)): AgentctlBundle {
  // Loaded here, not at the top: only the program's run (and the tests) need esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require("esbuild") as typeof import("esbuild");
  const here = __dirname;
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  privateDir(outDir);
  // One manifest per checkout: checkouts sharing the dir don't evict each other's.
  const manifestPath = path.join(outDir, `agentctl-inputs-${sha(Buffer.from(here)).slice(0, 12)}.json`);
  const key = `${FORMAT} esbuild ${esbuild.version} ${here}`;
  const reused = reuse(manifestPath, key, outDir);
  if (reused) return reused;
  const result = esbuild.buildSync({
    entryPoints: [path.join(here, "cli/main.ts")],
    absWorkingDir: here,
    bundle: true,
    platform: "node",
    target: "node18",
    format: "esm",
    minify: true,
    legalComments: "none",
    charset: "ascii",
    write: false,
    metafile: true,
    logLevel: "silent",
    alias: { "react-devtools-core": path.join(here, "devtoolsStub.ts") },
    define: { "process.env.NODE_ENV": '"production"' },
    // CommonJS parts of the bundle (react) call require() for Node's own modules.
    banner: { js: 'import{createRequire as __agentctlRequire}from"node:module";const require=__agentctlRequire(import.meta.url);' },
  });
  const code = result.outputFiles[0]!.contents;
  const sha256 = sha(code);
  const file = path.join(outDir, `agentctl-${sha256.slice(0, 16)}.mjs`);
  let current: Buffer | undefined;
  try {
    current = readFileSync(file);
  } catch {
    // not built yet
  }
  if (!current || sha(current) !== sha256) writeAtomic(file, code);
  const inputs = Object.fromEntries(
    Object.keys(result.metafile!.inputs).map((rel) => {
      const abs = path.resolve(here, rel);
      return [abs, sha(readFileSync(abs))];
    }),
  );
  const manifest: Manifest = { key, bundle: path.basename(file), sha256, inputs };
  writeAtomic(manifestPath, JSON.stringify(manifest));
  return { path: file, sha256, bytes: code.length };
}

interface Manifest {
  key: string;
  bundle: string;
  sha256: string;
  /** Every file esbuild read, by absolute path, with its sha256. */
  inputs: Record<string, string>;
}

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

function writeAtomic(file: string, data: Uint8Array | string): void {
  writeFileSync(`${file}.${process.pid}`, data, { mode: 0o600 });
  renameSync(`${file}.${process.pid}`, file);
}

/** The build dir must be ours alone: a bundle found there is shipped to every server. */
function privateDir(dir: string): void {
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new Error(`${dir} is not a private directory of this user (mode 0700, owned by uid ${uid}): remove it, or set TMPDIR`);
  }
}

/** The last build's bundle when the same esbuild read the same files with the same content. */
function reuse(manifestPath: string, key: string, outDir: string): AgentctlBundle | undefined {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (m.key !== key || typeof m.inputs !== "object" || Object.keys(m.inputs).length === 0) return undefined;
  try {
    for (const [file, hash] of Object.entries(m.inputs)) if (sha(readFileSync(file)) !== hash) return undefined;
    const file = path.join(outDir, path.basename(m.bundle));
    const code = readFileSync(file);
    if (sha(code) !== m.sha256) return undefined;
    return { path: file, sha256: m.sha256, bytes: code.length };
  } catch {
    return undefined;
  }
}
