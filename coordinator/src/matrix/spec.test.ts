import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "../../../common/src/errors.js";
import { SPEC_DEFAULTS, parseSpec, specFromObject, type MatrixSpec } from "./spec.js";
import { SpecError } from "./spec-error.js";

const DEFAULT_YAML = readFileSync(new URL("../../../specs/default.yaml", import.meta.url), "utf8");

/** Parse, expecting a SpecError; return it. */
function specError(text: string, source = "spec.yaml"): SpecError {
  try {
    parseSpec(text, source);
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}

/** The SpecError `fn` throws. */
function thrownSpecError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}

describe("valid specs", () => {
  test("specs/default.yaml is field report 001's eight-way table plus the host-host baseline, with field report 004's bandwidth, latency and HTTP columns", () => {
    const spec = parseSpec(DEFAULT_YAML, "specs/default.yaml");
    expect(spec).toEqual<MatrixSpec>({
      name: "default",
      scenarios: ["host-host", "pod-pod-cross", "pod-pod-same", "pod-service-cross", "pod-service-same"],
      tools: ["iperf3", "ping", "http"],
      protocols: ["tcp", "udp"],
      directions: ["forward"],
      parallel: [1],
      lengthsBytes: [0],
      udpBitratesBps: [1e9],
      durationS: 10,
      omitS: 1,
      repetitions: 3,
      pairs: { kind: "all" },
      concurrency: 1,
      thresholds: { cvPercent: 10, udpLossPercent: 1 },
      seed: 0,
      connections: [16],
      bodiesBytes: [1024],
      httpModes: ["keepalive", "new-connection"],
      messageRatesPerS: [0],
      mssBytes: [],
      crosscheck: ["host-host", "pod-pod-cross"],
      families: ["ipv4"],
    });
  });

  test("the brief's example, with every key and units in strings", () => {
    const text = [
      "name: seed-001",
      "scenarios: [host-host, pod-pod-cross, pod-pod-same, pod-service-cross, pod-service-same]",
      "tools: [iperf3, qperf]",
      "protocols: [tcp, udp]",
      "directions: [forward, reverse, bidir]",
      "parallel: [1, 4]",
      'lengths: [0, "128K", 1400]',
      'udpBitrates: ["1G", 500M, 100000]',
      "duration: 30",
      "omit: 2",
      "repetitions: 5",
      "pairs: { sample: 12 }",
      "concurrency: 4",
      "thresholds: { cvPercent: 5.5, udpLossPercent: 0.1 }",
    ].join("\n");
    const spec = parseSpec(text, "x.yaml");
    expect(spec).toMatchObject({
      name: "seed-001",
      tools: ["iperf3", "qperf"],
      directions: ["forward", "reverse", "bidir"],
      parallel: [1, 4],
      lengthsBytes: [0, 131072, 1400],
      udpBitratesBps: [1e9, 5e8, 1e5],
      durationS: 30,
      omitS: 2,
      repetitions: 5,
      pairs: { kind: "sample", count: 12 },
      concurrency: 4,
      thresholds: { cvPercent: 5.5, udpLossPercent: 0.1 },
    });
  });

  test("absent keys take the defaults; only name and scenarios are required", () => {
    expect(parseSpec("name: m\nscenarios: [host-host]\n", "m.yaml")).toEqual({ name: "m", scenarios: ["host-host"], ...SPEC_DEFAULTS });
  });

  test.each([
    ["pairs: all", { kind: "all" }],
    ["pairs: ring", { kind: "ring" }],
    ["pairs: { sample: 3 }", { kind: "sample", count: 3 }],
    ["pairs: { sample: 3 }\nseed: 4294967295", { kind: "sample", count: 3 }],
    ["pairs: { sample: 300, by: topology.kubernetes.io/zone }", { kind: "sample", count: 300, by: "topology.kubernetes.io/zone" }],
    ["pairs: { cover: 3 }", { kind: "cover", k: 3 }],
    ["pairs: { cover: 100, by: rack }", { kind: "cover", k: 100, by: "rack" }],
    ["pairs:\n  cover: 1\n  by: example.com/rack-row", { kind: "cover", k: 1, by: "example.com/rack-row" }],
    ["pairs: { nodes: [node-a, node-b] }", { kind: "nodes", nodes: ["node-a", "node-b"] }],
    ["pairs:\n  nodes:\n    - n1", { kind: "nodes", nodes: ["n1"] }],
  ])("%s", (line, pairs) => {
    expect(parseSpec(`name: m\nscenarios: [host-host]\n${line}\n`, "m.yaml").pairs).toEqual(pairs);
  });

  test("overrides replace the file's keys in the one pass; messages about them have no line, the file's keep theirs", () => {
    const text = "name: m\nscenarios: [host-host]\nduration: 20\nomit: 4\n";
    expect(parseSpec(text, "m.yaml", { duration: 6, concurrency: 2 })).toMatchObject({ durationS: 6, omitS: 4, concurrency: 2 });
    expect(() => parseSpec(text, "m.yaml", { duration: 0 })).toThrow(/^m\.yaml: duration 0 s is outside 1\.\.3600 s/);
    const err = thrownSpecError(() => parseSpec(text, "m.yaml", { duration: 3 }));
    expect(err.message).toBe("m.yaml:4: omit 4 s is not shorter than duration 3 s; use an omit below 3, or 0");
    // A document that is not a mapping is refused as written.
    expect(thrownSpecError(() => parseSpec("- host-host\n", "m.yaml", { duration: 3 })).message).toMatch(/^m\.yaml:1: the spec must be a mapping/);
  });

  test("a spec built from CLI flags goes through the same validator", () => {
    const spec = specFromObject({ name: "cli", scenarios: ["pod-pod-cross"], tools: ["iperf2"], duration: 5, udpBitrates: ["200M"] }, "<flags>");
    expect(spec).toMatchObject({ name: "cli", tools: ["iperf2"], durationS: 5, udpBitratesBps: [2e8] });
    expect(() => specFromObject({ name: "cli", scenarios: ["pod-pod"] }, "<flags>")).toThrow('<flags>: unknown scenario "pod-pod"; use one of: host-host, pod-pod-cross,');
  });
});

