import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseSockperf, sockperf, SOCKPERF_OVERHEAD_MS } from "./sockperf.js";
import type { CapturedOutput, ClientParams, FailureCode, Latency, Measurement } from "./types.js";

/**
 * Fixtures: real sockperf 3.7 runs against `sockperf server [--tcp] -i
 * 127.0.0.1 -p P` (TCP on 23121, UDP on 23122), 2 s each; the error runs
 * against a port nothing serves (23129), an IPv6 address (which 3.7 refuses)
 * and, in a throw-away network namespace, 198.18.0.1. `udp-half-rtt` ran
 * without --full-rtt (sockperf's default, half round trips). sockperf prints
 * everything on stdout, colour escapes included, and exits 0 on its own
 * errors. <case>.stdout.txt, .stderr.txt, .meta.json ({ argv, exitCode }).
 */
function load(name: string): { out: CapturedOutput; argv: string[] } {
  const at = (f: string): string => readFileSync(new URL(`./fixtures/sockperf/${name}.${f}`, import.meta.url), "utf8");
  const meta = JSON.parse(at("meta.json")) as { argv: string[]; exitCode: number };
  return { out: { stdout: at("stdout.txt"), stderr: at("stderr.txt"), exitCode: meta.exitCode }, argv: meta.argv };
}

const tcp: ClientParams = { target: "127.0.0.1", port: 23121, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };
const udp: ClientParams = { ...tcp, port: 23122, protocol: "udp" };

interface Success {
  name: string;
  params: ClientParams;
  latency: Required<Pick<Latency, "meanUs" | "stddevUs" | "minUs" | "maxUs" | "p50Us" | "p90Us" | "p99Us" | "p999Us" | "samples">>;
  expect: Partial<Measurement>;
  extra: Record<string, number>;
}

const successes: Success[] = [
  // sockperf ping-pong --tcp -i 127.0.0.1 -p 23121 -t 2 -m 64 --full-rtt
  {
    name: "tcp",
    params: tcp,
    latency: { meanUs: 63.491, stddevUs: 47.217, minUs: 5.117, maxUs: 2843.074, p50Us: 64.192, p90Us: 73.841, p99Us: 110.271, p999Us: 679.974, samples: 24398 },
    expect: { messageRatePerS: 24398 / 1.55, durationS: 1.55 },
    extra: { sent_messages: 24398, received_messages: 24398, dropped_messages: 0 },
  },
  // sockperf ping-pong -i 127.0.0.1 -p 23122 -t 2 -m 64 --full-rtt
  {
    name: "udp",
    params: udp,
    latency: { meanUs: 56.722, stddevUs: 82.762, minUs: 4.187, maxUs: 8902.973, p50Us: 62.08, p90Us: 73.799, p99Us: 107.579, p999Us: 946.37, samples: 27308 },
    // UDP ping-pong: the dropped messages are its loss.
    expect: { messageRatePerS: 27308 / 1.55, packets: 27308, lostPackets: 0, lossPercent: 0 },
    extra: { sent_messages: 27308 },
  },
  {
    name: "udp-m1400",
    params: { ...udp, lengthBytes: 1400 },
    latency: { meanUs: 58.043, stddevUs: 49.412, minUs: 4.324, maxUs: 3094.961, p50Us: 61.513, p90Us: 70.99, p99Us: 107.674, p999Us: 662.052, samples: 26687 },
    expect: { packets: 26687 },
    extra: {},
  },
  {
    name: "tcp-m16384",
    params: { ...tcp, lengthBytes: 16384 },
    latency: { meanUs: 62.403, stddevUs: 51.285, minUs: 6.29, maxUs: 3912.28, p50Us: 66.413, p90Us: 76.283, p99Us: 121.834, p999Us: 590.766, samples: 24822 },
    expect: {},
    extra: {},
  },
  // sockperf under-load … --mps 10000: the server answers every 100th message
  {
    name: "udp-under-load",
    params: { ...udp, messageRatePerS: 10000 },
    latency: { meanUs: 85.33, stddevUs: 183.706, minUs: 40.334, maxUs: 2131.421, p50Us: 56.674, p90Us: 87.163, p99Us: 271.147, p999Us: 2131.421, samples: 153 },
    expect: { messageRatePerS: 15201 / 1.52, durationS: 1.52 },
    extra: { sent_messages: 15201, received_messages: 153 },
  },
  {
    name: "tcp-under-load",
    params: { ...tcp, messageRatePerS: 10000 },
    latency: { meanUs: 71.578, stddevUs: 83.254, minUs: 27.108, maxUs: 816.932, p50Us: 54.164, p90Us: 72.947, p99Us: 428.667, p999Us: 816.932, samples: 153 },
    expect: { messageRatePerS: 15201 / 1.52 },
    extra: {},
  },
];

