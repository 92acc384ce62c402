/**
 * The spec's bounds on sizes: how many entries each list may have, how many
 * parameter combinations a spec may cross, what a node name may be, and how
 * long each listed tool would run. Every refusal names the line and the fix.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { PairSelectionSchema, type MatrixSpec as MatrixSpecMessage } from "../../../gen/netmatrix/v1/matrix_pb.js";
import { combinations, parseSpec, SPEC_BOUNDS, specFromObject } from "./spec.js";
import { specFromMessage, specMessage } from "./spec-wire.js";
import { expectRefused } from "./spec-testing.js";

const ok = "name: m\nscenarios: [host-host]\n";
const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => from + i);
const flow = (values: unknown[]): string => `[${values.join(", ")}]`;

describe("lists, names and tool run lengths are bounded", () => {
  test.each([
    // [what, text, line, path, message, fix]
    [
      "33 parallel values",
      `${ok}parallel: ${flow(range(33))}\n`,
      3,
      "parallel",
      "parallel lists 33 entries, more than the 32 a spec may list",
      "list at most 32 (distinct) entries",
    ],
    ["33 lengths", `${ok}lengths: ${flow(range(33, 100))}\n`, 3, "lengths", "lengths lists 33 entries, more than the 32 a spec may list", "split the spec"],
    ["33 UDP bitrates", `${ok}udpBitrates: ${flow(range(33).map((i) => `${i}M`))}\n`, 3, "udpBitrates", "udpBitrates lists 33 entries, more than the 32", "split the spec"],
    [
      "10 scenarios (only 9 exist)",
      `name: m\nscenarios: ${flow(Array(10).fill("host-host"))}\n`,
      2,
      "scenarios",
      "scenarios lists 10 entries, more than the 9 a spec may list",
      "(distinct)",
    ],
    [
      "7 tools (only 6 exist)",
      `${ok}tools: [iperf3, iperf2, qperf, ping, http, sockperf, iperf3]\n`,
      3,
      "tools",
      "tools lists 7 entries, more than the 6 a spec may list",
      "(distinct)",
    ],
    ["3 protocols", `${ok}protocols: [tcp, udp, tcp]\n`, 3, "protocols", "protocols lists 3 entries, more than the 2", "(distinct)"],
    ["4 directions", `${ok}directions: [forward, reverse, bidir, forward]\n`, 3, "directions", "directions lists 4 entries, more than the 3", "(distinct)"],
    [
      "10,001 node names",
      `${ok}pairs: { nodes: ${flow(range(10_001).map((i) => `n${i}`))} }\n`,
      3,
      "pairs.nodes",
      "pairs.nodes lists 10001 entries, more than the 10000 a spec may list",
      "split the spec",
    ],
    [
      "a node name with an underscore",
      `${ok}pairs: { nodes: [node-a, node_b] }\n`,
      3,
      "pairs.nodes[1]",
      'node name "node_b" is not a DNS-1123 subdomain',
      "a Kubernetes node name",
    ],
    ["a node name with markup", `${ok}pairs: { nodes: ["<img src=x onerror=alert(1)>"] }\n`, 3, "pairs.nodes[0]", "is not a DNS-1123 subdomain", "a Kubernetes node name"],
    [
      "a 300-character node name",
      `${ok}pairs: { nodes: [${"a".repeat(300)}] }\n`,
      3,
      "pairs.nodes[0]",
      "node name is 300 characters, above the limit of 253",
      "a Kubernetes node name",
    ],
    [
      "too many parameter combinations",
      `${ok}tools: [iperf3, iperf2, qperf, ping]\nprotocols: [tcp, udp]\nudpBitrates: [100M, 1G]\ndirections: [forward, reverse, bidir]\nparallel: ${flow(range(32))}\nlengths: ${flow(range(32, 1000))}\n`,
      1,
      "",
      "the spec crosses 36864 parameter combinations (4 tools × 3 directions × 32 parallel × 32 lengths × (1 for tcp + 2 for udp)), more than 20000",
      "list fewer values, or split the spec into several runs",
    ],
    [
      "qperf for 2000 s (it runs two tests)",
      `${ok}tools: [iperf3, qperf]\nduration: 2000\n`,
      4,
      "duration",
      "qperf would run for 4000 s (2 tests × 2000 s), above the 3600 s a test may run",
      "use a shorter duration (qperf runs its bandwidth and latency tests one after the other)",
    ],
    [
      "iperf3 for 3600 s plus the default 1 s omitted",
      `${ok}duration: 3600\n`,
      3,
      "duration",
      "iperf3 would run for 3601 s (3600 s + 1 s omitted), above the 3600 s a test may run",
      "use a shorter duration or omit",
    ],
  ])("%s", (_what, text, line, path, message, fix) => {
    expectRefused(text, line, path, message, fix);
  });

  test("at the bounds a spec is accepted", () => {
    const s = parseSpec(
      `${ok}tools: [iperf3, qperf, ping]\nprotocols: [tcp, udp]\ndirections: [forward, reverse]\nparallel: ${flow(range(32))}\nlengths: ${flow(range(8, 1000))}\nduration: 1800\nomit: 0\npairs: { nodes: [${"a".repeat(253)}, node-1.example.com] }\n`,
      "spec.yaml",
    );
    expect(combinations(s)).toBe(3 * 2 * 32 * 8 * 2);
    expect(combinations(s)).toBeLessThanOrEqual(SPEC_BOUNDS.combinations.max);
    expect(parseSpec(`${ok}tools: [ping, iperf2]\nduration: 3600\n`, "spec.yaml").durationS).toBe(3600);
  });

  test("a spec message from the network is refused the same way, before anything reads its lists", () => {
    // One million parallel values: refused by their count (read one by one, the second would be "listed twice").
    const valid = (): MatrixSpecMessage => specMessage(specFromObject({ name: "m", scenarios: ["host-host"] }));
    const message = valid();
    message.parallel = new Array<number>(1_000_000).fill(1);
    expect(() => specFromMessage(message, "request")).toThrow("request: parallel lists 1000000 entries, more than the 32 a spec may list");
    const nodes = valid();
    nodes.pairs = create(PairSelectionSchema, { selection: { case: "nodes", value: { nodes: ["n1", "x".repeat(4000)] } } });
    expect(() => specFromMessage(nodes, "request")).toThrow("request: node name is 4000 characters, above the limit of 253");
    expect(specFromObject({ name: "m", scenarios: ["host-host"], parallel: range(32) }).parallel).toHaveLength(32);
  });
});
