import { parseArgs } from "node:util";
import { SCHEMA_VERSION, type MultiEnvelope } from "../model";
import { AGENT_COMMANDS } from "../model";
import { mergeServers } from "../merge";
import { formatTarget, parseTarget } from "../names";
import { renderTable } from "../table";
import { attach, confirmByName, killSession, newSession, Refused } from "./actions";
import { kill as agentKill, probe, start, type StartRequest } from "./agentSide";
import { collect } from "./collect";
import { localServer } from "./paths";

// agentctl: the team's agent sessions on every server you may reach. Installed on each
// server by agent-runtime (the agentctl step); one bundled file, run by the distro's node.

const HELP = `agentctl — agent sessions on this server and the servers you may reach

  agentctl                      full-screen view (on a terminal; keys: press ?)
  agentctl ls [--all-servers] [--json] [--waiting]
  agentctl new [--dir PATH] [--agent claude|codex|gemini|aider|shell] [--name N] [--as AGENT_USER] [-- CMD…]
  agentctl attach SERVER/AGENT_USER/SESSION [--read-only]
  agentctl kill SERVER/AGENT_USER/SESSION [--yes]

You reach exactly the agent users sudo lets you become (sudo -n -l), on this server and,
with --all-servers, on the servers in your hop config (~/.ssh/agent-runtime.conf).
--read-only attaches with tmux attach -r: a safety catch against stray keystrokes, not a
security boundary (you could attach read-write just as well). Attaches to someone else's
agent user are recorded by sudo's I/O log; new, attach and kill go to the journal
(journalctl SYSLOG_IDENTIFIER=agentctl).
`;

const VERSION = "agentctl 1 (json schema " + SCHEMA_VERSION + ")";

function usage(message: string): never {
  process.stderr.write(`agentctl: ${message}\n(see agentctl --help)\n`);
  process.exit(2);
}

async function ls(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: { "all-servers": { type: "boolean" }, json: { type: "boolean" }, waiting: { type: "boolean" } },
  });
  const envelopes = mergeServers(await collect(!!values["all-servers"]), localServer(), { waitingOnly: values.waiting });
  if (values.json) {
    const out: unknown = values["all-servers"]
      ? ({ schema_version: SCHEMA_VERSION, servers: envelopes } satisfies MultiEnvelope)
      : envelopes[0];
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  } else process.stdout.write(renderTable(envelopes, new Date(), process.stdout.columns));
}

async function cmdNew(argv: string[]) {
  const dash = argv.indexOf("--");
  const { values, positionals } = parseArgs({
    args: dash < 0 ? argv : argv.slice(0, dash),
    options: { dir: { type: "string" }, agent: { type: "string" }, name: { type: "string" }, as: { type: "string" } },
    allowPositionals: true,
  });
  if (positionals.length) usage(`unexpected ${positionals[0]}: put the command after --`);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  const agent = values.agent ?? "shell";
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(agent)) usage(`--agent ${agent}: lower-case letters, digits, _ and -`);
  if (!(agent in AGENT_COMMANDS) && command.length === 0)
    usage(`--agent ${agent} is not one agentctl knows how to start: give its command after --`);
  const t = await newSession({ dir: values.dir, agent, name: values.name, as: values.as, command });
  process.stdout.write(`started ${formatTarget(t)}; attach with: agentctl attach ${formatTarget(t)}\n`);
}

function target(argv: string[], flags: Record<string, { type: "boolean" }>) {
  const { values, positionals } = parseArgs({ args: argv, options: flags, allowPositionals: true });
  if (positionals.length !== 1) usage("give one SERVER/AGENT_USER/SESSION");
  const t = parseTarget(positionals[0]!, localServer());
  if (typeof t === "string") usage(t);
  return { t, values };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      if (process.stdin.isTTY && process.stdout.isTTY) return (await import("./tui")).runTui();
      await ls([]);
      return 0;
    case "ls":
    case "list":
      await ls(rest);
      return 0;
    case "new":
      await cmdNew(rest);
      return 0;
    case "attach": {
      const { t, values } = target(rest, { "read-only": { type: "boolean" } });
      return attach(t, !!values["read-only"]);
    }
    case "kill": {
      const { t, values } = target(rest, { yes: { type: "boolean" } });
      if (!values.yes && !(await confirmByName(t.session))) throw new Refused("the name did not match: nothing was killed");
      await killSession(t);
      process.stdout.write(`killed ${formatTarget(t)}\n`);
      return 0;
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP);
      return 0;
    case "--version":
      process.stdout.write(`${VERSION}\n`);
      return 0;
    // Run as the agent user, by agentctl itself through sudo.
    case "_probe": {
      const { values } = parseArgs({ args: rest, options: { "sample-ms": { type: "string" } } });
      process.stdout.write(JSON.stringify(await probe(Number(values["sample-ms"] ?? 250))) + "\n");
      return 0;
    }
    case "_start": {
      const req = JSON.parse(Buffer.from(rest[0] ?? "", "base64").toString("utf8")) as StartRequest;
      process.stdout.write(JSON.stringify(await start(req)) + "\n");
      return 0;
    }
    case "_kill":
      await agentKill(rest[0] ?? "");
      return 0;
    default:
      usage(`unknown command ${cmd}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`agentctl: ${e instanceof Error ? e.message : String(e)}\n`);
    // Bad flags are usage errors (2); refusals and failures are 1.
    process.exit(String((e as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS") ? 2 : 1);
  },
);