describe("sockperf runs that measured", () => {
  test.each(successes)("$name", (c) => {
    const { out, argv } = load(c.name);
    expect(sockperf.clientArgv(c.params)).toEqual(argv);
    const r = sockperf.parseClient(out, c.params);
    if (!r.ok) throw new Error(r.failure.reason);
    const m = r.measurement;
    expect(m.latency?.kind).toBe("rtt");
    for (const [k, v] of Object.entries(c.latency)) expect(m.latency?.[k as keyof Latency], k).toBeCloseTo(v, 6);
    for (const [k, v] of Object.entries(c.expect)) expect(m[k as keyof Measurement], k).toBeCloseTo(v as number, 6);
    expect(m.extra).toMatchObject(c.extra);
    expect(m.latency!.p50Us!).toBeLessThanOrEqual(m.latency!.p99Us!);
    expect(m.latency!.p99Us!).toBeLessThanOrEqual(m.latency!.maxUs!);
    // Under load the server answers only some messages: no loss figure from them.
    if (c.params.messageRatePerS !== undefined || c.params.protocol === "tcp") expect(m.lossPercent).toBeUndefined();
    expect(m.throughputBps).toBeUndefined();
    expect(sockperf.payloadBytes(m)).toBeUndefined();
  });

  test("the percentiles beyond the headline ones are kept as extras", () => {
    const r = sockperf.parseClient(load("tcp").out, tcp);
    expect(r.ok && Object.keys(r.measurement.extra).filter((k) => k.startsWith("latency_p"))).toEqual([
      "latency_p25_us",
      "latency_p75_us",
      "latency_p9999_us",
      "latency_p99999_us",
    ]);
  });
});

interface Failure {
  name: string;
  params: ClientParams;
  code: FailureCode;
  reason: RegExp;
  /** The argv differs from the driver's (an address it refuses, or a flag it always passes left out). */
  driverArgv?: false;
}

