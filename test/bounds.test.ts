/**
 * Bounds on everything, over a real coordinator and real agents on loopback:
 * every oversized request — a spec inside every per-key limit that asks for
 * tens of millions of case runs, a run estimated past the duration cap, ping
 * count × interval past the 3600 s cap, a 100 MB spec file, a spec message no
 * CLI would send — is refused before any traffic with the limit and the fix;
 * the coordinator's memory stays where it was; both agents keep their
 * sessions and the next normal case runs. And an agent bounds what any
 * coordinator may ask of it: deadlines, concurrent servers, clients and
 * sampling windows.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RunCaseRequestSchema, RunMatrixRequestSchema } from "../gen/netmatrix/v1/control_pb.js";
import { PairSelectionSchema } from "../gen/netmatrix/v1/matrix_pb.js";
import { Direction, FailureCode, Protocol, TestSpecSchema, Tool } from "../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../common/src/errors.js";
import { AGENT_LIMITS, MAX_DEADLINE_MS } from "../tools/src/limits.js";
import { specFromObject, specMessage } from "../coordinator/src/matrix/index.js";
import { startCoordinator, type RunningCoordinator } from "../coordinator/src/coordinator.js";
import type { AgentLink, Reply } from "../coordinator/src/agent-link.js";
import { ControlClient } from "../cli/src/control-client.js";
import { startAgentProc, startCoordinatorProc, writeToken, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll, type Proc } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
let dir: string;
let coord: CoordinatorProc;
let addr: string;
let a: Proc;
let b: Proc;

const conn = (): string[] => ["--coordinator", addr, "--token-file", coord.tokenFile];
const cli = (args: string[]) => runNetmatrix([...args, ...conn()]);

/** A field of /proc/PID/status in kB (VmRSS: now; VmHWM: the peak so far). */
function procStatusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

