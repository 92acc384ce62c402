/**
 * A matrix of the request/response tools over real agents on loopback: two
 * nodes, each with a host agent and a pod agent (all on 127.0.0.1), real
 * nginx + wrk (http) and sockperf. Every case is measured, its spec carries
 * the matrix's http/sockperf parameters to the agents, and the report has the
 * requests/s, connections/s, percentile and CPU-per-request columns.
 * RECORD_RR_FIXTURE=DIR copies the run directory there (the fixture of
 * test/report-rr.test.ts). Needs nginx, wrk and sockperf on PATH (scripts/install-tools.sh); skips
 * clearly without them.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const onPath = (bin: string): boolean => {
  try {
    execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};
const missing = ["nginx", "wrk", "sockperf"].filter((b) => !onPath(b));
if (missing.length) console.warn(`test/matrix-rr.test.ts: skipped, not on PATH: ${missing.join(", ")} (scripts/install-tools.sh installs them)`);

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validateReport = ajv.compile(reportSchema);

let dir: string;
let coord: CoordinatorProc;
let addr: string;
const slot = testSlot();
/** Each agent's tool-server ports: 20 of the slot's (4 agents). */
let ports = 0;

const cli = (args: string[]) => runNetmatrix([...args, "--coordinator", addr, "--token-file", coord.tokenFile]);

describe.skipIf(missing.length > 0)("a matrix of http and sockperf (loopback, real nginx, wrk and sockperf)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-matrix-rr-"));
    coord = await startCoordinatorProc({ dataDir: dir, listen: "127.0.0.1:0" });
    addr = `127.0.0.1:${coord.port}`;
    for (const node of ["n1", "n2"]) {
      for (const [mode, pod] of [
        ["host", undefined],
        ["pod", `${node}-pa`],
      ] as const) {
        await startAgentProc({ coordinator: addr, tokenFile: coord.tokenFile, node, mode, address: "127.0.0.1", portRange: slot.portRange(ports, 20), ...(pod ? { pod } : {}) });
        ports += 20;
      }
    }
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("every case is measured with its own parameters, and the report has the request/response columns", async () => {
    const file = join(dir, "rr.yaml");
    writeFileSync(
      file,
      [
        "name: rr",
        "scenarios: [host-host, pod-pod-cross]",
        "tools: [http, sockperf]",
        "protocols: [tcp, udp]",
        "connections: [4]",
        "bodies: [1K]",
        "httpModes: [keepalive, new-connection]",
        "messageRates: [0]",
        "duration: 1",
        "omit: 0",
        "repetitions: 2",
        "pairs: { sample: 1 }",
        "",
      ].join("\n"),
    );
    const res = await cli(["run", "--spec", file, "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(validateReport(doc), ajv.errorsText(validateReport.errors)).toBe(true);
    // Per scenario: http keepalive + new-connection (TCP only: its UDP case is skipped), sockperf tcp + udp.
    expect(doc.cases).toHaveLength(8);
    expect(doc.run).toMatchObject({ status: "finished", total: 16, done: 16, failed: 0 });
    const keys = doc.cases.map((c: any) => c.key.split("/").slice(1, -1).join("/")).sort();
    expect([...new Set(keys)]).toEqual(["http/tcp/forward/C4/B1K/keepalive", "http/tcp/forward/C4/B1K/new-connection", "sockperf/tcp/forward/L0/R0", "sockperf/udp/forward/L0/R0"]);
    for (const c of doc.cases) {
      expect(c.summary.failed, `${c.key}: ${JSON.stringify(c.repetitions.map((r: any) => r.failure))}`).toBe(0);
      expect(c.summary.latencyP50Us.n).toBe(2);
      expect(c.summary.latencyP99Us.mean).toBeGreaterThanOrEqual(c.summary.latencyP50Us.mean);
    }
    const http = doc.cases.filter((c: any) => c.tool === "http");
    for (const c of http) {
      // The matrix's parameters reached the agents: the case's spec and wrk's figures.
      expect(c).toMatchObject({ connections: 4, bodyBytes: 1024 });
      expect(c.summary.requestsPerS.mean).toBeGreaterThan(0);
      expect(c.summary.clientCpuPercentPer10kRequests.n).toBe(2);
      expect(c.summary.serverCpuPercentPer10kRequests.mean).toBeGreaterThan(0);
    }
    const crr = http.find((c: any) => c.httpMode === "new-connection" && c.scenario === "pod-pod-cross");
    expect(crr.summary.connectionsPerS.mean).toBeCloseTo(crr.summary.requestsPerS.mean, 6);
    expect(crr.summary.clientCpuPercentPer1kConnections.n).toBe(2);
    // Its ratio to host-host is requests/s over the host-host requests/s.
    const base = doc.cases.find((c: any) => c.key === crr.baselineKey);
    expect(crr.summary.ratioToBaseline).toBeCloseTo(crr.summary.requestsPerS.mean / base.summary.requestsPerS.mean, 9);
    expect(http.find((c: any) => c.httpMode === "keepalive").summary.connectionsPerS).toBeUndefined();
    const sockperf = doc.cases.filter((c: any) => c.tool === "sockperf");
    for (const c of sockperf) expect(c.summary.latencyP999Us.mean).toBeGreaterThanOrEqual(c.summary.latencyP99Us.mean);

    const table = await cli(["report", doc.run.runId, "--output", "table", "--wide"]);
    expect(table.code, table.stderr).toBe(0);
    for (const head of ["REQ/S", "CONN/S", "P50 · P90 · P99", "P99.9", "%CPU/10K REQ", "%CPU/1K CONN"]) expect(table.stdout).toContain(head);
    expect(table.stdout).toContain("http tcp forward 4 conns body 1 KiB new-connection");
    // RECORD_RR_FIXTURE=report/fixtures/runs/loopback-rr keeps the run directory as the fixture of test/report-rr.test.ts.
    const record = process.env["RECORD_RR_FIXTURE"];
    if (record) cpSync(join(dir, "runs", doc.run.runId), record, { recursive: true });
    const csv = await cli(["report", doc.run.runId, "--output", "csv"]);
    expect(csv.stdout.split("\n")[0]).toContain("requestsPerS,requestsPerSCi95Low,requestsPerSCi95High,connectionsPerS");
  }, 240_000);
});