const failures: Failure[] = [
  // TCP, nothing listens: an ERROR line, exit 0
  { name: "tcp-refused", params: { ...tcp, port: 23129 }, code: "unreachable", reason: /^sockperf: Can`t connect socket \(errno=111 Connection refused\)$/ },
  // UDP, nothing listens: no reply in the whole run
  { name: "udp-no-server", params: { ...udp, port: 23129 }, code: "unreachable", reason: /no reply from the server in 2 s \(nothing listens on 127\.0\.0\.1:23129\/udp/ },
  { name: "tcp-net-unreachable", params: { ...tcp, target: "198.18.0.1", port: 20000 }, code: "unreachable", reason: /errno=101 Network is unreachable/ },
  { name: "udp-net-unreachable", params: { ...udp, target: "198.18.0.1", port: 20000 }, code: "unreachable", reason: /sendto\(\) Failed sending .*Network is unreachable/ },
  // IPv6: sockperf 3.7 refuses the address (the driver refuses it before, in unsupported)
  { name: "ipv6", params: { ...tcp, target: "::1" }, code: "tool-error", reason: /^sockperf: '-i' Invalid address: ::1$/ },
  // Half round trips are not what the driver reports as a round trip.
  { name: "udp-half-rtt", params: udp, code: "parse-error", reason: /half round trips.*run with --full-rtt/, driverArgv: false },
];

describe("sockperf runs that failed", () => {
  test.each(failures)("$name → $code", (c) => {
    const { out, argv } = load(c.name);
    const run = argv.slice(argv.indexOf("sockperf"));
    if (c.driverArgv === false) expect(run).toEqual(sockperf.clientArgv(c.params).filter((a) => a !== "--full-rtt"));
    else expect(run).toEqual(sockperf.clientArgv(c.params));
    const r = sockperf.parseClient(out, c.params);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.code).toBe(c.code);
    expect(r.failure.reason).toMatch(c.reason);
  });

  test("a report cut before its percentiles is a parse error", () => {
    const { out } = load("tcp");
    const cut = out.stdout.slice(0, out.stdout.indexOf("observations"));
    const r = sockperf.parseClient({ ...out, stdout: cut }, tcp);
    expect(r.ok ? "ok" : r.failure.code).toBe("parse-error");
  });

  test("a report of no observation is no latency", () => {
    const { out } = load("tcp");
    const r = sockperf.parseClient({ ...out, stdout: out.stdout.replace("Total 24398 observations", "Total 0 observations") }, tcp);
    expect(r.ok ? "ok" : r.failure.code).toBe("unreachable");
  });
});

describe("its report", () => {
  test("colour escapes are not in the way", () => {
    const r = parseSockperf(load("udp").out.stdout);
    expect(r.kind).toBe("rtt");
    expect(r.observations).toBe(27308);
    expect(r.percentiles.get("99.999")).toBeCloseTo(8902.973, 6);
  });
});

describe("argv", () => {
  test.each([
    [tcp, ["sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", "23121", "-t", "2", "-m", "64", "--full-rtt"]],
    [{ ...udp, lengthBytes: 1400, durationS: 10 }, ["sockperf", "ping-pong", "-i", "127.0.0.1", "-p", "23122", "-t", "10", "-m", "1400", "--full-rtt"]],
    [{ ...udp, messageRatePerS: 2500.4 }, ["sockperf", "under-load", "-i", "127.0.0.1", "-p", "23122", "-t", "2", "-m", "64", "--mps", "2500", "--full-rtt"]],
  ])("%j", (p, want) => {
    expect(sockperf.clientArgv(p)).toEqual(want);
  });

  test.each([
    [{ port: 20001, protocol: "tcp" as const, bind: "10.0.0.2" }, ["sockperf", "server", "--tcp", "-i", "10.0.0.2", "-p", "20001"]],
    [{ port: 20001, protocol: "udp" as const, bind: "10.0.0.2" }, ["sockperf", "server", "-i", "10.0.0.2", "-p", "20001"]],
    // No bind, or one 3.7 cannot take: every IPv4 address.
    [{ port: 20001, protocol: "udp" as const }, ["sockperf", "server", "-p", "20001"]],
    [{ port: 20001, protocol: "tcp" as const, bind: "fd00::2" }, ["sockperf", "server", "--tcp", "-p", "20001"]],
  ])("server %j", (p, want) => {
    expect(sockperf.serverArgv(p)).toEqual(want);
    // Ready once the socket of its protocol is there.
    expect(sockperf.serverListens(p.protocol)).toBe(p.protocol);
  });

  test.each([
    ["parallel", { parallel: 2 }, /parallel 2/],
    ["reverse", { direction: "reverse" as const }, /direction reverse/],
    ["IPv6", { target: "fd00::2" }, /IPv4 addresses only/],
    ["bitrate", { bitrateBps: 1e6 }, /message_rate_per_s/],
    ["a message below its header", { lengthBytes: 8 }, /14 to 65507 bytes .* not 8/],
    ["a message above its server's buffer", { lengthBytes: 70000 }, /not 70000/],
    ["omit", { omitS: 1 }, /omit/],
  ])("refuses %s", (_name, params, reason) => {
    expect(sockperf.unsupported({ ...tcp, ...params })).toMatch(reason);
  });

  test("a run lasts its duration plus sockperf's start and wind-down", () => {
    expect(sockperf.runMs({ durationS: 10 })).toBe(10_000 + SOCKPERF_OVERHEAD_MS);
    expect(sockperf.describeRun({ durationS: 10 }).figures).toBe("10 s + 2.5 s of sockperf's start and wind-down");
  });
});

test("version", () => {
  expect(sockperf.parseVersion("sockperf, version 3.7-no.git\n   compiled 2021-08-23 12:14:23")).toBe("3.7");
  expect(sockperf.parseVersion("sockperf: == version #3.10-0.git == ")).toBeUndefined();
});