function specFile(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

const range = (n: number, from = 1): string => `[${Array.from({ length: n }, (_, i) => from + i).join(", ")}]`;

/**
 * Inside every per-key limit (32 parallel values, 32 lengths, 18,432
 * parameter combinations, 1000 repetitions), on just these two agents:
 * 22,720 runnable cases × 1000 = 22,720,000 case runs. Before the caps the coordinator
 * planned and scheduled all of them (gigabytes, then a heap-out-of-memory crash).
 */
const HUGE = [
  "name: huge",
  "scenarios: [host-host]",
  "tools: [iperf3, iperf2, qperf]",
  "protocols: [tcp, udp]",
  "directions: [forward, reverse, bidir]",
  `parallel: ${range(32)}`,
  `lengths: ${range(32, 1000)}`,
  "repetitions: 1000",
];

const SMALL = ["name: small", "scenarios: [host-host]", "tools: [iperf3]", "duration: 1", "omit: 0", "repetitions: 1"];

/** Each agent registered once: no refused request dropped a session. */
function registeredOnce(p: Proc): void {
  expect(p.stderr.match(/"msg":"registered"/g)?.length ?? 0).toBe(1);
  expect(p.child.exitCode).toBeNull();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-bounds-"));
  coord = await startCoordinatorProc({ dataDir: dir });
  addr = `127.0.0.1:${coord.port}`;
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
  a = await startAgentProc({ ...common, node: "bx-a", portRange: slot.portRange(500, 20) });
  b = await startAgentProc({ ...common, node: "bx-b", portRange: slot.portRange(520, 20) });
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("a coordinator refuses what is too big before any traffic, and goes on", () => {
  test("a normal matrix runs (the baseline)", async () => {
    const res = await cli(["run", "--spec", specFile("small.yaml", SMALL), "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/2 cases, 2 to measure/);
  }, 60_000);

  test("a spec inside every per-key limit that asks for 22.7 million case runs is refused at once, the coordinator's memory unmoved", async () => {
    const pid = coord.proc.child.pid!;
    const rssBefore = procStatusKb(pid, "VmRSS");
    const peakBefore = procStatusKb(pid, "VmHWM");
    // A reference through the same path: a spec the planner refuses at once (no agent on that node).
    const t0 = performance.now();
    const ref = await cli(["run", "--spec", specFile("nowhere.yaml", ["name: nowhere", "scenarios: [host-host]", "pairs: { nodes: [nowhere-1, nowhere-2] }"])]);
    const refMs = performance.now() - t0;
    expect(ref.code).toBe(2);
    expect(ref.stderr).toMatch(/no agent runs on node "nowhere-1"/);

    const t1 = performance.now();
    const res = await cli(["run", "--spec", specFile("huge.yaml", HUGE)]);
    const hugeMs = performance.now() - t1;
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      "netmatrix: the spec asks for 22,720 cases × 1000 repetitions = 22,720,000 case runs, more than the cap of 500,000 (the coordinator's --max-cases)",
    );
    expect(res.stderr).toMatch(/hint: list fewer values .* or start the coordinator with a higher --max-cases/);
    // As quick as a trivial refusal, and the coordinator's peak memory grew by less than half of what it used
    // (without the cap: 30 s, and from 87 MB to 2.5 GB, here).
    expect(hugeMs).toBeLessThan(3 * refMs);
    const peakAfter = procStatusKb(pid, "VmHWM");
    expect(peakAfter - peakBefore).toBeLessThan(rssBefore / 2);
    expect(coord.proc.child.exitCode).toBeNull();
  }, 60_000);

  test.each([
    {
      what: "a run estimated past the coordinator's 30-day cap",
      args: () => ["run", "--spec", specFile("long.yaml", ["name: long", "scenarios: [host-host]", "duration: 3000", "omit: 0", "repetitions: 1000"])],
      message: "netmatrix: the run would take at least 69 d (2,000 case runs, at most 1 at a time), more than the cap of 30 d (the coordinator's --max-run-duration)",
      hint: /a shorter duration, fewer cases or repetitions, or a higher concurrency/,
    },
    {
      what: "a run past its own --max-run-duration",
      args: () => [
        "run",
        "--spec",
        specFile(
          "small-20.yaml",
          [...SMALL, "repetitions: 20"].filter((l) => l !== "repetitions: 1"),
        ),
        "--max-run-duration",
        "1m",
      ],
      message: "netmatrix: the run would take at least 68 s (40 case runs, at most 1 at a time), more than the cap of 60 s (this run's --max-run-duration)",
      hint: /or raise --max-run-duration on `netmatrix run`/,
    },
    {
      what: "a run whose schedule (not just its lower bound) passes --max-run-duration",
      // Lower bound 34 s (2 nodes: at most 2 at a time); a→b and b→a share both nodes, so the schedule runs one at a time: 68 s.
      args: () => [
        "run",
        "--spec",
        specFile(
          "small-20c.yaml",
          [...SMALL, "repetitions: 20", "concurrency: 2"].filter((l) => l !== "repetitions: 1"),
        ),
        "--max-run-duration",
        "50",
      ],
      message: "netmatrix: the run would take an estimated 68 s (40 rounds, at most 2 at a time), more than the cap of 50 s (this run's --max-run-duration)",
      hint: /or raise --max-run-duration on `netmatrix run`/,
    },
    {
      what: "a run past its own --max-cases",
      args: () => [
        "run",
        "--spec",
        specFile(
          "small-2.yaml",
          [...SMALL, "repetitions: 2"].filter((l) => l !== "repetitions: 1"),
        ),
        "--max-cases",
        "3",
      ],
      message: "netmatrix: the spec asks for 2 cases × 2 repetitions = 4 case runs, more than the cap of 3 (this run's --max-cases)",
      hint: /or raise --max-cases on `netmatrix run`/,
    },
    {
      what: "a single case whose repetitions pass its --max-run-duration",
      args: () => ["run", "--client", "bx-a", "--server", "bx-b", "--tool", "iperf3", "--duration", "2", "--repetitions", "10", "--max-run-duration", "10"],
      message: "netmatrix: the run would take about 27 s (10 repetitions of 2.7 s), more than the cap of 10 s (this run's --max-run-duration)",
      hint: /or raise --max-run-duration/,
    },
    {
      what: "ping count × interval past the 3600 s cap (refused by the CLI, as the coordinator and agents would)",
      args: () => ["run", "--client", "bx-a", "--server", "bx-b", "--tool", "ping", "--count", "100000", "--interval", "60000"],
      message: "netmatrix: spec refused: ping would run for 6000000 s (100000 requests × 60 s), above the 3600 s a test may run; send fewer requests or at a shorter interval",
      hint: /allowed ranges/,
    },
    {
      what: "qperf for 2000 s (two tests)",
      args: () => ["run", "--client", "bx-a", "--server", "bx-b", "--tool", "qperf", "--duration", "2000"],
      message: "netmatrix: spec refused: qperf would run for 4000 s (2 tests × 2000 s), above the 3600 s a test may run",
      hint: /allowed ranges/,
    },
    {
      what: "a 100 MB spec file (checked before it is read)",
      args: () => {
        const path = join(dir, "100mb.yaml");
        closeSync(openSync(path, "w"));
        truncateSync(path, 100_000_000);
        return ["run", "--spec", path];
      },
      message: "is 100000000 bytes, more than the 1048576 bytes (1 MiB) a spec file may have",
      hint: /split a large matrix into several specs/,
    },
    {
      what: "a spec listing 33 parallel values",
      args: () => ["run", "--spec", specFile("wide.yaml", [...SMALL, `parallel: ${range(33)}`])],
      message: "wide.yaml:7: parallel lists 33 entries, more than the 32 a spec may list; list at most 32 (distinct) entries",
      hint: /./,
    },
  ])(
    "$what",
    async ({ args, message, hint }) => {
      const res = await cli(args());
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toContain(message);
      expect(res.stderr).toMatch(hint);
      expect(res.stderr).not.toMatch(/\brun \S+ \(|to measure/); // no run started
    },
    60_000,
  );

  test("a client that skips the CLI's checks gets the same refusals from the coordinator", async () => {
    const client = new ControlClient(addr, readFileSync(coord.tokenFile, "utf8").trim());
    const refusal = async (p: Promise<unknown>): Promise<NetmatrixError> => {
      try {
        await p;
      } catch (err) {
        if (err instanceof NetmatrixError) return err;
        throw err;
      }
      throw new Error("accepted");
    };
    try {
      // The deadline of this once overflowed its uint32 field and dropped both agents' sessions.
      const ping = create(TestSpecSchema, { tool: Tool.PING, direction: Direction.FORWARD, durationS: 10, parallel: 1, pingCount: 100_000, pingIntervalMs: 60_000 });
      const e1 = await refusal(client.runCase(create(RunCaseRequestSchema, { client: "bx-a", server: "bx-b", spec: ping, repetitions: 1 }), () => undefined));
      expect(e1.code).toBe("invalid-argument");
      expect(e1.message).toBe("spec refused: ping would run for 6000000 s (100000 requests × 60 s), above the 3600 s a test may run; send fewer requests or at a shorter interval");
      const wide = specMessage(specFromObject({ name: "wide", scenarios: ["host-host"] }));
      wide.parallel = Array.from({ length: 500_000 }, (_, i) => (i % 128) + 1);
      const e2 = await refusal(client.runMatrix(create(RunMatrixRequestSchema, { spec: wide, specSource: "hostile" }), () => undefined));
      expect(e2.message).toBe("hostile: parallel lists 500000 entries, more than the 32 a spec may list; list at most 32 (distinct) entries, or split the spec into several runs");
      const names = specMessage(specFromObject({ name: "names", scenarios: ["host-host"] }));
      names.pairs = create(PairSelectionSchema, { selection: { case: "nodes", value: { nodes: ["bx-a", `<img src=x onerror=alert(1)>${"y".repeat(300_000)}`] } } });
      const e3 = await refusal(client.runMatrix(create(RunMatrixRequestSchema, { spec: names, specSource: "hostile" }), () => undefined));
      expect(e3.message).toBe("hostile: node name is 300028 characters, above the limit of 253; write the node's name as its agents registered it (a Kubernetes node name)");
      const huge = specMessage(
        specFromObject({
          name: "huge",
          scenarios: ["host-host"],
          tools: ["iperf3", "iperf2", "qperf"],
          protocols: ["tcp", "udp"],
          directions: ["forward", "reverse", "bidir"],
          parallel: Array.from({ length: 32 }, (_, i) => i + 1),
          lengths: Array.from({ length: 32 }, (_, i) => 1000 + i),
          repetitions: 1000,
        }),
      );
      const e4 = await refusal(client.runMatrix(create(RunMatrixRequestSchema, { spec: huge, specSource: "hostile", maxCaseRuns: 4_000_000_000 }), () => undefined));
      // A request cannot raise the coordinator's cap.
      expect(e4.message).toBe("the spec asks for 22,720 cases × 1000 repetitions = 22,720,000 case runs, more than the cap of 500,000 (the coordinator's --max-cases)");
    } finally {
      client.close();
    }
  }, 60_000);

  test("both agents kept their sessions, and a normal case still runs", async () => {
    const res = await cli(["run", "--client", "bx-a", "--server", "bx-b", "--tool", "iperf3", "--duration", "1", "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).cases[0].repetitions[0].ok).toBe(true);
    registeredOnce(a);
    registeredOnce(b);
    expect(coord.proc.child.exitCode).toBeNull();
  }, 60_000);
});

describe("an agent bounds what any coordinator may ask of it", () => {
  // The test process is the coordinator here (the real one, in-process), so it can send what no planner would.
  let hostile: RunningCoordinator;
  let agent: Proc;
  let link: AgentLink;
  const pingSpec = create(TestSpecSchema, { tool: Tool.PING, direction: Direction.FORWARD, durationS: 2, parallel: 1, pingCount: 10, pingIntervalMs: 200 });

  beforeAll(async () => {
    const hdir = join(dir, "hostile");
    const tokenFile = writeToken(hdir);
    hostile = await startCoordinator({ listen: "127.0.0.1:0", token: readFileSync(tokenFile, "utf8").trim(), dataDir: hdir }, pino({ level: "silent" }));
    agent = await startAgentProc({ coordinator: `127.0.0.1:${hostile.port}`, tokenFile, node: "bx-c", address: "127.0.0.1", portRange: slot.portRange(540, 60) });
    link = hostile.registry.list()[0]!;
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await hostile?.stop();
  });

  const failureOf = (r: Reply) => {
    if (r.case === "commandFailed") return r.value.failure!;
    if (r.case === "clientResult" && r.value.run?.outcome.case === "failure") return r.value.run.outcome.value;
    throw new Error(`expected a refusal, got ${r.case}`);
  };

  test.each([
    {
      what: "a server deadline past the cap",
      deadlineMs: 4_000_000_000,
      kind: "startServer",
      reason: `server refused: the server deadline 4000000000 ms is beyond ${MAX_DEADLINE_MS} ms`,
    },
    { what: "a server without a deadline", deadlineMs: 0, kind: "startServer", reason: "server refused: the server deadline 0 ms is not set" },
    {
      what: "a client deadline past the cap",
      deadlineMs: MAX_DEADLINE_MS + 1,
      kind: "runClient",
      reason: `client refused: the client deadline ${MAX_DEADLINE_MS + 1} ms is beyond ${MAX_DEADLINE_MS} ms`,
    },
    {
      what: "a sampling window past the cap",
      deadlineMs: 4_000_000_000,
      kind: "startSampling",
      reason: `sampling refused: the sampling deadline 4000000000 ms is beyond ${MAX_DEADLINE_MS} ms`,
    },
    { what: "a sampling window without a deadline", deadlineMs: 0, kind: "startSampling", reason: "sampling refused: the sampling deadline 0 ms is not set" },
  ] as const)("$what is refused", async ({ deadlineMs, kind, reason }) => {
    const reply = await link.request(
      (commandId) =>
        kind === "startServer"
          ? { case: "startServer", value: { commandId, tool: Tool.IPERF3, protocol: Protocol.TCP, deadlineMs } }
          : kind === "runClient"
            ? { case: "runClient", value: { commandId, spec: pingSpec, target: "127.0.0.1", deadlineMs } }
            : { case: "startSampling", value: { commandId, intervalMs: 100, deadlineMs } },
      10_000,
      kind,
    );
    const f = failureOf(reply);
    expect(f.code).toBe(FailureCode.INVALID_SPEC);
    expect(f.reason).toContain(reason);
  });

  test(`at most ${AGENT_LIMITS.servers} servers and ${AGENT_LIMITS.clients} clients at once; the next is refused as busy`, async () => {
    const servers = await Promise.all(
      Array.from({ length: AGENT_LIMITS.servers + 1 }, () =>
        link.request((commandId) => ({ case: "startServer", value: { commandId, tool: Tool.IPERF3, protocol: Protocol.TCP, deadlineMs: 30_000 } }), 15_000, "start server"),
      ),
    );
    const ready = servers.filter((r) => r.case === "serverReady");
    const busy = servers.filter((r) => r.case === "commandFailed");
    expect(ready).toHaveLength(AGENT_LIMITS.servers);
    expect(busy).toHaveLength(1);
    expect(failureOf(busy[0]!)).toMatchObject({
      code: FailureCode.SERVER_BUSY,
      reason: `this agent already runs ${AGENT_LIMITS.servers} tool servers, the most it runs at once (${AGENT_LIMITS.servers})`,
    });
    link.send({ case: "cancelAll", value: { reason: "test: servers checked" } });

    const clients = await Promise.all(
      Array.from({ length: AGENT_LIMITS.clients + 1 }, () =>
        link.request((commandId) => ({ case: "runClient", value: { commandId, spec: pingSpec, target: "127.0.0.1", deadlineMs: 20_000 } }), 25_000, "run client"),
      ),
    );
    const ran = clients.filter((r) => r.case === "clientResult");
    const refused = clients.filter((r) => r.case === "commandFailed");
    expect(refused).toHaveLength(1);
    expect(failureOf(refused[0]!)).toMatchObject({
      code: FailureCode.SERVER_BUSY,
      reason: `this agent already runs ${AGENT_LIMITS.clients} tool clients, the most it runs at once (${AGENT_LIMITS.clients})`,
    });
    expect(ran).toHaveLength(AGENT_LIMITS.clients);
    for (const r of ran) expect(r.case === "clientResult" && r.value.run?.outcome.case).toBe("measurement");
  }, 60_000);

  test("the agent kept its session through every refusal and still runs what is asked within bounds", async () => {
    const reply = await link.request((commandId) => ({ case: "runClient", value: { commandId, spec: pingSpec, target: "127.0.0.1", deadlineMs: 20_000 } }), 25_000, "run client");
    expect(reply.case === "clientResult" && reply.value.run?.outcome.case).toBe("measurement");
    expect(link.closed).toBe(false);
    registeredOnce(agent);
  }, 30_000);
});
