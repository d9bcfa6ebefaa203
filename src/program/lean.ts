import * as pulumi from "@pulumi/pulumi";
import { LogSeverity } from "@pulumi/pulumi/proto/engine_pb";

// Two things the Node SDK does for every resource that cost more than the resource itself
// in a large preview (README "Performance": 200 developers, 3,317 resources, measured
// one at a time on an idle machine: 26.7 → 22.6 → 19.4 s):
//   - it records a stack trace for every promise it makes (`debuggablePromise`, for its
//     leak report): ~4 s of CPU and the memory the collector then walks;
//   - it sends its own debug messages ("Registering resource …", "RegisterResource RPC
//     finished …", three per resource) to the engine, one RPC each, strictly one after
//     another; the engine shows them only with `--debug`.
// Both are turned off once team.yaml is read and planned (errors until then keep their
// stacks). A program error after that point is its message alone; our own errors never
// needed the stack (they name the team.yaml line or the config key). AGENT_RUNTIME_DEBUG=1
// keeps all of it: stacks (source-mapped, as ts-node prints them) and the debug messages.

/** ts-node maps every stack trace through source maps, and the SDK makes one per promise:
 *  V8's own traces (JavaScript positions) instead, unless AGENT_RUNTIME_DEBUG=1. The
 *  first thing index.ts does, so that team.yaml errors still carry a (plain) stack. */
export function plainStacks(env: NodeJS.ProcessEnv = process.env): void {
  if (env.AGENT_RUNTIME_DEBUG !== "1") Reflect.deleteProperty(Error, "prepareStackTrace");
}

/** The one method of the SDK's engine client touched here. */
interface LogClient {
  log(request: { getSeverity(): number }, ...rest: unknown[]): unknown;
}

/** Trim the SDK's per-resource bookkeeping (see the file comment) unless env says not to.
 *  `engine` is the SDK's engine client (pulumi.runtime.getEngine(); a parameter for tests). */
export function leanSdk(
  env: NodeJS.ProcessEnv = process.env,
  engine: LogClient | undefined = pulumi.runtime.getEngine() as unknown as LogClient | undefined,
): void {
  if (env.AGENT_RUNTIME_DEBUG === "1") return;
  Error.stackTraceLimit = 0;
  if (!engine) return; // no engine: a unit test with mocks
  const send = engine.log.bind(engine);
  engine.log = (request, ...rest) => {
    if (request.getSeverity() !== LogSeverity.DEBUG) return send(request, ...rest);
    // The SDK waits for this callback before its next message: answer as the engine would.
    const done = rest[rest.length - 1];
    if (typeof done === "function") setImmediate(() => (done as (e: null) => void)(null));
    return undefined;
  };
}
