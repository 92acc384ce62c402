/**
 * End to end on 127.0.0.1: a real coordinator, real agents and the real CLI
 * (built from this checkout) drive real iperf3, iperf2, qperf and ping.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import schema from "../docs/run-document.schema.json" with { type: "json" };
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll, type Proc } from "./harness/processes.js";
import { which } from "../agent/src/tools.js";
import { testSlot } from "./harness/slot.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
// The run document is read as `any` below (the schema, not the type system, checks it).
const validate = ajv.compile<any>(schema);

const slot = testSlot();
let dir: string;
let coord: CoordinatorProc;
let addr: string;
const agents: Record<string, Proc> = {};

/** `netmatrix run …` against the test coordinator, parsed and schema-checked. */
async function run(args: string[]) {
  const res = await runNetmatrix(["run", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json", ...args]);
  let doc: any;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw new Error(`run ${args.join(" ")} printed no JSON (exit ${res.code}):\n${res.stderr}`);
  }
  if (!validate(doc)) throw new Error(`schema: ${ajv.errorsText(validate.errors)}`);
  return { ...res, doc, rep: doc.cases[0].repetitions[0] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-loopback-"));
  coord = await startCoordinatorProc({ dataDir: dir });
  addr = `127.0.0.1:${coord.port}`;
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
  agents.a = await startAgentProc({ ...common, node: "node-a", portRange: slot.portRange(0, 100) });
  agents.b = await startAgentProc({ ...common, node: "node-b", portRange: slot.portRange(100, 100) });
  // An agent whose PATH lacks qperf, to see "tool missing" name the package.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["iperf3", "iperf", "ping", "wrk", "nginx", "sockperf", "timeout"]) symlinkSync(which(tool, `${process.env.PATH}:/usr/sbin`)!, join(bin, tool));
  agents.c = await startAgentProc({ ...common, node: "node-c", portRange: slot.portRange(200, 100), env: { PATH: bin } });
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("agents", () => {
  test("lists both agents with their tools and versions", async () => {
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout);
    const a = doc.agents.find((x: any) => x.id === "node-a/host");
    expect(a.address).toBe("127.0.0.1");
    expect(a.tools.map((t: any) => `${t.tool} ${t.version}`)).toEqual(expect.arrayContaining(["iperf3 3.12", "iperf2 2.1.8", "qperf 0.4.11"]));
    expect(doc.agents.find((x: any) => x.id === "node-c/host").missingTools).toEqual(["qperf"]);
  });

  test("an agent exposes NIC counters, CPU and memory for Prometheus", async () => {
    const port = Number((await agents.a!.waitFor(/"metricsPort":(\d+)/))[1]);
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(body).toContain("# TYPE netmatrix_interface_receive_bytes_total counter");
    expect(body).toMatch(/netmatrix_interface_transmit_bytes_total\{interface="lo",node="node-a"\} [1-9]\d*/);
    expect(body).toMatch(/netmatrix_node_cpu_seconds_total\{mode="idle",node="node-a"\} \d/);
    expect(body).toMatch(/netmatrix_node_memory_bytes\{kind="available",node="node-a"\} [1-9]/);
  });

  test("table output names every agent", async () => {
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile]);
    expect(res.code).toBe(0);
    for (const id of ["node-a/host", "node-b/host", "node-c/host"]) expect(res.stdout).toContain(id);
  });
});

