import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { iperf3 } from "./iperf3.js";
import type { CapturedOutput, ClientParams, Measurement } from "./types.js";

/**
 * Fixtures: real iperf3 3.12 runs over 127.0.0.1 (namespaces for the network
 * errors), captured as <case>.stdout.json, <case>.stderr.txt and
 * <case>.meta.json ({ argv, exitCode }). Exit codes: every case exited 0,
 * errors included (3.12 reports them in the JSON "error" field).
 */
function load(name: string): { out: CapturedOutput; argv: string[] } {
  const at = (f: string): string => readFileSync(new URL(`./fixtures/iperf3/${name}.${f}`, import.meta.url), "utf8");
  const meta = JSON.parse(at("meta.json")) as { argv: string[]; exitCode: number };
  return { out: { stdout: at("stdout.json"), stderr: at("stderr.txt"), exitCode: meta.exitCode }, argv: meta.argv };
}

const base: ClientParams = { target: "127.0.0.1", port: 45201, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };

interface Case {
  name: string;
  params: Partial<ClientParams>;
  expect: Partial<Measurement>;
  streams: number;
  intervals: number;
  extra?: Record<string, number>;
}

// Values read from each fixture's end.sum_received / sum_sent / *_bidir_reverse / cpu_utilization_percent.
const cases: Case[] = [
  // iperf3 -c 127.0.0.1 -p 45201 -J --connect-timeout 3000 -t 2 -i 1
  {
    name: "tcp-single",
    params: {},
    streams: 1,
    intervals: 2,
    expect: {
      throughputBps: 15480501294.417511,
      receiverBps: 15480501294.417511,
      senderBps: 15486143454.734621,
      retransmits: 12,
      bytesReceived: 3871866880,
      durationS: 2.0009,
      localCpuPercent: 98.466208491963954,
      remoteCpuPercent: 33.6859386830525,
    },
  },
  // … -t 2 -P 4 -i 1
  {
    name: "tcp-p4",
    params: { parallel: 4 },
    streams: 4,
    intervals: 2,
    expect: { throughputBps: 19183432076.04232, senderBps: 19254720282.04517, retransmits: 16, bytesSent: 4814274560 },
  },
  // … -t 2 -R -i 1
  { name: "tcp-reverse", params: { direction: "reverse" }, streams: 1, intervals: 2, expect: { throughputBps: 15545503349.852608, senderBps: 15546650883.787891, retransmits: 7 } },
  // … -t 2 --bidir -i 1
  {
    name: "tcp-bidir",
    params: { direction: "bidir" },
    streams: 1,
    intervals: 4,
    expect: { throughputBps: 12751960634.718191, senderBps: 12818073768.598396, retransmits: 37, reverseSenderBps: 7135424106.941968, reverseReceiverBps: 7126927945.76179 },
    extra: { reverse_retransmits: 45, reverse_bytes_received: 1782579200 },
  },
  // … -t 2 -O 1 -i 1 (3 intervals in the JSON, the first omitted)
  { name: "tcp-omit", params: { omitS: 1 }, streams: 1, intervals: 2, expect: { throughputBps: 15000456386.11689, retransmits: 15 } },
  // … -t 2 -u -b 100000000 -i 1
  {
    name: "udp-100m",
    params: { protocol: "udp", bitrateBps: 100e6 },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 99991687.3508055, senderBps: 99995886.49567728, jitterMs: 0.010995938171939425, lostPackets: 0, packets: 763, lossPercent: 0 },
  },
  // … -t 2 -u -b 50000000 -P 2 -i 1
  {
    name: "udp-p2",
    params: { protocol: "udp", bitrateBps: 50e6, parallel: 2 },
    streams: 2,
    intervals: 2,
    expect: { throughputBps: 100125591.1707831, packets: 764, jitterMs: 0.003572685992503492 },
  },
  // … -t 2 -u -b 8000000000 -l 1400 -i 1 (loopback drops datagrams at this rate)
  {
    name: "udp-lossy",
    params: { protocol: "udp", bitrateBps: 8e9, lengthBytes: 1400 },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 1343047603.905587, lostPackets: 6484, packets: 246327, lossPercent: 2.6322733602081785 },
  },
  // … -t 2 -u -b 100000000 -R -i 1
  {
    name: "udp-reverse",
    params: { protocol: "udp", bitrateBps: 100e6, direction: "reverse" },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 100000785.94380502, jitterMs: 0.004992594349322196, packets: 763 },
  },
  // … -t 2 -u -b 100000000 --bidir -i 1
  {
    name: "udp-bidir",
    params: { protocol: "udp", bitrateBps: 100e6, direction: "bidir" },
    streams: 1,
    intervals: 4,
    expect: { throughputBps: 99980391.4021687, reverseReceiverBps: 99980391.4021687, jitterMs: 0.003835120837766197 },
    extra: { reverse_jitter_ms: 0.0184796265079646, reverse_packets: 763, reverse_lost_packets: 0 },
  },
];

