/**
 * The spec keys of the request/response tools: `connections`, `bodies` and
 * `httpModes` (http), `messageRates` (sockperf) — read, bounded and refused
 * with file:line and the fix like every other key — and the variants they
 * make: each tool crossed with its own lists only, keys naming them, the
 * other tools' keys unchanged.
 */
import { describe, expect, test } from "vitest";
import { combinations, parseSpec, SPEC_BOUNDS, specFromObject } from "./spec.js";
import { variants } from "./variants.js";
import { expectRefused, hostHostSpec, plannedKeys, skippedKeys, specError } from "./spec-testing.js";

const ok = "name: m\nscenarios: [host-host]\n";
const flow = (values: unknown[]): string => `[${values.join(", ")}]`;

describe("connections, bodies, httpModes and messageRates", () => {
  test.each<[string, string, Partial<ReturnType<typeof parseSpec>>]>([
    ["absent: the defaults", ok, { connections: [16], bodiesBytes: [1024], httpModes: ["keepalive"], messageRatesPerS: [0] }],
    ["connections", `${ok}connections: [1, 16, 64]\n`, { connections: [1, 16, 64] }],
    ["connections at the bounds", `${ok}connections: [1, 10000]\n`, { connections: [1, 10_000] }],
    ["bodies with units", `${ok}bodies: [0, 1K, "100K", 64M]\n`, { bodiesBytes: [0, 1024, 102_400, 64 * 1024 * 1024] }],
    ["both HTTP modes", `${ok}httpModes: [keepalive, new-connection]\n`, { httpModes: ["keepalive", "new-connection"] }],
    ["message rates", `${ok}messageRates: [0, 10000, 1000000]\n`, { messageRatesPerS: [0, 10_000, 1_000_000] }],
  ])("%s", (_what, text, want) => {
    expect(parseSpec(text, "spec.yaml")).toMatchObject(want);
  });

  test.each([
    // [what, text, line, path, message, fix]
    ["0 connections", `${ok}connections: [0]\n`, 3, "connections[0]", "connection count 0 is outside 1..10000", "whole numbers of concurrent connections such as [1, 16, 64]"],
    ["10001 connections", `${ok}connections: [16, 10001]\n`, 3, "connections[1]", "connection count 10001 is outside 1..10000", "within that range"],
    ["1.5 connections", `${ok}connections: [1.5]\n`, 3, "connections[0]", "connection count 1.5 is not understood", "whole numbers of concurrent connections"],
    ["connections not a list", `${ok}connections: 16\n`, 3, "connections", "connections must be a list, got 16", "write it in brackets, e.g. `connections: [16]`"],
    ["connections twice", `${ok}connections: [16, 16]\n`, 3, "connections[1]", "connection count 16 is listed twice", "remove the duplicate"],
    [
      "33 connections",
      `${ok}connections: ${flow(Array.from({ length: 33 }, (_, i) => i + 1))}\n`,
      3,
      "connections",
      "connections lists 33 entries, more than the 32",
      "split the spec",
    ],
    ["a body above 64 MiB", `${ok}bodies: [1K, 65M]\n`, 3, "bodies[1]", 'body "65M" is outside 0..64M B', "response body sizes in bytes"],
    ["a body that is no size", `${ok}bodies: [big]\n`, 3, "bodies[0]", 'body "big" is not understood', 'e.g. 0, 1024 or "100K"'],
    ["an empty bodies list", `${ok}bodies: []\n`, 3, "bodies", "bodies is empty", "list at least one"],
    [
      "a misspelt HTTP mode",
      `${ok}httpModes: [keepalive, new-conection]\n`,
      3,
      "httpModes[1]",
      'unknown HTTP mode "new-conection"',
      'did you mean "new-connection"? (use one of: keepalive, new-connection)',
    ],
    ["an HTTP mode twice", `${ok}httpModes: [keepalive, keepalive]\n`, 3, "httpModes[1]", 'HTTP mode "keepalive" is listed twice', "remove the duplicate"],
    ["a negative message rate", `${ok}messageRates: [-1]\n`, 3, "messageRates[0]", "message rate -1 is outside 0..1000000 msg/s", "0 for ping-pong"],
    ["a message rate above the bound", `${ok}messageRates: [2000000]\n`, 3, "messageRates[0]", "message rate 2000000 is outside 0..1000000 msg/s", "within that range"],
    ["a fractional message rate", `${ok}messageRates: [0.5]\n`, 3, "messageRates[0]", "message rate 0.5 is not understood", "whole messages/s"],
    ["a misspelt key", `${ok}conections: [16]\n`, 3, "conections", 'unknown key "conections"', 'did you mean "connections"?'],
    ["a misspelt key (rates)", `${ok}messageRate: [0]\n`, 3, "messageRate", 'unknown key "messageRate"', 'did you mean "messageRates"?'],
  ])("%s is refused with its line and the fix", (_what, text, line, path, message, fix) => {
    expectRefused(text, line, path, message, fix);
  });

  test("the bounds are the agents' own (tools/src/limits.ts)", () => {
    expect(SPEC_BOUNDS.connections).toEqual({ min: 1, max: 10_000 });
    expect(SPEC_BOUNDS.bodyBytes).toEqual({ min: 0, max: 64 * 1024 * 1024 });
    expect(SPEC_BOUNDS.messageRatePerS).toEqual({ min: 0, max: 1_000_000 });
  });

  test("the lists multiply only the tools that take them, in the combination count and its message", () => {
    const s = (o: Record<string, unknown>) => specFromObject({ name: "c", scenarios: ["host-host"], ...o });
    const lists = { connections: [1, 16, 64], bodies: [0, 1024], httpModes: ["keepalive", "new-connection"], messageRates: [0, 1000] };
    // iperf3: 1; http: 3 × 2 × 2 = 12; sockperf: 2 — each × protocols (tcp) × directions × parallel × lengths.
    expect(combinations(s({ tools: ["iperf3"], ...lists }))).toBe(1);
    expect(combinations(s({ tools: ["iperf3", "http", "sockperf"], ...lists }))).toBe(1 + 12 + 2);
    const err = specError(
      `${ok}tools: [http]\nconnections: ${flow(Array.from({ length: 32 }, (_, i) => i + 1))}\nbodies: ${flow(Array.from({ length: 32 }, (_, i) => i))}\nhttpModes: [keepalive, new-connection]\nlengths: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n`,
    );
    expect(err.message).toContain(
      "the spec crosses 20480 parameter combinations (1 tools × 1 directions × 1 parallel × 10 lengths × (1 for tcp); http × 2048 (connections × bodies × httpModes)), more than 20000",
    );
  });
});

