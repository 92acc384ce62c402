/**
 * The sweep keys: `lengths: sweep` (64 B … 64 KiB) and `mss` (a list or
 * `sweep`) — read, bounded and refused with file:line and the fix — and the
 * variants they make: TCP cases crossed with each MSS, UDP and ICMP cases
 * once, tools that cannot set an MSS skipped with the reason.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MatrixSpecSchema } from "../../../gen/netmatrix/v1/matrix_pb.js";
import { combinations, parseSpec, specFromObject } from "./spec.js";
import { specDocument, specFromMessage, specMessage } from "./spec-wire.js";
import { LENGTH_SWEEP_BYTES, MSS_SWEEP_BYTES } from "./sweeps.js";
import { variants } from "./variants.js";
import { expectRefused, hostHostSpec, plannedKeys, skippedKeys } from "./spec-testing.js";

const ok = "name: m\nscenarios: [host-host]\n";

describe("lengths: sweep and mss", () => {
  test("the length sweep is 64 B … 64 KiB in powers of two", () => {
    expect(LENGTH_SWEEP_BYTES).toEqual([64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
  });

  test.each<[string, string, { lengthsBytes?: number[]; mssBytes?: number[] }]>([
    ["absent: no MSS (the kernel's own)", ok, { lengthsBytes: [0], mssBytes: [] }],
    ["lengths: sweep", `${ok}lengths: sweep\n`, { lengthsBytes: [...LENGTH_SWEEP_BYTES] }],
    ["lengths as a list still", `${ok}lengths: [64, "64K"]\n`, { lengthsBytes: [64, 65536] }],
    ["mss as a list", `${ok}mss: [536, 1460]\n`, { mssBytes: [536, 1460] }],
    ["mss at the bounds", `${ok}mss: [88, 9216]\n`, { mssBytes: [88, 9216] }],
    ["mss: sweep", `${ok}mss: sweep\n`, { mssBytes: [...MSS_SWEEP_BYTES] }],
    ["both", `${ok}lengths: sweep\nmss: sweep\n`, { lengthsBytes: [...LENGTH_SWEEP_BYTES], mssBytes: [...MSS_SWEEP_BYTES] }],
  ])("%s", (_what, text, want) => {
    expect(parseSpec(text, "spec.yaml")).toMatchObject(want);
  });

  test.each([
    // [what, text, line, path, message, fix]
    [
      "lengths: a word that is not sweep",
      `${ok}lengths: swep\n`,
      3,
      "lengths",
      'lengths "swep" is neither a list nor "sweep"',
      "write `lengths: sweep` (64 B … 64 KiB, powers of two)",
    ],
    ["mss: a word that is not sweep", `${ok}mss: all\n`, 3, "mss", 'mss "all" is neither a list nor "sweep"', "or a list such as [536, 1460]"],
    ["mss below 88", `${ok}mss: [87]\n`, 3, "mss[0]", "MSS 87 is outside 88..9216 B", "whole TCP segment sizes in bytes"],
    ["mss above 9216", `${ok}mss: [1460, 9217]\n`, 3, "mss[1]", "MSS 9217 is outside 88..9216 B", "within that range"],
    ["mss a fraction", `${ok}mss: [1460.5]\n`, 3, "mss[0]", "MSS 1460.5 is not understood", "whole TCP segment sizes"],
    ["mss twice", `${ok}mss: [1460, 1460]\n`, 3, "mss[1]", "MSS 1460 is listed twice", "remove the duplicate"],
    ["mss empty", `${ok}mss: []\n`, 3, "mss", "mss is empty", "list at least one"],
    ["mss a number, not a list", `${ok}mss: 1460\n`, 3, "mss", "mss must be a list, got 1460", "write it in brackets"],
  ])("refused: %s", (_what, text, line, path, message, fix) => {
    expectRefused(text, line, path, message, fix);
  });

  test("mss multiplies TCP combinations only", () => {
    const s = specFromObject({ name: "c", scenarios: ["host-host"], protocols: ["tcp", "udp"], lengths: "sweep", mss: [536, 1460, 8960] });
    // 11 lengths × (3 for tcp + 1 for udp)
    expect(combinations(s)).toBe(44);
  });

  test("mss and the swept lengths go over the wire and back; the stored document lists what was run", () => {
    const spec = specFromObject({ name: "s", scenarios: ["host-host"], lengths: "sweep", mss: "sweep" });
    const back = specFromMessage(fromBinary(MatrixSpecSchema, toBinary(MatrixSpecSchema, specMessage(spec))), "s.yaml");
    expect(back).toEqual(spec);
    expect(specDocument(spec)).toMatchObject({ lengths: [...LENGTH_SWEEP_BYTES], mss: [...MSS_SWEEP_BYTES] });
    // No mss: the document leaves the key out, as documents of older runs do.
    expect(specDocument(specFromObject({ name: "s", scenarios: ["host-host"] }))).not.toHaveProperty("mss");
  });
});

describe("variants of a sweep", () => {
  test.each<[string, Record<string, unknown>, string[]]>([
    ["no mss: keys as before", { tools: ["iperf3"], lengths: [64, 1400] }, ["iperf3/tcp/forward/P1/L64", "iperf3/tcp/forward/P1/L1400"]],
    [
      "TCP crossed with each MSS, UDP once",
      { tools: ["iperf3"], protocols: ["tcp", "udp"], mss: [536, 1460] },
      ["iperf3/tcp/forward/P1/L0/M536", "iperf3/tcp/forward/P1/L0/M1460", "iperf3/udp/forward/P1/L0/B1G"],
    ],
    ["iperf2 sets an MSS too", { tools: ["iperf2"], mss: [1220] }, ["iperf2/tcp/forward/P1/L0/M1220"]],
    ["ping is ICMP: once, no MSS", { tools: ["ping"], mss: [536, 1460] }, ["ping/icmp/forward/P1/L0"]],
    [
      "the length sweep: UDP above 65507 B is skipped, TCP is not",
      { tools: ["iperf3"], protocols: ["tcp", "udp"], lengths: "sweep" },
      [...LENGTH_SWEEP_BYTES.map((l) => `iperf3/tcp/forward/P1/L${l === 65536 ? "64K" : l % 1024 === 0 ? `${l / 1024}K` : l}`)].concat(
        LENGTH_SWEEP_BYTES.filter((l) => l <= 65507).map((l) => `iperf3/udp/forward/P1/L${l % 1024 === 0 ? `${l / 1024}K` : l}/B1G`),
      ),
    ],
  ])("%s", (_what, o, keys) => {
    expect(plannedKeys(o)).toEqual(keys);
  });

  test.each<[string, Record<string, unknown>, [string, unknown][]]>([
    ["UDP's 64 KiB of the length sweep", { tools: ["iperf3"], protocols: ["udp"], lengths: "sweep" }, [["iperf3/udp/forward/P1/L64K/B1G", expect.stringContaining("65507 bytes")]]],
    [
      "qperf cannot set an MSS: its TCP cases skipped, its UDP case planned",
      { tools: ["qperf"], protocols: ["tcp"], mss: [536, 1460] },
      [
        ["qperf/tcp/forward/P1/L0/M536", "qperf cannot set the TCP MSS: its TCP cases are skipped while mss lists sizes (run it in a spec without mss)"],
        ["qperf/tcp/forward/P1/L0/M1460", "qperf cannot set the TCP MSS: its TCP cases are skipped while mss lists sizes (run it in a spec without mss)"],
      ],
    ],
    ["http (TCP) cannot either", { tools: ["http"], mss: [1460] }, [["http/tcp/forward/C16/B1K/keepalive/M1460", expect.stringContaining("http cannot set the TCP MSS")]]],
    ["sockperf TCP cannot either", { tools: ["sockperf"], mss: [1460] }, [["sockperf/tcp/forward/L0/R0/M1460", expect.stringContaining("sockperf cannot set the TCP MSS")]]],
  ])("skipped with the reason: %s", (_what, o, skips) => {
    expect(skippedKeys(o)).toEqual(skips);
  });

  test("a variant carries its MSS", () => {
    expect(variants(hostHostSpec({ tools: ["iperf3"], mss: [8960] })).map((v) => v.mssBytes)).toEqual([8960]);
    expect(variants(hostHostSpec({ tools: ["iperf3"] }))[0]).not.toHaveProperty("mssBytes");
  });
});