describe("iperf3 parseClient on captured runs", () => {
  test.each(cases)("$name", (c) => {
    const { out, argv } = load(c.name);
    const p = { ...base, ...c.params };
    expect(iperf3.clientArgv(p)).toEqual(argv);
    const r = iperf3.parseClient(out, p);
    if (!r.ok) throw new Error(`expected a measurement, got ${r.failure.code}: ${r.failure.reason}`);
    expect(r.measurement).toMatchObject(c.expect);
    expect(r.measurement.streams).toHaveLength(c.streams);
    expect(r.measurement.intervals).toHaveLength(c.intervals);
    if (c.extra) expect(r.measurement.extra).toMatchObject(c.extra);
    if (p.protocol === "tcp") expect(r.measurement.jitterMs).toBeUndefined();
    else expect(r.measurement.retransmits).toBeUndefined();
  });

  test("per-stream totals of -P 4 are the four sockets and add up to the sum", () => {
    const r = iperf3.parseClient(load("tcp-p4").out, { ...base, parallel: 4 });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.streams.map((s) => s.id)).toEqual([5, 7, 9, 12]);
    const total = r.measurement.streams.reduce((a, s) => a + (s.receiverBps ?? 0), 0);
    expect(total).toBeCloseTo(19183432076.04232, -4);
  });

  test("bidir intervals are tagged by direction", () => {
    const r = iperf3.parseClient(load("tcp-bidir").out, { ...base, direction: "bidir" });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.intervals.map((i) => i.reverse)).toEqual([false, true, false, true]);
    expect(r.measurement.intervals[1]!.bitsPerSecond).toBe(2421585018.370288);
  });

  test("omitted intervals are dropped", () => {
    const r = iperf3.parseClient(load("tcp-omit").out, { ...base, omitS: 1 });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.intervals[0]).toMatchObject({ startS: 0.000131, retransmits: 2 });
  });

  test("the omitted interval's bytes are kept apart: they crossed the NIC but are not in the totals", () => {
    const raw = JSON.parse(load("tcp-omit").out.stdout) as { intervals: { sum: { omitted: boolean; bytes: number } }[] };
    const want = raw.intervals.filter((i) => i.sum.omitted).reduce((n, i) => n + i.sum.bytes, 0);
    expect(want).toBeGreaterThan(0);
    const r = iperf3.parseClient(load("tcp-omit").out, { ...base, omitS: 1 });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.extra["omitted_bytes"]).toBe(want);
    const single = iperf3.parseClient(load("tcp-single").out, base);
    if (!single.ok) throw new Error(single.failure.reason);
    expect(single.measurement.extra["omitted_bytes"]).toBeUndefined();
  });

  test("the connection's MSS: start.tcp_mss_default (loopback's, captured), or start.tcp_mss when -M set it", () => {
    const single = iperf3.parseClient(load("tcp-single").out, base);
    if (!single.ok) throw new Error(single.failure.reason);
    expect(single.measurement.extra["tcp_mss_bytes"]).toBe(32768);
    const doc = JSON.parse(load("tcp-single").out.stdout) as { start: Record<string, unknown> };
    doc.start = { ...doc.start, tcp_mss: 536 };
    delete doc.start["tcp_mss_default"];
    const set = iperf3.parseClient({ stdout: JSON.stringify(doc), stderr: "", exitCode: 0 }, { ...base, mss: 536 });
    expect(set.ok && set.measurement.extra["tcp_mss_bytes"]).toBe(536);
  });
});

