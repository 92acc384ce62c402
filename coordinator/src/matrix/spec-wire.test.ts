import { readFileSync } from "node:fs";
import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MatrixSpecSchema, PairSelectionSchema } from "../../../gen/netmatrix/v1/matrix_pb.js";
import { RunMatrixRequestSchema } from "../../../gen/netmatrix/v1/control_pb.js";
import { Tool } from "../../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { matrixSpecDocument } from "../../../common/src/matrix-spec.js";
import { tools } from "../../../tools/src/index.js";
import { parseSpec, specFromObject } from "./spec.js";
import { SpecError } from "./spec-error.js";
import { requestedSpec, specDocument, specFromJson, specFromMessage, specMessage } from "./spec-wire.js";

const DEFAULT_YAML = readFileSync(new URL("../../../specs/default.yaml", import.meta.url), "utf8");
const FIXTURE_SPEC_JSON = readFileSync(new URL("../../../report/fixtures/runs/host-gw/spec.json", import.meta.url), "utf8");

const SPECS = {
  default: DEFAULT_YAML,
  ring: "name: r\nscenarios: [pod-pod-cross]\npairs: ring\ntools: [iperf2, qperf, ping]\nprotocols: [udp]\ndirections: [reverse, bidir]\n",
  sample: "name: s\nscenarios: [host-host]\npairs: { sample: 7 }\nseed: 4294967295\nparallel: [1, 8]\nlengths: [0, 128K]\nudpBitrates: [100M, 2.5G]\n",
  nodes:
    "name: n\nscenarios: [host-host, pod-pod-same]\npairs: { nodes: [node-b, node-a] }\nduration: 30\nomit: 0\nrepetitions: 1000\nconcurrency: 4\nthresholds: { cvPercent: 2.5, udpLossPercent: 0 }\n",
  stratified: "name: z\nscenarios: [host-host]\npairs: { sample: 600, by: topology.kubernetes.io/zone }\nseed: 9\n",
  cover: "name: c\nscenarios: [host-host, pod-pod-cross]\npairs: { cover: 3 }\nseed: 1\n",
  coverBy: "name: c\nscenarios: [host-host]\npairs: { cover: 2, by: rack }\n",
};

/** The SpecError `fn` throws. */
function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}

describe("the spec as a message", () => {
  test.each(Object.entries(SPECS))("%s: YAML → message → binary → the coordinator's validation gives the same spec", (name, yaml) => {
    const spec = parseSpec(yaml, `${name}.yaml`);
    const wire = toBinary(MatrixSpecSchema, specMessage(spec));
    expect(specFromMessage(fromBinary(MatrixSpecSchema, wire), `${name}.yaml`)).toEqual(spec);
  });

  test("the document of a message has the YAML's keys, in the YAML's order", () => {
    const doc = specDocument(parseSpec(SPECS.sample, "s.yaml"));
    expect(Object.keys(doc)).toEqual([
      "name",
      "scenarios",
      "tools",
      "protocols",
      "directions",
      "parallel",
      "lengths",
      "udpBitrates",
      "duration",
      "omit",
      "repetitions",
      "pairs",
      "concurrency",
      "thresholds",
      "seed",
      "connections",
      "bodies",
      "httpModes",
      "messageRates",
      "families",
    ]);
    expect(doc).toMatchObject({ tools: ["iperf3"], lengths: [0, 131072], udpBitrates: [1e8, 2.5e9], pairs: { sample: 7 }, duration: 10, omit: 1, seed: 4294967295 });
  });

  test.each<[keyof typeof SPECS, unknown]>([
    ["sample", { sample: 7 }],
    ["stratified", { sample: 600, by: "topology.kubernetes.io/zone" }],
    ["cover", { cover: 3 }],
    ["coverBy", { cover: 2, by: "rack" }],
  ])("%s: pairs in the document (spec.json) as written, `by` only when set", (name, pairs) => {
    expect(specDocument(parseSpec(SPECS[name], `${name}.yaml`)).pairs).toEqual(pairs);
  });

  test("every tool of the catalogue keeps its name through the wire enum", () => {
    for (const name of tools.names) {
      expect(matrixSpecDocument(create(MatrixSpecSchema, { tools: [tools.toEnum(name)] })).tools).toEqual([name]);
    }
  });

  test("a message validates like the YAML: an unknown enum value, an unset selection, out-of-bounds numbers", () => {
    const good = specMessage(parseSpec(SPECS.ring, "r.yaml"));
    const bad = (patch: (m: typeof good) => void): string => {
      const m = clone(MatrixSpecSchema, good);
      patch(m);
      return specError(() => specFromMessage(m, "r.yaml")).message;
    };
    expect(bad((m) => (m.tools = [Tool.IPERF3, 9 as Tool]))).toBe("r.yaml: unknown tool 9; use one of: iperf3, iperf2, qperf, ping, http, sockperf");
    expect(bad((m) => (m.tools = []))).toBe("r.yaml: tools is empty; list at least one (iperf3, iperf2, qperf, ping, http, sockperf)");
    expect(bad((m) => (m.pairs = create(PairSelectionSchema)))).toBe(
      'r.yaml: pairs needs exactly one of "sample", "cover" or "nodes"; write `pairs: all`, `pairs: ring`, `pairs: { sample: 10 }`, `pairs: { sample: 500, by: topology.kubernetes.io/zone }`, `pairs: { cover: 3, by: topology.kubernetes.io/zone }` or `pairs: { nodes: [node-a, node-b] }`',
    );
    expect(bad((m) => (m.durationS = 0))).toBe("r.yaml: duration 0 s is outside 1..3600 s; use a value in 1..3600");
    expect(bad((m) => (m.name = "../etc"))).toMatch(/^r\.yaml: name "\.\.\/etc" is not a valid run name/);
    expect(bad((m) => (m.udpBitratesBps = [1.5]))).toMatch(/^r\.yaml: UDP bitrate 1\.5 is not understood/);
  });

  test("empty http and sockperf lists (a CLI older than them) mean the defaults, as absent YAML keys do", () => {
    const m = specMessage(parseSpec(SPECS.ring, "r.yaml"));
    m.connections = [];
    m.bodiesBytes = [];
    m.httpModes = [];
    m.messageRatesPerS = [];
    expect(specFromMessage(m, "r.yaml")).toMatchObject({ connections: [16], bodiesBytes: [1024], httpModes: ["keepalive"], messageRatesPerS: [0] });
  });

  test("http and sockperf lists go over the wire and back", () => {
    const spec = specFromObject({
      name: "rr",
      scenarios: ["host-host"],
      tools: ["http", "sockperf"],
      connections: [1, 64],
      bodies: [0, "100K"],
      httpModes: ["new-connection"],
      messageRates: [0, 10000],
    });
    const back = specFromMessage(fromBinary(MatrixSpecSchema, toBinary(MatrixSpecSchema, specMessage(spec))), "rr.yaml");
    expect(back).toEqual(spec);
    expect(specDocument(spec)).toMatchObject({ connections: [1, 64], bodies: [0, 102400], httpModes: ["new-connection"], messageRates: [0, 10000] });
  });

  test("unset pairs and thresholds mean the defaults, as absent YAML keys do", () => {
    const m = specMessage(parseSpec(SPECS.ring, "r.yaml"));
    m.pairs = undefined;
    m.thresholds = undefined;
    expect(specFromMessage(m, "r.yaml")).toMatchObject({ pairs: { kind: "all" }, thresholds: { cvPercent: 10, udpLossPercent: 1 } });
  });
});

