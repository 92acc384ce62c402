/**
 * Matrix runs over real agents on loopback: two nodes, each with a host
 * agent and two pod agents (all on 127.0.0.1), real iperf3.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import { RunMatrixRequestSchema } from "../gen/netmatrix/v1/control_pb.js";
import type { NetmatrixError } from "../common/src/errors.js";
import { specMessage } from "../coordinator/src/matrix/index.js";
import { connect } from "../cli/src/options.js";
import { loadSpec } from "../cli/src/spec-file.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, spawnNetmatrix, stopAll, type Proc } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validateReport = ajv.compile(reportSchema);

let dir: string;
let coord: CoordinatorProc;
let addr: string;
const agents = new Map<string, Proc>();
/** Each agent's tool-server ports: 60 of the slot's (7 agents), after loopback's and reconnect's. */
const slot = testSlot();
let ports = 500;

async function agent(node: string, mode: "host" | "pod", pod?: string): Promise<Proc> {
  const p = await startAgentProc({
    coordinator: addr,
    tokenFile: coord.tokenFile,
    node,
    mode,
    address: "127.0.0.1",
    portRange: slot.portRange(ports, 60),
    ...(pod ? { pod } : {}),
  });
  ports += 60;
  agents.set(`${node}/${mode}${pod ? `/${pod}` : ""}`, p);
  return p;
}

