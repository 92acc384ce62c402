/**
 * What the CLI bounds before it sends anything: the spec file's size (checked
 * before reading), the encoded request's size, and — for the lab — that its
 * default matrices fit the coordinator's default caps.
 */
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, describe, expect, test } from "vitest";
import { RunCaseRequestSchema, RunMatrixRequestSchema } from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { checkPlanSize, DEFAULT_MATRIX_CAPS, effectiveCaps, planSize, specFromObject, specMessage, type PlannerAgent } from "../../coordinator/src/matrix/index.js";
import { labSpec } from "../../lab/src/lab-spec.js";
import { planTopology } from "../../lab/src/topology-plan.js";
import { checkRequestSize, ControlClient, MAX_REQUEST_BYTES } from "./control-client.js";
import { defaultSpecPath, loadSpec, MAX_SPEC_BYTES } from "./spec-file.js";

const dir = mkdtempSync(join(tmpdir(), "nm-cli-bounds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sparse file of `bytes` (no disk used, nothing read by the test). */
function sparse(name: string, bytes: number): string {
  const path = join(dir, name);
  closeSync(openSync(path, "w"));
  truncateSync(path, bytes);
  return path;
}

async function refusal(fn: () => unknown): Promise<NetmatrixError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof NetmatrixError) return err;
    throw err;
  }
  throw new Error("expected a refusal, it was accepted");
}

describe("the spec file's size is checked before it is read", () => {
  test.each([
    ["100 MB", 100_000_000],
    ["15 MB", 15_000_000],
    ["1 MiB + 1 byte", MAX_SPEC_BYTES + 1],
  ])("a %s spec is refused with its size, the limit and the fix", async (_what, bytes) => {
    const path = sparse(`big-${bytes}.yaml`, bytes);
    const before = process.memoryUsage().rss;
    const err = await refusal(() => loadSpec(path, {}));
    expect(err.code).toBe("invalid-argument");
    expect(err.message).toBe(
      `spec ${path} is ${bytes} bytes, more than the 1048576 bytes (1 MiB) a spec file may have; a spec lists the values to cross (see specs/default.yaml), not the cases — split it into smaller specs`,
    );
    expect(err.hint).toBe("shorten the spec: list values, not cases; split a large matrix into several specs");
    // Nothing of it was read: this process did not grow by anything near the file.
    expect(process.memoryUsage().rss - before).toBeLessThan(bytes / 2 + MAX_SPEC_BYTES);
  });

  test("a device that never ends is read up to the limit, and refused", async () => {
    const err = await refusal(() => loadSpec("/dev/zero", {}));
    expect(err.message).toMatch(/^spec \/dev\/zero is larger than that, more than the 1048576 bytes \(1 MiB\)/);
  });

  test("a spec of exactly 1 MiB (padded with comments) is read", () => {
    const text = readFileSync(defaultSpecPath(), "utf8");
    const padding = MAX_SPEC_BYTES - Buffer.byteLength(text);
    const path = join(dir, "exact.yaml");
    writeFileSync(path, `${text}${`#${"x".repeat(99)}\n`.repeat(Math.floor(padding / 101))}${"#".repeat((padding % 101) - 1)}\n`);
    expect(readFileSync(path).length).toBe(MAX_SPEC_BYTES);
    expect(loadSpec(path, {}).spec.name).toBe("default");
  });
});

describe("the encoded request's size is checked before sending", () => {
  const spec = specMessage(specFromObject({ name: "m", scenarios: ["host-host"] }));

  test("a matrix request over 4 MiB is refused with its size, before any connection", async () => {
    const req = create(RunMatrixRequestSchema, { spec, specYaml: "#".repeat(MAX_REQUEST_BYTES), specSource: "big.yaml" });
    expect(() => checkRequestSize(RunMatrixRequestSchema, req, "the matrix request")).toThrow(
      /^the matrix request is 419\d{4} bytes encoded, more than the 4194304 bytes \(4 MiB\) a coordinator accepts$/,
    );
    // Nothing listens at this address: were the request sent, the error would say the coordinator cannot be reached.
    const client = new ControlClient("127.0.0.1:1", "token");
    try {
      const err = await refusal(() => client.runMatrix(req, () => undefined));
      expect(err.message).toMatch(/^the matrix request \(the spec and its YAML\) is \d+ bytes encoded, more than the 4194304 bytes/);
      expect(err.hint).toMatch(/send a smaller spec/);
      const caseReq = create(RunCaseRequestSchema, { client: "x".repeat(MAX_REQUEST_BYTES), server: "b" });
      expect((await refusal(() => client.runCase(caseReq, () => undefined))).message).toMatch(/^the case request is \d+ bytes encoded/);
    } finally {
      client.close();
    }
  });

  test("a request within the limit passes the check", () => {
    expect(() => checkRequestSize(RunMatrixRequestSchema, create(RunMatrixRequestSchema, { spec, specYaml: "#".repeat(MAX_REQUEST_BYTES - 1000) }), "x")).not.toThrow();
  });
});

describe("the lab's matrices fit the coordinator's default caps", () => {
  /** The agents a lab registers: a host agent and pod agents per node, and the external host. */
  function labAgents(topo: ReturnType<typeof planTopology>): PlannerAgent[] {
    const tools: PlannerAgent["tools"] = ["iperf3", "iperf2", "qperf", "ping"];
    const agents: PlannerAgent[] = [];
    for (const n of topo.nodes) {
      agents.push({ id: `${n.name}/host`, node: n.name, mode: "host", address: n.underlayAddress, tools });
      for (const p of n.pods) agents.push({ id: `${n.name}/pod/${p.name}`, node: n.name, mode: "pod", address: p.address, tools });
    }
    if (topo.external) agents.push({ id: "external/external", node: "external", mode: "external", address: topo.external.address, tools });
    return agents;
  }

  test.each([
    // `lab run` as shipped, and as the tests and benchmarks run it.
    { nodes: 2, external: false, pairs: "sample", durationS: 2, repetitions: 3, reverse: false },
    { nodes: 2, external: false, pairs: "sample", durationS: 2, repetitions: 1, reverse: true },
    { nodes: 3, external: true, pairs: "all", durationS: 2, repetitions: 3, reverse: true },
    { nodes: 2, external: true, pairs: "all", durationS: 5, repetitions: 5, reverse: true },
  ] as const)("%j", (o) => {
    const topo = planTopology({ nodes: o.nodes, external: o.external });
    const spec = specFromObject(labSpec(topo, { durationS: o.durationS, omitS: 1, repetitions: o.repetitions, reverse: o.reverse, pairs: o.pairs, udpBitrate: "200M" }), "lab");
    const size = planSize(spec, labAgents(topo), { serviceProvider: { kinds: ["clusterip", "nodeport"] } });
    expect(size.cases).toBeGreaterThan(0);
    expect(() => checkPlanSize(size, spec, effectiveCaps(DEFAULT_MATRIX_CAPS))).not.toThrow();
  });
});