describe("variants of http and sockperf", () => {
  test.each<[string, Record<string, unknown>, string[]]>([
    ["http defaults: 16 connections, 1 KiB, keepalive", { tools: ["http"] }, ["http/tcp/forward/C16/B1K/keepalive"]],
    [
      "http crossed with connections × bodies × modes",
      { tools: ["http"], connections: [1, 64], bodies: [0, "100K"], httpModes: ["keepalive", "new-connection"] },
      [
        "http/tcp/forward/C1/B0/keepalive",
        "http/tcp/forward/C1/B0/new-connection",
        "http/tcp/forward/C1/B100K/keepalive",
        "http/tcp/forward/C1/B100K/new-connection",
        "http/tcp/forward/C64/B0/keepalive",
        "http/tcp/forward/C64/B0/new-connection",
        "http/tcp/forward/C64/B100K/keepalive",
        "http/tcp/forward/C64/B100K/new-connection",
      ],
    ],
    ["http takes no length: one case for every lengths entry", { tools: ["http"], lengths: [0, 1400, "128K"] }, ["http/tcp/forward/C16/B1K/keepalive"]],
    ["sockperf: TCP and UDP, ping-pong", { tools: ["sockperf"], protocols: ["tcp", "udp"] }, ["sockperf/tcp/forward/L0/R0", "sockperf/udp/forward/L0/R0"]],
    [
      "sockperf: message sizes × rates, no UDP bitrates",
      { tools: ["sockperf"], protocols: ["udp"], lengths: [64, 1400], messageRates: [0, 10000], udpBitrates: ["1G", "100M"] },
      ["sockperf/udp/forward/L64/R0", "sockperf/udp/forward/L64/R10000", "sockperf/udp/forward/L1400/R0", "sockperf/udp/forward/L1400/R10000"],
    ],
    [
      "the others are not multiplied by the http and sockperf lists",
      { tools: ["iperf3", "qperf", "ping"], protocols: ["tcp", "udp"], connections: [1, 64], bodies: [0, 1024], httpModes: ["keepalive", "new-connection"], messageRates: [0, 10] },
      ["iperf3/tcp/forward/P1/L0", "iperf3/udp/forward/P1/L0/B1G", "qperf/tcp/forward/P1/L0", "qperf/udp/forward/P1/L0", "ping/icmp/forward/P1/L0"],
    ],
  ])("%s", (_what, o, keys) => {
    expect(plannedKeys(o)).toEqual(keys);
  });

  test.each<[string, Record<string, unknown>, [string, unknown][]]>([
    ["http over UDP", { tools: ["http"], protocols: ["tcp", "udp"] }, [["http/udp/forward/C16/B1K/keepalive", "http runs over TCP; protocol udp is unsupported"]]],
    [
      "http with parallel streams",
      { tools: ["http"], parallel: [1, 4] },
      [["http/tcp/forward/P4/C16/B1K/keepalive", 'http opens its connections with "connections" (wrk -c), not parallel streams; parallel 4 is unsupported']],
    ],
    [
      "http reverse",
      { tools: ["http"], directions: ["forward", "reverse"] },
      [["http/tcp/reverse/C16/B1K/keepalive", expect.stringContaining("direction reverse is unsupported")]],
    ],
    [
      "http's second length",
      { tools: ["http"], lengths: [0, 1400] },
      [["http/tcp/forward/C16/B1K/keepalive", "http takes no length (lengths): one case stands for every lengths entry"]],
    ],
    ["sockperf above its message size", { tools: ["sockperf"], lengths: [64, "128K"] }, [["sockperf/tcp/forward/L128K/R0", expect.stringContaining("sockperf messages are")]]],
  ])("skipped with the reason: %s", (_what, o, skips) => {
    expect(skippedKeys(o)).toEqual(skips);
  });

  test("a variant carries its own parameters, and only its tool's", () => {
    const vs = variants(hostHostSpec({ tools: ["iperf3", "http", "sockperf"], connections: [4], bodies: [0], httpModes: ["new-connection"], messageRates: [500] }));
    expect(vs.map((v) => [v.tool, v.connections, v.bodyBytes, v.httpMode, v.messageRatePerS])).toEqual([
      ["iperf3", undefined, undefined, undefined, undefined],
      ["http", 4, 0, "new-connection", undefined],
      ["sockperf", undefined, undefined, undefined, 500],
    ]);
  });
});