describe("malformed specs: the message names file:line, the key or value, and the fix", () => {
  const ok = "name: m\nscenarios: [host-host]\n";
  test.each([
    // [what, text, line, path, message fragments]
    [
      "unknown scenario",
      "name: m\nscenarios: [host-host, pod-pod]\n",
      2,
      "scenarios[1]",
      ['spec.yaml:2: unknown scenario "pod-pod"; use one of: host-host, pod-pod-cross, pod-pod-same,'],
    ],
    ["scenario typo", "name: m\nscenarios:\n  - host-host\n  - pod-pod-cros\n", 4, "scenarios[1]", ['spec.yaml:4: unknown scenario "pod-pod-cros"; did you mean "pod-pod-cross"?']],
    ["unknown key (typo)", `${ok}durration: 5\n`, 3, "durration", ['spec.yaml:3: unknown key "durration"; did you mean "duration"?']],
    ["unknown key (no guess)", `${ok}colour: blue\n`, 3, "colour", ['spec.yaml:3: unknown key "colour"; use one of: name, scenarios,']],
    ["unknown nested key", `${ok}thresholds:\n  cv: 3\n`, 4, "thresholds.cv", ['spec.yaml:4: unknown key "cv" in thresholds; did you mean "cvPercent"?']],
    ["unknown tool", `${ok}tools: [iperf3, netperf]\n`, 3, "tools[1]", ['spec.yaml:3: unknown tool "netperf"; use one of: iperf3, iperf2, qperf, ping']],
    ["unknown protocol", `${ok}protocols: [sctp]\n`, 3, "protocols[0]", ['unknown protocol "sctp"']],
    ["unknown direction", `${ok}directions: [forward, backward]\n`, 3, "directions[1]", ['unknown direction "backward"']],
    ["duplicate list entry", `${ok}tools: [iperf3, iperf3]\n`, 3, "tools[1]", ['tool "iperf3" is listed twice; remove the duplicate']],
    ["duration out of range", `${ok}duration: 0\n`, 3, "duration", ["spec.yaml:3: duration 0 s is outside 1..3600 s; use a value in 1..3600"]],
    ["duration too long", `${ok}duration: 7200\n`, 3, "duration", ["duration 7200 s is outside 1..3600 s"]],
    ["duration not whole", `${ok}duration: 2.5\n`, 3, "duration", ["duration must be a whole number s, got 2.5"]],
    ["duration as a string", `${ok}duration: "10s"\n`, 3, "duration", ['duration must be a whole number s, got "10s"']],
    ["parallel out of range", `${ok}parallel: [1, 200]\n`, 3, "parallel[1]", ["stream count 200 is outside 1..128"]],
    ["repetitions 0", `${ok}repetitions: 0\n`, 3, "repetitions", ["repetitions 0 is outside 1..1000"]],
    ["repetitions too many", `${ok}repetitions: 5000\n`, 3, "repetitions", ["repetitions 5000 is outside 1..1000"]],
    ["concurrency 0", `${ok}concurrency: 0\n`, 3, "concurrency", ["concurrency 0 is outside 1..10000"]],
    ["omit not below duration", `${ok}duration: 5\nomit: 5\n`, 4, "omit", ["omit 5 s is not shorter than duration 5 s; use an omit below 5, or 0"]],
    ["bad length", `${ok}lengths: [0, 1.5x]\n`, 3, "lengths[1]", ['length "1.5x" is not understood; write bytes, e.g. 0 (tool default), 1400 or "128K"']],
    ["length too big", `${ok}lengths: [32M]\n`, 3, "lengths[0]", ['length "32M" is outside 0..16M B']],
    ["bad bitrate", `${ok}udpBitrates: [fast]\n`, 3, "udpBitrates[0]", ['UDP bitrate "fast" is not understood; write bits/s with k/M/G']],
    ["zero bitrate", `${ok}udpBitrates: [0]\n`, 3, "udpBitrates[0]", ["UDP bitrate 0 is outside 1..100G bit/s"]],
    ["scalar instead of list", "name: m\nscenarios: host-host\n", 2, "scenarios", ['scenarios must be a list, got "host-host"; write it in brackets']],
    ["empty list", `${ok}tools: []\n`, 3, "tools", ["tools is empty; list at least one"]],
    ["missing scenarios", "name: m\nduration: 5\n", 1, "scenarios", ['missing key "scenarios"; add e.g. `scenarios: [host-host, pod-pod-cross]`']],
    ["missing name", "scenarios: [host-host]\n", 1, "name", ['missing key "name"; add e.g. `name: my-cluster-matrix`']],
    ["bad name", "name: my matrix!\nscenarios: [host-host]\n", 1, "name", ['name "my matrix!" is not a valid run name']],
    ["numeric name", "name: 2024\nscenarios: [host-host]\n", 1, "name", ['spec.yaml:1: name 2024 is a number; quote it: `name: "2024"`']],
    ["pairs word", `${ok}pairs: every\n`, 3, "pairs", ['pairs "every" is not a pair selection; write `pairs: all`']],
    ["pairs two keys", `${ok}pairs: { sample: 2, nodes: [a] }\n`, 3, "pairs", ['pairs needs exactly one of "sample", "cover" or "nodes"']],
    [
      "pairs by alone",
      `${ok}pairs: { by: zone }\n`,
      3,
      "pairs",
      ['pairs needs exactly one of "sample", "cover" or "nodes"', "`pairs: { cover: 3, by: topology.kubernetes.io/zone }`"],
    ],
    ["pairs cover 0", `${ok}pairs: { cover: 0 }\n`, 3, "pairs.cover", ["pairs.cover 0 is not a whole number in 1..100; write how many times every node is client and server"]],
    ["pairs cover too large", `${ok}pairs: { cover: 101 }\n`, 3, "pairs.cover", ["pairs.cover 101 is not a whole number in 1..100", "a full mesh is `pairs: all`"]],
    ["pairs cover not whole", `${ok}pairs: { cover: 2.5 }\n`, 3, "pairs.cover", ["pairs.cover 2.5 is not a whole number in 1..100"]],
    ["pairs cover as a word", `${ok}pairs: { cover: all }\n`, 3, "pairs.cover", ['pairs.cover "all" is not a whole number in 1..100']],
    [
      "pairs by not a label key",
      `${ok}pairs: { cover: 3, by: "zone name" }\n`,
      3,
      "pairs.by",
      ['pairs.by "zone name" is not a label key', "write a Kubernetes label key, e.g. `by: topology.kubernetes.io/zone`"],
    ],
    [
      "pairs by with a bad prefix",
      `${ok}pairs: { sample: 9, by: "Topology/zone" }\n`,
      3,
      "pairs.by",
      ['pairs.by "Topology/zone" has a prefix that is not a lower-case DNS subdomain'],
    ],
    ["pairs by empty", `${ok}pairs: { sample: 9, by: "" }\n`, 3, "pairs.by", ["pairs.by is empty"]],
    ["pairs by a number", `${ok}pairs: { sample: 9, by: 3 }\n`, 3, "pairs.by", ["pairs.by 3 is not a node label key"]],
    ["pairs by with nodes", `${ok}pairs: { nodes: [a, b], by: zone }\n`, 3, "pairs.by", ['pairs.by does not apply to "nodes"', "remove `by`"]],
    ["pairs typo of cover", `${ok}pairs: { cvoer: 3 }\n`, 3, "pairs.cvoer", ['unknown key "cvoer" in pairs; did you mean "cover"?']],
    ["pairs sample 0", `${ok}pairs: { sample: 0 }\n`, 3, "pairs.sample", ["pairs.sample 0 is outside 1..10000000"]],
    ["pairs unknown key", `${ok}pairs: { random: 3 }\n`, 3, "pairs.random", ['unknown key "random" in pairs']],
    ["seed negative", `${ok}seed: -1\n`, 3, "seed", ["spec.yaml:3: seed -1 is outside 0..4294967295; use a value in 0..4294967295"]],
    ["seed too large", `${ok}seed: 4294967296\n`, 3, "seed", ["seed 4294967296 is outside 0..4294967295"]],
    ["seed not whole", `${ok}seed: 1.5\n`, 3, "seed", ["seed must be a whole number, got 1.5; use a whole number in 0..4294967295"]],
    ["seed as a word", `${ok}seed: lab\n`, 3, "seed", ['seed must be a whole number, got "lab"']],
    ["seed typo", `${ok}sede: 3\n`, 3, "sede", ['unknown key "sede"; did you mean "seed"?']],
    ["pairs duplicate node", `${ok}pairs: { nodes: [a, b, a] }\n`, 3, "pairs.nodes[2]", ['node "a" is listed twice']],
    ["threshold out of range", `${ok}thresholds: { udpLossPercent: 150 }\n`, 3, "thresholds.udpLossPercent", ["thresholds.udpLossPercent 150 is not a number in 0..100 %"]],
    ["not a mapping", "- host-host\n", 1, "", ["the spec must be a mapping of keys"]],
    ["empty file", "# nothing here\n", 1, "", ["spec.yaml:1: the spec is empty; start from specs/default.yaml"]],
    ["YAML syntax", "name: m\nscenarios: [host-host\n", 3, "", ["spec.yaml:3: not valid YAML: ", "fix the syntax"]],
    ["duplicate key", "name: m\nname: n\nscenarios: [host-host]\n", 2, "", ["spec.yaml:2: not valid YAML: Map keys must be unique; write each key once"]],
  ])("%s", (_what, text, line, path, fragments) => {
    const err = specError(text);
    expect(err.line).toBe(line);
    expect(err.path).toBe(path);
    expect(err.source).toBe("spec.yaml");
    expect(err.message.startsWith(`spec.yaml:${line}: `)).toBe(true);
    for (const f of fragments) expect(err.message).toContain(f);
    expect(err).toBeInstanceOf(NetmatrixError);
    expect(err.code).toBe("invalid-argument");
  });

  test("the column points at the offending value", () => {
    const err = specError("name: m\nscenarios: [host-host, pod-pod]\n");
    expect(err.column).toBe(24);
  });

  test("messages name the file as given", () => {
    expect(specError("name: m\nscenarios: [x]\n", "specs/lab.yaml").message).toMatch(/^specs\/lab\.yaml:2: unknown scenario "x"/);
  });
});
