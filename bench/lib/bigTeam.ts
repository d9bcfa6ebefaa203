// A generated team of N developers for bench/preview.sh (not product code): developer 1
// is the lead (reaches everyone's agent user), every tenth developer after that is a
// senior mentoring the next two; each server is an `existing` host that is never
// contacted (a preview runs no step). Usage: tsx bench/lib/bigTeam.ts N > team.yaml
import { stringify } from "yaml";

/** An `ssh-ed25519 AAAA…` line, unique per (kind, i): 32 key bytes of `kind` with `i` in the first two. */
function fixedKey(kind: number, i: number, comment: string): string {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const bytes = Buffer.alloc(32, kind);
  bytes.writeUInt16BE(i, 0);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(bytes)]).toString("base64");
  return `ssh-ed25519 ${blob} ${comment}`;
}

const n = Number(process.argv[2]);
if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error("usage: bigTeam.ts N (1..2000)");
const name = (i: number) => `dev${String(i).padStart(4, "0")}`;
const developers = Array.from({ length: n }, (_, k) => {
  const i = k + 1;
  const senior = i > 1 && i % 10 === 1;
  return {
    name: name(i),
    ...(i === 1 ? { role: "lead" } : senior ? { role: "senior", mentees: [i + 1, i + 2].filter((m) => m <= n).map(name) } : {}),
    sshKeys: [fixedKey(1, i, `${name(i)}@bench`)],
    server: {
      provider: "existing",
      host: `10.213.${64 + Math.floor(k / 250)}.${(k % 250) + 2}`,
      port: 22,
      adminUser: "root",
      hostKey: fixedKey(2, i, `root@${name(i)}`),
    },
  };
});
process.stdout.write(
  stringify({ team: "bench", defaults: { provider: "existing", et: { port: 2022, source: "none" } }, developers }, { lineWidth: 0 }),
);