function spec(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${body}`);
  return file;
}

const cli = (args: string[]) => runNetmatrix([...args, "--coordinator", addr, "--token-file", coord.tokenFile]);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-matrix-"));
  coord = await startCoordinatorProc({ dataDir: dir, listen: "127.0.0.1:0" });
  addr = `127.0.0.1:${coord.port}`;
  for (const node of ["n1", "n2"]) {
    await agent(node, "host");
    await agent(node, "pod", `${node}-pa`);
    await agent(node, "pod", `${node}-pb`);
  }
}, 90_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("matrix runs (loopback, real iperf3)", () => {
  test("several scenarios × both protocols complete, with statistics and baselines, and are on disk", async () => {
    const file = spec(
      "mixed",
      "scenarios: [host-host, pod-pod-cross, pod-pod-same, pod-host]\ntools: [iperf3]\nprotocols: [tcp, udp]\nudpBitrates: [200M]\nduration: 1\nomit: 0\nrepetitions: 2\npairs: all\n",
    );
    // A dry run says what the run will be, counted without running it or listing its cases.
    const dry = await cli(["run", "--spec", file, "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("plan mixed (dry run, nothing measured): 16 cases × 2 repetitions = 32 case runs");
    expect(dry.stdout).toMatch(/on 2 nodes, 6 agents/);
    const dryRounds = Number(/(\d+) rounds \(/.exec(dry.stdout)?.[1]);
    expect(JSON.parse((await cli(["runs", "--output", "json"])).stdout).runs).toHaveLength(0);
    const res = await cli(["run", "--spec", file, "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    // The run's own count of rounds is the dry run's.
    expect(res.stderr).toContain(`${dryRounds} rounds`);
    const doc = JSON.parse(res.stdout);
    expect(validateReport(doc), ajv.errorsText(validateReport.errors)).toBe(true);
    // host-host 2 + pod-pod-cross 2 + pod-pod-same 2 + pod-host 2 = 8 per protocol
    expect(doc.cases).toHaveLength(16);
    expect(doc.run).toMatchObject({ status: "finished", total: 32, done: 32, failed: 0 });
    const same = doc.cases.find((c: any) => c.scenario === "pod-pod-same" && c.protocol === "tcp");
    expect(same.clientNode).toBe(same.serverNode);
    expect(same.client).not.toBe(same.server);
    const podCross = doc.cases.find((c: any) => c.scenario === "pod-pod-cross" && c.protocol === "tcp" && c.clientNode === "n1");
    expect(podCross.summary.throughputBps.n).toBe(2);
    expect(podCross.summary.ratioToBaseline).toBeGreaterThan(0);
    expect(podCross.baselineKey).toMatch(/^host-host\//);
    const udp = doc.cases.find((c: any) => c.protocol === "udp");
    expect(udp.summary.lossPercent.n).toBe(2);
    const runId = doc.run.runId;
    const lines = readFileSync(join(dir, "runs", runId, "cases.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(32);
    // The spec as run, stored with the YAML's keys (as runs before the typed spec stored it), defaults filled in.
    const stored = JSON.parse(readFileSync(join(dir, "runs", runId, "spec.json"), "utf8"));
    expect(stored).toEqual(doc.spec);
    expect(stored).toMatchObject({ udpBitrates: [2e8], duration: 1, omit: 0, pairs: "all", lengths: [0], thresholds: { cvPercent: 10, udpLossPercent: 1 } });
    const list = JSON.parse((await cli(["runs", "--output", "json"])).stdout);
    expect(list.runs.map((r: any) => r.runId)).toContain(runId);
    for (const format of ["csv", "markdown", "yaml", "table"]) {
      const r = await cli(["report", runId, "--output", format]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("pod-pod-cross");
    }
  }, 180_000);

  test("--budget runs only the rounds that fit, as the dry run with the same budget says", async () => {
    const file = spec("budget", "scenarios: [host-host]\ntools: [iperf3]\nprotocols: [tcp, udp]\nudpBitrates: [100M]\nduration: 1\nomit: 0\nrepetitions: 2\npairs: all\n");
    const dry = await cli(["run", "--spec", file, "--dry-run", "--budget", "5"]);
    expect(dry.code, dry.stderr).toBe(0);
    const m = /budget: the first (\d+) of (\d+) rounds fit/.exec(dry.stdout);
    expect(m, dry.stdout).not.toBeNull();
    const [fit, all] = [Number(m![1]), Number(m![2])];
    expect(all).toBe(8); // 2 ordered pairs × 2 protocols × 2 repetitions, one case per round on two nodes
    expect(fit).toBeGreaterThan(0);
    expect(fit).toBeLessThan(all);
    const res = await cli(["run", "--spec", file, "--budget", "5", "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.run).toMatchObject({ status: "finished", total: fit, done: fit, failed: 0 });
    // A budget that fits no round is refused, naming the fix.
    const none = await cli(["run", "--spec", file, "--budget", "1"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/fits no round[\s\S]*--budget/);
  }, 120_000);

  test("a malformed spec is refused before any traffic, naming the line and the fix", async () => {
    const file = spec("typo", "scenarios: [host-host]\ntools: [iperf3]\ndurration: 5\n");
    const res = await cli(["run", "--spec", file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/typo\.yaml:4/);
    expect(res.stderr).toMatch(/durration/);
    const bad = spec("scenario", "scenarios: [host-host, pod-pod]\ntools: [iperf3]\n");
    const r2 = await cli(["run", "--spec", bad]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/scenario\.yaml:2.*pod-pod/s);
  });

  test("the coordinator validates a typed spec again, with the CLI's message, and refuses an old CLI's spec_json naming the fix", async () => {
    const bad = spec("bounds", "scenarios: [host-host]\ntools: [iperf3]\nduration: 99999\n");
    const res = await cli(["run", "--spec", bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`netmatrix: ${bad}:4: duration 99999 s is outside 1..3600 s; use a value in 1..3600\n`);
    // A client that skips the CLI's check: the same value in a typed spec, over the wire.
    const message = specMessage(loadSpec(spec("bounds-ok", "scenarios: [host-host]\ntools: [iperf3]\n"), {}).spec);
    message.durationS = 99_999;
    const client = connect({ coordinator: addr, tokenFile: coord.tokenFile });
    const refused = (req: MessageInitShape<typeof RunMatrixRequestSchema>) =>
      client
        .runMatrix(create(RunMatrixRequestSchema, req), () => undefined)
        .then(
          () => undefined,
          (err: unknown) => err as NetmatrixError,
        );
    try {
      const typed = await refused({ spec: message, specSource: bad });
      expect(typed?.code).toBe("invalid-argument");
      expect(typed?.message).toBe(`${bad}: duration 99999 s is outside 1..3600 s; use a value in 1..3600`);
      const old = await refused({ specJson: JSON.stringify({ name: "old", scenarios: ["host-host"], duration: 1 }), specYaml: "name: old\n" });
      expect(old?.code).toBe("invalid-argument");
      expect(old?.message).toMatch(/only as spec_json, which this coordinator no longer reads/);
      expect(old?.hint).toMatch(/^upgrade the netmatrix CLI/);
    } finally {
      client.close();
    }
    // Refused before anything was recorded.
    const names = JSON.parse((await cli(["runs", "--output", "json"])).stdout).runs.map((r: { name: string }) => r.name);
    expect(names).not.toContain("bounds");
    expect(names).not.toContain("old");
  });

  test("a scenario no agent can fill is refused with the reason", async () => {
    const file = spec("external", "scenarios: [external-pod]\ntools: [iperf3]\nduration: 1\nomit: 0\n");
    const res = await cli(["run", "--spec", file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/external/);
    expect(res.stderr).toMatch(/--allow-partial/);
  });

  test("an agent killed mid-run fails only its cases; the run goes on", async () => {
    const victim = await agent("n3", "host");
    const file = spec("victim", "scenarios: [host-host]\ntools: [iperf3]\nprotocols: [tcp]\nduration: 1\nomit: 0\nrepetitions: 1\npairs: { nodes: [n1, n2, n3] }\n");
    const run = spawnNetmatrix(["run", "--spec", file, "--output", "json", "--coordinator", addr, "--token-file", coord.tokenFile]);
    await run.waitFor(/\[1\/6\]/, 60_000);
    victim.child.kill("SIGKILL");
    const code = await run.exited;
    const doc = JSON.parse(run.stdout);
    expect(code).toBe(1);
    expect(doc.cases).toHaveLength(6);
    for (const c of doc.cases) {
      const touchesVictim = c.clientNode === "n3" || c.serverNode === "n3";
      const rep = c.repetitions[0];
      if (!touchesVictim) expect(rep.ok, JSON.stringify(rep.failure)).toBe(true);
      else if (!rep.ok) expect(rep.failure.code).toBe("agent-gone");
    }
    expect(doc.cases.filter((c: any) => c.clientNode !== "n3" && c.serverNode !== "n3")).toHaveLength(2);
  }, 120_000);

  test("the coordinator killed mid-run and restarted finishes with --resume, without repeating or losing a case", async () => {
    const file = spec("resume", "scenarios: [host-host, pod-pod-cross]\ntools: [iperf3]\nprotocols: [tcp]\nduration: 1\nomit: 0\nrepetitions: 2\npairs: { nodes: [n1, n2] }\n");
    const first = spawnNetmatrix(["run", "--spec", file, "--coordinator", addr, "--token-file", coord.tokenFile]);
    const started = await first.waitFor(/run (\d{8}-\d{6}-[0-9a-f]{4})/, 60_000);
    const runId = started[1]!;
    await first.waitFor(/\[3\/8\]/, 60_000);
    coord.proc.child.kill("SIGKILL");
    await first.exited;
    const before = readFileSync(join(dir, "runs", runId, "cases.jsonl"), "utf8")
      .trim()
      .split("\n").length;
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(8);
    coord = await startCoordinatorProc({ dataDir: dir, listen: addr, tokenFile: coord.tokenFile });
    // Agents reconnect by themselves (backoff capped at 15 s).
    for (const id of ["n1/host", "n2/host", "n1/pod/n1-pa", "n2/pod/n2-pa"]) await coord.proc.waitFor(new RegExp(`"agentId":"${id}".*agent registered`), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const listed = JSON.parse((await cli(["runs", "--output", "json"])).stdout);
    expect(listed.runs.find((r: any) => r.runId === runId).status).toBe("interrupted");
    const res = await cli(["run", "--resume", runId, "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(new RegExp(`${before} already done`));
    const records = readFileSync(join(dir, "runs", runId, "cases.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const keys = records.map((r) => `${r.caseId}#${r.repetition ?? 0}`);
    expect(new Set(keys).size).toBe(8);
    expect(keys).toHaveLength(8);
    expect(JSON.parse(res.stdout).run).toMatchObject({ status: "finished", done: 8, failed: 0 });
  }, 180_000);
});