describe("spec.json", () => {
  test("a run recorded before the typed spec still validates, and is stored again with every key", () => {
    const spec = specFromJson(FIXTURE_SPEC_JSON, "spec.json");
    expect(spec).toMatchObject({ name: "report-fixture", tools: ["iperf3", "ping"], durationS: 2, omitS: 0, pairs: { kind: "all" } });
    const stored = specDocument(spec);
    // Every key the old file had, with the same value; udpBitrates, seed and the http/sockperf lists (left out, so defaulted) added.
    expect(stored).toEqual({
      ...JSON.parse(FIXTURE_SPEC_JSON),
      udpBitrates: [1e9],
      seed: 0,
      connections: [16],
      bodies: [1024],
      httpModes: ["keepalive"],
      messageRates: [0],
      families: ["ipv4"],
    });
    expect(specFromObject(stored, "spec.json")).toEqual(spec);
  });

  test("a spec.json that is not JSON is a SpecError naming the file", () => {
    expect(specError(() => specFromJson("{name:", "runs/x/spec.json")).message).toMatch(/^runs\/x\/spec\.json: not valid JSON: .*; restore the run's spec\.json/);
  });
});

describe("a RunMatrix request's spec", () => {
  const typed = specMessage(parseSpec(SPECS.nodes, "n.yaml"));

  test("the typed spec is validated and used, through the binary encoding of the whole request", () => {
    const req = fromBinary(RunMatrixRequestSchema, toBinary(RunMatrixRequestSchema, create(RunMatrixRequestSchema, { spec: typed, specSource: "n.yaml" })));
    expect(requestedSpec(req)).toEqual(parseSpec(SPECS.nodes, "n.yaml"));
  });

  test("only the reserved spec_json (a CLI older than the coordinator) is refused, naming the fix", () => {
    const req = create(RunMatrixRequestSchema, { specJson: JSON.stringify({ name: "old", scenarios: ["host-host"] }), specSource: "old.yaml" });
    const err = (() => {
      try {
        requestedSpec(req);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("invalid-argument");
    expect((err as NetmatrixError).message).toMatch(/only as spec_json, which this coordinator no longer reads/);
    expect((err as NetmatrixError).hint).toMatch(/^upgrade the netmatrix CLI to the coordinator's version \(\d+\.\d+\.\d+\)/);
  });

  test("a source name with control characters is not echoed", () => {
    const m = specMessage(parseSpec(SPECS.nodes, "n.yaml"));
    m.durationS = 0;
    const err = specError(() => requestedSpec(create(RunMatrixRequestSchema, { spec: m, specSource: "x\n\u001b[31mred" })));
    expect(err.message).toBe("spec: duration 0 s is outside 1..3600 s; use a value in 1..3600");
  });

  test("a request with no spec at all is refused", () => {
    expect(() => requestedSpec(create(RunMatrixRequestSchema, {}))).toThrow("the request carries no matrix spec");
  });
});
