import { Box, render, Text, useApp, useInput, useStdout } from "ink";
import { createElement as h, useEffect, useRef, useState } from "react";
import type { ServerEnvelope, Session } from "../model";
import { mergeServers } from "../merge";
import { formatTarget, type Target } from "../names";
import { COLUMNS, layout, serverNote, sessionCells } from "../table";
import { attach, killSession, newSession } from "./actions";
import { collect } from "./collect";
import { localServer } from "./paths";

// The full-screen view (agentctl with no arguments, on a terminal): the same data as
// `agentctl ls`, refreshed every 2 s in the background, and the same actions. Attaching
// leaves the view, runs the attach in the terminal, and comes back.

const KEYS: [string, string][] = [
  ["↑/↓", "move"],
  ["Enter", "attach"],
  ["r", "attach read-only (a safety catch, not a security boundary)"],
  ["n", "new session on this server (project dir, then agent)"],
  ["k", "kill (type the session name to confirm)"],
  ["/", "filter"],
  ["w", "waiting for input only"],
  ["a", "all servers / this server"],
  ["?", "help"],
  ["q", "quit"],
];

type Prompt = { kind: "filter" | "kill" | "dir" | "agent"; text: string } | undefined;
type Exit = { kind: "quit" } | { kind: "attach"; target: Target; readOnly: boolean };

interface Row {
  server: string;
  session: Session;
  stale: boolean;
}

interface ViewState {
  allServers: boolean;
  waitingOnly: boolean;
  filter: string;
  selected: number;
}

