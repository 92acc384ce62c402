import { describe, expect, test } from "vitest";
import { paramKey, variants } from "./variants.js";
import { hostHostSpec, plannedKeys, skippedKeys } from "./spec-testing.js";

describe("variants: tool × protocol × direction × parallel × length × UDP rate", () => {
  test.each([
    ["defaults", {}, ["iperf3/tcp/forward/P1/L0"]],
    ["tcp + udp", { protocols: ["tcp", "udp"], udpBitrates: ["1G", "100M"] }, ["iperf3/tcp/forward/P1/L0", "iperf3/udp/forward/P1/L0/B1G", "iperf3/udp/forward/P1/L0/B100M"]],
    [
      "directions × parallel",
      { directions: ["forward", "bidir"], parallel: [1, 8] },
      ["iperf3/tcp/forward/P1/L0", "iperf3/tcp/forward/P8/L0", "iperf3/tcp/bidir/P1/L0", "iperf3/tcp/bidir/P8/L0"],
    ],
    ["lengths", { lengths: [0, "128K"] }, ["iperf3/tcp/forward/P1/L0", "iperf3/tcp/forward/P1/L128K"]],
    ["qperf: no bitrate, one UDP case", { tools: ["qperf"], protocols: ["tcp", "udp"], udpBitrates: ["1G", "2G"] }, ["qperf/tcp/forward/P1/L0", "qperf/udp/forward/P1/L0"]],
    ["ping: icmp, once for both protocols", { tools: ["ping"], protocols: ["tcp", "udp"], lengths: [0, 1000] }, ["ping/icmp/forward/P1/L0", "ping/icmp/forward/P1/L1000"]],
    ["iperf2 keeps bitrates", { tools: ["iperf2"], protocols: ["udp"], udpBitrates: ["500M"] }, ["iperf2/udp/forward/P1/L0/B500M"]],
  ])("%s", (_what, extra, keys) => {
    expect(plannedKeys(extra)).toEqual(keys);
  });

  test.each([
    [
      "qperf reverse",
      { tools: ["qperf"], directions: ["forward", "reverse"] },
      [["qperf/tcp/reverse/P1/L0", "qperf measures one direction only (client sends); direction reverse is unsupported"]],
    ],
    ["qperf parallel", { tools: ["qperf"], parallel: [1, 4] }, [["qperf/tcp/forward/P4/L0", "qperf runs a single stream; parallel 4 is unsupported"]]],
    ["ping bidir", { tools: ["ping"], directions: ["bidir"] }, [["ping/icmp/bidir/P1/L0", "ping measures a round trip; direction bidir is unsupported"]]],
    [
      "ping second protocol",
      { tools: ["ping"], protocols: ["udp", "tcp"] },
      [["ping/icmp/forward/P1/L0", "ping is ICMP: one case per pair covers every listed protocol (tcp not repeated)"]],
    ],
    [
      "qperf extra bitrates",
      { tools: ["qperf"], protocols: ["udp"], udpBitrates: ["1G", "2G"] },
      [["qperf/udp/forward/P1/L0", "qperf cannot pace UDP to a bitrate (it sends as fast as it can): one case without a bitrate stands for every udpBitrates entry"]],
    ],
    [
      "UDP length above a datagram",
      { protocols: ["tcp", "udp"], lengths: ["128K"] },
      [["iperf3/udp/forward/P1/L128K/B1G", "length 128K is more than a UDP datagram can carry (65507 bytes)"]],
    ],
    [
      "iperf2 UDP bidir with streams",
      { tools: ["iperf2"], protocols: ["udp"], directions: ["bidir"], parallel: [2] },
      [["iperf2/udp/bidir/P2/L0/B1G", expect.stringContaining("iperf2 2.1.8 UDP --full-duplex with more than one stream is unreliable")]],
    ],
  ])("skipped with the reason: %s", (_what, extra, skips) => {
    expect(skippedKeys(extra)).toEqual(skips);
  });

  test("omit applies to iperf3 only; the rest get 0 (they cannot omit)", () => {
    const vs = variants(hostHostSpec({ tools: ["iperf3", "iperf2", "qperf", "ping"], omit: 2 }));
    expect(vs.map((v) => [v.tool, v.omitS, v.skip])).toEqual([
      ["iperf3", 2, undefined],
      ["iperf2", 0, undefined],
      ["qperf", 0, undefined],
      ["ping", 0, undefined],
    ]);
  });

  test.each<[Parameters<typeof paramKey>, string]>([
    [["iperf3", "tcp", "forward", 1, 0, undefined], "iperf3/tcp/forward/P1/L0"],
    [["iperf2", "udp", "reverse", 4, 1400, 5e8], "iperf2/udp/reverse/P4/L1400/B500M"],
    [["ping", "icmp", "forward", 1, 65536, undefined], "ping/icmp/forward/P1/L64K"],
  ])("paramKey%j = %s", (args, key) => {
    expect(paramKey(...args)).toBe(key);
  });
});
