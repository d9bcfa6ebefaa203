import { LogSeverity } from "@pulumi/pulumi/proto/engine_pb";
import { afterEach, describe, expect, test } from "vitest";
import { leanSdk } from "../../src/program/lean";

// The program turns off the SDK's per-promise stack traces and its debug messages to the
// engine (src/program/lean.ts), unless AGENT_RUNTIME_DEBUG=1. A fake engine client stands
// for the SDK's gRPC client: what reaches it is what the engine would get.

const limit = Error.stackTraceLimit;
afterEach(() => {
  Error.stackTraceLimit = limit;
});

function fakeEngine() {
  const seen: number[] = [];
  return {
    seen,
    log(request: { getSeverity(): number }, done: (e: null) => void) {
      seen.push(request.getSeverity());
      done(null);
      return "sent";
    },
  };
}
const req = (severity: number) => ({ getSeverity: () => severity });
const answered = (call: (done: () => void) => void) => new Promise<void>((resolve) => call(resolve));

describe("leanSdk", () => {
  test("debug messages are answered without reaching the engine; everything else is sent", async () => {
    const engine = fakeEngine();
    leanSdk({}, engine);
    await answered((done) => engine.log(req(LogSeverity.DEBUG), done));
    expect(engine.seen).toEqual([]);
    for (const s of [LogSeverity.INFO, LogSeverity.WARNING, LogSeverity.ERROR]) {
      await answered((done) => expect(engine.log(req(s), done)).toBe("sent"));
    }
    expect(engine.seen).toEqual([LogSeverity.INFO, LogSeverity.WARNING, LogSeverity.ERROR]);
  });
  test("errors made after it carry their message and no stack frames", () => {
    leanSdk({}, fakeEngine());
    const e = new Error("team.yaml:3:5 developers[0].name: bad");
    expect(e.stack).toBe("Error: team.yaml:3:5 developers[0].name: bad");
  });
  test("AGENT_RUNTIME_DEBUG=1 keeps stacks and debug messages", async () => {
    const engine = fakeEngine();
    leanSdk({ AGENT_RUNTIME_DEBUG: "1" }, engine);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error("x").stack).toMatch(/\n\s+at /);
    await answered((done) => engine.log(req(LogSeverity.DEBUG), done));
    expect(engine.seen).toEqual([LogSeverity.DEBUG]);
  });
  test("without an engine (mocks) only the stack limit changes", () => {
    leanSdk({}, undefined);
    expect(Error.stackTraceLimit).toBe(0);
  });
});