describe("every driver over loopback", () => {
  test.each([
    ["iperf3 tcp", ["--tool", "iperf3", "--duration", "2"], (m: any) => expect(m.throughputBps).toBeGreaterThan(1e9)],
    ["iperf3 tcp -P 2 reverse", ["--tool", "iperf3", "--duration", "2", "--parallel", "2", "--reverse"], (m: any) => expect(m.streams).toHaveLength(2)],
    ["iperf3 tcp bidir", ["--tool", "iperf3", "--duration", "2", "--bidir"], (m: any) => expect(m.reverseReceiverBps).toBeGreaterThan(1e8)],
    [
      "iperf3 udp 200M",
      ["--tool", "iperf3", "--protocol", "udp", "--bitrate", "200M", "--duration", "2"],
      (m: any) => {
        expect(m.throughputBps / 200e6).toBeGreaterThan(0.9);
        expect(m.lossPercent).toBeGreaterThanOrEqual(0);
        expect(m.jitterMs).toBeGreaterThanOrEqual(0);
      },
    ],
    [
      "iperf2 tcp -P 4",
      ["--tool", "iperf2", "--duration", "2", "--parallel", "4"],
      (m: any) => {
        expect(m.streams).toHaveLength(4);
        expect(m.throughputBps).toBeGreaterThan(1e9);
      },
    ],
    [
      "iperf2 udp 100M (loss from the server)",
      ["--tool", "iperf2", "--protocol", "udp", "--bitrate", "100M", "--duration", "2"],
      (m: any) => {
        expect(m.lossPercent).toBeGreaterThanOrEqual(0);
        expect(m.packets).toBeGreaterThan(1000);
        expect(m.jitterMs).toBeGreaterThanOrEqual(0);
      },
    ],
    [
      "qperf tcp",
      ["--tool", "qperf", "--duration", "1"],
      (m: any) => {
        expect(m.throughputBps).toBeGreaterThan(1e8);
        expect(m.latency.kind).toBe("one-way");
        expect(m.latency.meanUs).toBeGreaterThan(0);
      },
    ],
    ["qperf udp", ["--tool", "qperf", "--protocol", "udp", "--duration", "1"], (m: any) => expect(m.latency.meanUs).toBeGreaterThan(0)],
    [
      "ping",
      ["--tool", "ping", "--count", "5", "--interval", "200"],
      (m: any) => {
        expect(m.latency.kind).toBe("rtt");
        expect(m.latency.samples).toBe(5);
        expect(m.latency.p99Us).toBeGreaterThanOrEqual(m.latency.p50Us);
        expect(m.lossPercent).toBe(0);
      },
    ],
  ])("%s", async (_name, args, check) => {
    const { code, doc, rep, stderr } = await run(["--client", "node-a", "--server", "node-b/host", ...args]);
    expect(rep.failure, stderr).toBeNull();
    expect(code).toBe(0);
    expect(doc.cases[0].target).toBe("127.0.0.1");
    expect(rep.client.argv.join(" ")).toContain("127.0.0.1");
    check(rep.measurement);
  });

  test("repetitions are all reported, with a summary", async () => {
    const { doc } = await run(["--client", "node-b", "--server", "node-a", "--tool", "iperf3", "--duration", "1", "--repetitions", "3"]);
    const c = doc.cases[0];
    expect(c.repetitions.map((r: any) => r.index)).toEqual([0, 1, 2]);
    expect(c.summary.throughputBps.n).toBe(3);
    expect(c.summary.throughputBps.min).toBeLessThanOrEqual(c.summary.throughputBps.mean);
  });
});

describe("honest failures", () => {
  test("a missing tool names the package to install, exit 1", async () => {
    const { code, rep } = await run(["--client", "node-c", "--server", "node-a", "--tool", "qperf", "--duration", "1"]);
    expect(code).toBe(1);
    expect(rep.measurement).toBeNull();
    expect(rep.failure.code).toBe("tool-missing");
    expect(rep.failure.hint).toContain("apt-get install qperf");
  });

  test("a wrong token is refused with a clear message", async () => {
    const bad = join(dir, "bad-token");
    writeFileSync(bad, "not-the-token\n");
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/wrong token/);
  });

  test("an agent with a wrong token is refused and not listed", async () => {
    const bad = join(dir, "bad-token-2");
    writeFileSync(bad, "also-wrong\n");
    const p = await startAgentProc({ coordinator: addr, tokenFile: bad, node: "intruder", waitRegistered: false });
    await p.waitFor(/coordinator refused this agent: wrong token/);
    await p.stop();
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    expect(JSON.parse(res.stdout).agents.map((a: any) => a.node)).not.toContain("intruder");
  });

  test("out-of-bounds values are refused before any traffic", async () => {
    const res = await runNetmatrix(["run", "--coordinator", addr, "--token-file", coord.tokenFile, "--client", "node-a", "--server", "node-b", "--parallel", "500"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/--parallel must be an integer in 1\.\.128/);
  });

  test("an unknown agent name lists the connected ones", async () => {
    const res = await runNetmatrix(["run", "--coordinator", addr, "--token-file", coord.tokenFile, "--client", "node-x", "--server", "node-b", "--duration", "1"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no agent "node-x" is connected/);
    expect(res.stderr).toMatch(/node-a\/host/);
  });

  test("an unreachable coordinator says where it looked", async () => {
    const res = await runNetmatrix(["agents", "--coordinator", "127.0.0.1:1", "--token-file", coord.tokenFile]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/no coordinator at 127\.0\.0\.1:1: connection refused/);
  });

  test("a client agent killed mid-case fails the case with a reason, within its deadline", async () => {
    const victim = await startAgentProc({ coordinator: addr, tokenFile: coord.tokenFile, node: "node-v", address: "127.0.0.1", portRange: slot.portRange(300, 100) });
    const started = performance.now();
    const pending = run(["--client", "node-v", "--server", "node-b", "--tool", "iperf3", "--duration", "8"]);
    // Let the case get going (CLI start, server ready, client running), then crash the client's agent.
    await new Promise((r) => setTimeout(r, 2500));
    victim.child.kill("SIGKILL");
    const { code, rep } = await pending;
    const elapsed = performance.now() - started;
    expect(code).toBe(1);
    expect(rep.failure.code).toBe("agent-gone");
    expect(rep.failure.reason).toMatch(/node-v\/host disconnected/);
    expect(elapsed).toBeLessThan(8_000);
  });
});