function App(props: { initial: ViewState; last: ServerEnvelope[]; onExit: (e: Exit, v: ViewState, last: ServerEnvelope[]) => void }) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [view, setView] = useState(props.initial);
  // What was shown before an attach stays on screen until the first refresh after it.
  const [envelopes, setEnvelopes] = useState<ServerEnvelope[]>(props.last);
  const [refreshed, setRefreshed] = useState<{ at: Date; ms: number } | undefined>();
  const [prompt, setPrompt] = useState<Prompt>();
  const [help, setHelp] = useState(false);
  const [message, setMessage] = useState("");
  const [pendingDir, setPendingDir] = useState("");
  const busy = useRef(false);
  const all = useRef(view.allServers);
  all.current = view.allServers;

  const refresh = async () => {
    if (busy.current) return;
    busy.current = true;
    const t0 = Date.now();
    try {
      setEnvelopes(await collect(all.current));
      setRefreshed({ at: new Date(), ms: Date.now() - t0 });
    } catch (e) {
      setMessage(`refresh failed: ${(e as Error).message}`);
    } finally {
      busy.current = false;
    }
  };
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), 2000);
    return () => clearInterval(timer);
  }, [view.allServers]);

  const shown = mergeServers(envelopes, localServer(), { waitingOnly: view.waitingOnly, text: view.filter });
  const rows: Row[] = shown.flatMap((e) => e.sessions.map((session) => ({ server: e.server, session, stale: e.stale })));
  const selected = Math.min(view.selected, Math.max(0, rows.length - 1));
  const current = rows[selected];
  const target = (r: Row): Target => ({ server: r.server, agentUser: r.session.agent_user, session: r.session.session });
  const leave = (e: Exit) => {
    props.onExit(e, { ...view, selected }, envelopes);
    exit();
  };

  // Input arrives in chunks ("/claude\r" when keys come fast, or pasted): each character
  // is handled in turn, against the prompt as it stands after the one before.
  const promptRef = useRef<Prompt>(undefined);
  const setPromptNow = (p: Prompt) => {
    promptRef.current = p;
    setPrompt(p);
  };
  const onChar = (ch: string) => {
    const p = promptRef.current;
    if (p) {
      if (ch === "\r" || ch === "\n") return void submit(p);
      if (ch === "\u007f" || ch === "\b") return setPromptNow({ ...p, text: p.text.slice(0, -1) });
      if (ch < " ") return;
      const next = { ...p, text: p.text + ch };
      setPromptNow(next);
      if (p.kind === "filter") setView((v) => ({ ...v, filter: next.text, selected: 0 }));
      return;
    }
    if (help) return setHelp(false);
    switch (ch) {
      case "\r":
        return current && leave({ kind: "attach", target: target(current), readOnly: false });
      case "q":
        return leave({ kind: "quit" });
      case "r":
        return current && leave({ kind: "attach", target: target(current), readOnly: true });
      case "k":
        return current && setPromptNow({ kind: "kill", text: "" });
      case "n":
        return setPromptNow({ kind: "dir", text: "" });
      case "/":
        return setPromptNow({ kind: "filter", text: "" });
      case "w":
        return setView((v) => ({ ...v, waitingOnly: !v.waitingOnly }));
      case "a":
        setMessage(view.allServers ? "this server only" : "all servers: asking…");
        return setView((v) => ({ ...v, allServers: !v.allServers }));
      case "?":
        return setHelp(true);
    }
  };
  useInput((input, key) => {
    if (key.escape && promptRef.current) return setPromptNow(undefined);
    if (key.upArrow) return setView((v) => ({ ...v, selected: Math.max(0, selected - 1) }));
    if (key.downArrow) return setView((v) => ({ ...v, selected: Math.min(rows.length - 1, selected + 1) }));
    if (key.return) return onChar("\r");
    if (key.backspace || key.delete) return onChar("\u007f");
    for (const ch of input) onChar(ch);
  });

  const submit = async (p: NonNullable<Prompt>) => {
    setPromptNow(undefined);
    if (p.kind === "filter") return setView((v) => ({ ...v, filter: p.text, selected: 0 }));
    if (p.kind === "kill") {
      if (!current) return;
      if (p.text !== current.session.session) return setMessage(`"${p.text}" is not ${current.session.session}: nothing killed`);
      try {
        await killSession(target(current));
        setMessage(`killed ${formatTarget(target(current))}`);
      } catch (e) {
        setMessage((e as Error).message);
      }
      return void refresh();
    }
    if (p.kind === "dir") {
      setPendingDir(p.text);
      return setPromptNow({ kind: "agent", text: "" });
    }
    try {
      const t = await newSession({ dir: pendingDir || undefined, agent: p.text || "shell", command: [] });
      setMessage(`started ${formatTarget(t)}`);
    } catch (e) {
      setMessage((e as Error).message);
    }
    void refresh();
  };

  const width = stdout.columns || 120;
  const height = Math.max(5, (stdout.rows || 30) - 6);
  if (help)
    return h(
      Box,
      { flexDirection: "column" },
      h(Text, { bold: true }, "agentctl keys"),
      ...KEYS.map(([k, what]) => h(Text, { key: k }, `  ${k.padEnd(6)} ${what}`)),
      h(Text, { dimColor: true }, "any key: back"),
    );
  const lines = layout(
    rows.map((r) => sessionCells(r.server, r.session, r.stale)),
    width - 2,
  );
  const first = Math.max(0, Math.min(selected - Math.floor(height / 2), rows.length - height));
  const notes = shown.map((e) => serverNote(e, new Date())).filter((n): n is string => !!n);
  const status = [
    `agentctl · ${localServer()} · ${view.allServers ? "all servers" : "this server"}`,
    `${rows.length} sessions${view.waitingOnly ? " waiting" : ""}${view.filter ? ` matching "${view.filter}"` : ""}`,
    refreshed ? `refreshed ${refreshed.at.toTimeString().slice(0, 8)} in ${refreshed.ms} ms` : "reading…",
  ].join(" · ");
  const promptLabel = {
    filter: "filter: ",
    kill: `type ${current?.session.session ?? ""} to kill it: `,
    dir: "project dir (empty: home): ",
    agent: "agent (claude, codex, gemini, aider, shell): ",
  };
  return h(
    Box,
    { flexDirection: "column" },
    h(Text, { bold: true }, status),
    h(Text, { dimColor: true }, lines[0] ?? COLUMNS.join("  ")),
    ...(rows.length === 0 ? [h(Text, { key: "none" }, "  no sessions")] : []),
    ...lines.slice(1 + first, 1 + first + height).map((line, i) =>
      h(
        Text,
        {
          key: `r${first + i}`,
          inverse: first + i === selected,
          color: rows[first + i]?.session.status.state === "waiting" ? "yellow" : undefined,
        },
        line,
      ),
    ),
    ...notes.map((n) => h(Text, { key: n, color: "red" }, n)),
    prompt
      ? h(Text, { color: "cyan" }, `${promptLabel[prompt.kind]}${prompt.text}█`)
      : h(Text, { dimColor: true }, message || "? help · q quit"),
  );
}

/** Run the view until q; attaches happen between two runs of it. */
export async function runTui(): Promise<number> {
  let view: ViewState = { allServers: false, waitingOnly: false, filter: "", selected: 0 };
  let last: ServerEnvelope[] = [];
  for (;;) {
    let exitWith: Exit = { kind: "quit" };
    // A clean screen each time: what tmux or ssh printed on detach is not part of the view.
    process.stdout.write("\u001b[2J\u001b[3J\u001b[H");
    const app = render(
      h(App, {
        initial: view,
        last,
        onExit: (e, v, shown) => {
          exitWith = e;
          view = v;
          last = shown;
        },
      }),
      { exitOnCtrlC: true },
    );
    await app.waitUntilExit();
    app.clear();
    const e = exitWith as Exit;
    if (e.kind === "quit") return 0;
    try {
      await attach(e.target, e.readOnly);
    } catch (err) {
      process.stderr.write(`agentctl: ${(err as Error).message}\n`);
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}