describe("iperf3 failures", () => {
  test.each([
    // iperf3 -c 127.0.0.1 -p 45209 … (nothing listens); exit 0
    { name: "refused", code: "unreachable", reason: "iperf3: unable to connect to server: Connection refused" },
    // second client while a first one runs against `iperf3 -s -1`; exit 0
    { name: "server-busy", code: "server-busy", reason: "iperf3: the server is busy running a test. try again later" },
    // ip netns exec <ns with lo only> iperf3 -c 198.18.0.1 …; exit 0
    { name: "net-unreachable", code: "unreachable", reason: "iperf3: unable to connect to server: Network is unreachable" },
    // ip netns exec <ns> iperf3 -c 198.18.1.99 (static neighbour, nobody answers) --connect-timeout 3000; exit 0
    { name: "connect-timeout", code: "unreachable", reason: "iperf3: unable to connect to server: Connection timed out" },
  ])("$name → $code", ({ name, code, reason }) => {
    const { out } = load(name);
    expect(out.exitCode).toBe(0);
    expect(iperf3.parseClient(out, base)).toEqual({ ok: false, failure: { code, reason } });
  });

  test("an error field wins over figures in the same JSON", () => {
    const doc = JSON.parse(load("tcp-single").out.stdout) as Record<string, unknown>;
    doc.error = "control socket has closed unexpectedly";
    const r = iperf3.parseClient({ stdout: JSON.stringify(doc), stderr: "", exitCode: 1 }, base);
    expect(r).toEqual({ ok: false, failure: { code: "tool-error", reason: "iperf3: control socket has closed unexpectedly" } });
  });

  test("a receiver that got nothing is unreachable, not 0 bits/s", () => {
    const doc = JSON.parse(load("udp-100m").out.stdout) as { end: { sum_received: Record<string, number> } };
    Object.assign(doc.end.sum_received, { bytes: 0, bits_per_second: 0, lost_packets: 763, lost_percent: 100 });
    const r = iperf3.parseClient({ stdout: JSON.stringify(doc), stderr: "", exitCode: 0 }, { ...base, protocol: "udp" });
    expect(r).toEqual({ ok: false, failure: { code: "unreachable", reason: "iperf3: nothing arrived at the receiver (0 of 25001984 bytes sent)" } });
  });

  test.each([
    ["truncated JSON", load("tcp-single").out.stdout.slice(0, 1500)],
    ["empty output", ""],
    ["garbage", "\u0000\u0001not json at all }{"],
    ["JSON without end.sum_received", JSON.stringify({ start: {}, intervals: [], end: {} })],
  ])("%s → parse-error", (_label, stdout) => {
    const r = iperf3.parseClient({ stdout, stderr: "", exitCode: 0 }, base);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure.code).toBe("parse-error");
  });

  test("a text report (iperf3 run without -J) is a parse error naming the flag", () => {
    // iperf3 -c 127.0.0.1 -p 45941 -t 2 -i 1; exit 0 (real output, kept as text-report.stdout.txt)
    const stdout = readFileSync(new URL("./fixtures/iperf3/text-report.stdout.txt", import.meta.url), "utf8");
    const r = iperf3.parseClient({ stdout, stderr: "", exitCode: 0 }, base);
    expect(r).toEqual({ ok: false, failure: { code: "parse-error", reason: "iperf3: output is not in the expected format (a text report, not JSON): run with -J" } });
  });

  test("plain-text error on stderr (no JSON) is classified", () => {
    const r = iperf3.parseClient({ stdout: "", stderr: "iperf3: error - unable to connect to server: Connection refused\n", exitCode: 1 }, base);
    expect(r).toEqual({ ok: false, failure: { code: "unreachable", reason: "iperf3: unable to connect to server: Connection refused" } });
  });
});

describe("iperf3 argv", () => {
  const head = ["iperf3", "-c", "10.0.0.2", "-p", "5201", "-J", "--connect-timeout", "3000", "-t", "10"];
  const p: ClientParams = { ...base, target: "10.0.0.2", port: 5201, durationS: 10 };
  test.each<[string, Partial<ClientParams>, string[]]>([
    ["defaults", {}, [...head, "-i", "1"]],
    ["-P 32", { parallel: 32 }, [...head, "-P", "32", "-i", "1"]],
    ["reverse", { direction: "reverse" }, [...head, "-R", "-i", "1"]],
    ["bidir", { direction: "bidir" }, [...head, "--bidir", "-i", "1"]],
    ["udp with bitrate", { protocol: "udp", bitrateBps: 2.5e9 }, [...head, "-u", "-b", "2500000000", "-i", "1"]],
    ["udp without bitrate (iperf3 default 1 Mbit/s)", { protocol: "udp" }, [...head, "-u", "-i", "1"]],
    ["tcp pacing", { bitrateBps: 1e9 }, [...head, "-b", "1000000000", "-i", "1"]],
    ["-l -w -M -O", { lengthBytes: 131072, windowBytes: 4194304, mss: 1400, omitS: 2 }, [...head, "-l", "131072", "-w", "4194304", "-M", "1400", "-O", "2", "-i", "1"]],
    ["fractional duration rounds up", { durationS: 2.5 }, [...head.slice(0, -1), "3", "-i", "1"]],
    ["IPv6 target", { target: "fd00::2" }, ["iperf3", "-c", "fd00::2", ...head.slice(3), "-i", "1"]],
  ])("%s", (_label, extra, argv) => {
    expect(iperf3.clientArgv({ ...p, ...extra })).toEqual(argv);
  });

  test("server", () => {
    expect(iperf3.serverArgv({ port: 5201, protocol: "udp" })).toEqual(["iperf3", "-s", "-p", "5201", "-1"]);
    expect(iperf3.serverArgv({ port: 5201, protocol: "tcp", bind: "fd00::1" })).toEqual(["iperf3", "-s", "-p", "5201", "-1", "-B", "fd00::1"]);
  });

  test("version", () => {
    expect(iperf3.versionArgv()).toEqual(["iperf3", "--version"]);
    expect(iperf3.parseVersion("iperf 3.12 (cJSON 1.7.15)\nLinux vm 6.18.44 #1 SMP x86_64\n")).toBe("3.12");
    expect(iperf3.parseVersion("command not found")).toBeUndefined();
  });

  test.each<[Partial<ClientParams>, RegExp | undefined]>([
    [{ parallel: 128, direction: "bidir", protocol: "udp" }, undefined],
    [{ parallel: 129 }, /1 to 128 parallel/],
    [{ parallel: 0 }, /1 to 128 parallel/],
  ])("unsupported(%o)", (extra, want) => {
    const why = iperf3.unsupported({ ...base, ...extra });
    if (want) expect(why).toMatch(want);
    else expect(why).toBeUndefined();
  });
});
