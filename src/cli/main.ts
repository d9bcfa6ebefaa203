import { planCommand, validateCommand } from "./validate";

// `npx agent-runtime <command>`: one entry point; each command lives in its own module
// and is loaded only when used (the sandbox pulls in the Automation API, validate doesn't).

type Command = (args: string[]) => number | Promise<number>;

const COMMANDS: Record<string, { help: string; run: () => Promise<Command> }> = {
  validate: { help: "validate [file] [--json]          check team.yaml; every error with file:line:col", run: async () => validateCommand },
  plan: { help: "plan [file] [--json]              the access matrix: server x human -> agent users", run: async () => planCommand },
  sandbox: {
    help: "sandbox up|down|status [--json]   the whole runtime on local nspawn hosts",
    run: async () => (await import("./sandbox")).sandboxCommand,
  },
  "audit-access": {
    help: "audit-access [--json]             probe sudo -l on every sandbox host vs the plan",
    run: async () => (await import("./auditAccess")).auditAccessCommand,
  },
  preview: {
    help: "preview [file] [--out FILE]        access diff + pulumi preview --diff against the sandbox",
    run: async () => (await import("./preview")).previewCommand,
  },
  drift: {
    help: "drift [--json] [--repair] [--sandbox]  managed files on every server vs what the last up wrote",
    run: async () => (await import("./ops")).driftCommand,
  },
  "forget-server": {
    help: "forget-server SERVER [--yes] [--sandbox]  drop a dead server's steps from the state",
    run: async () => (await import("./ops")).forgetServerCommand,
  },
  "access-diff": {
    help: "access-diff --base REF|FILE [--head FILE] [--format markdown|json]",
    run: async () => (await import("./accessDiff")).accessDiffCommand,
  },
};

function usage(): string {
  return ["usage: agent-runtime <command>", ...Object.values(COMMANDS).map((c) => `  ${c.help}`)].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n${usage()}`);
    return 2;
  }
  return (await cmd.run())(args);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
