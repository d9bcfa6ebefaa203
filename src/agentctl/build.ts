import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

/** Build the bundle into `outDir` (default: a per-user temp dir) as agentctl-<sha>.mjs. */
export function buildAgentctl(outDir = path.join(tmpdir(), `agent-runtime-build-${process.getuid?.() ?? "u"}`)): AgentctlBundle {
  // Loaded here, not at the top: only the program's run (and the tests) need esbuild.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require("esbuild") as typeof import("esbuild");
  const here = __dirname;
  const result = esbuild.buildSync({
    entryPoints: [path.join(here, "cli/main.ts")],
    bundle: true,
    platform: "node",
    target: "node18",
    format: "esm",
    minify: true,
    legalComments: "none",
    charset: "ascii",
    write: false,
    logLevel: "silent",
    alias: { "react-devtools-core": path.join(here, "devtoolsStub.ts") },
    define: { "process.env.NODE_ENV": '"production"' },
    // CommonJS parts of the bundle (react) call require() for Node's own modules.
    banner: { js: 'import{createRequire as __agentctlRequire}from"node:module";const require=__agentctlRequire(import.meta.url);' },
  });
  const code = result.outputFiles[0]!.contents;
  const sha256 = createHash("sha256").update(code).digest("hex");
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const file = path.join(outDir, `agentctl-${sha256.slice(0, 16)}.mjs`);
  let current: Buffer | undefined;
  try {
    current = readFileSync(file);
  } catch {
    // not built yet
  }
  if (!current || createHash("sha256").update(current).digest("hex") !== sha256) {
    writeFileSync(`${file}.${process.pid}`, code, { mode: 0o600 });
    renameSync(`${file}.${process.pid}`, file);
  }
  return { path: file, sha256, bytes: code.length };
}
