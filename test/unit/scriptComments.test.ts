import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { renderScript, template, TEMPLATES_DIR, withoutComments } from "../../src/render/script";

// Steps that source the installed helpers carry their templates without comment lines.
// The proof that nothing else goes: bash parses each template as a function body both
// ways, and `declare -f` (bash's own reprint, which drops comments and keeps
// here-documents) must print the same program.

/** bash's canonical form of TEXT as the body of one function. */
function parsed(text: string): string {
  const r = spawnSync("bash", ["-c", 'eval "ar_template() {\n$1\n}" && declare -f ar_template', "bash", text], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bash could not parse it: ${r.stderr}`);
  return r.stdout;
}

const shellTemplates = readdirSync(TEMPLATES_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".sh"))
  .sort();

describe("templates without their comment lines", () => {
  test("every shell template is found", () => {
    expect(shellTemplates).toContain("users/agent.sh");
    expect(shellTemplates.length).toBeGreaterThan(20);
  });
  test.each(shellTemplates)("%s: bash parses the same program", (name) => {
    const text = template(name);
    const stripped = withoutComments(text);
    expect(parsed(stripped)).toBe(parsed(text));
    const comments = stripped.split("\n").filter((l) => /^\s*#/.test(l) && !/^\s*# shellcheck /.test(l));
    expect(comments.filter((l) => !insideHeredocs(text).has(l))).toEqual([]);
  });
  test("here-document lines stay, comment or not (they are file content)", () => {
    const text = [
      "# gone",
      "cat >f <<CONF",
      "# Managed by agent-runtime",
      "CONF",
      "  # gone too",
      "x <<-'EOT'",
      "\t# kept",
      "\tEOT",
      "# gone",
    ].join("\n");
    expect(withoutComments(text)).toBe(
      ["cat >f <<CONF", "# Managed by agent-runtime", "CONF", "x <<-'EOT'", "\t# kept", "\tEOT"].join("\n"),
    );
    expect(withoutComments("echo $((1 << 3))\n# gone")).toBe("echo $((1 << 3))");
  });
  test("a stripped here-document would be caught: bash sees the difference", () => {
    const text = "cat >f <<CONF\n# Managed by agent-runtime\nCONF";
    expect(parsed(text.replace("# Managed by agent-runtime\n", ""))).not.toBe(parsed(text));
  });
  test("steps that source the helpers carry no comment lines; the admin step and gate scripts keep theirs", () => {
    const step = renderScript("users/agent.sh", {}).split("\n");
    expect(step[1]).toBe("# agent-runtime: templates/users/agent.sh");
    expect(step.slice(2).filter((l) => /^\s*# (?!Managed by agent-runtime|shellcheck )/.test(l))).toEqual([]);
    expect(step).toContain("# Managed by agent-runtime: limits for $AR_AGENT (agent of $AR_OWNER), from team.yaml.");
    expect(renderScript("gate/wait-ssh.sh", {})).toContain(template("gate/wait-ssh.sh").trimEnd());
    expect(renderScript("bootstrap/admin.sh", {}, "inline")).toContain(template("bootstrap/admin.sh").trimEnd());
  });
  test("the rendered scripts shrink by about a third", () => {
    const names = shellTemplates.filter((n) => !/^(bootstrap|gate|lib)\//.test(n));
    const full = names.reduce((n, t) => n + template(t).length, 0);
    const lean = names.reduce((n, t) => n + withoutComments(template(t)).length, 0);
    expect(lean / full).toBeLessThan(0.8);
  });
});

/** Lines of TEXT inside here-documents (bash's reading, by a simple scan of `<<WORD`). */
function insideHeredocs(text: string): Set<string> {
  const kept = new Set<string>();
  let end: string | undefined;
  for (const line of text.split("\n")) {
    if (end !== undefined) {
      if (line.trim() === end) end = undefined;
      else kept.add(line);
      continue;
    }
    const m = /<<-?\s*['"]?([A-Za-z_]\w*)/.exec(line);
    if (m && !line.includes("<<<")) end = m[1];
  }
  return kept;
}
