import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { iperf2, parseRows } from "./iperf2.js";
import type { CapturedOutput, ClientParams, Measurement, ServerReport } from "./types.js";

/**
 * Fixtures: real iperf 2.1.8 runs over 127.0.0.1 (a namespace for the network
 * error), captured as <case>.stdout.txt, <case>.stderr.txt and <case>.meta.json
 * ({ argv, exitCode }); UDP cases also keep the server's stdout
 * (<case>.server.stdout.txt, server argv in <case>.server.meta.json:
 * `iperf -s -p P -e -f b -u`). Every client exited 0, failures included.
 */
function read(name: string, file: string): string {
  return readFileSync(new URL(`./fixtures/iperf2/${name}.${file}`, import.meta.url), "utf8");
}
function load(name: string): { out: CapturedOutput; argv: string[]; server?: string } {
  const meta = JSON.parse(read(name, "meta.json")) as { argv: string[]; exitCode: number };
  const serverFile = new URL(`./fixtures/iperf2/${name}.server.stdout.txt`, import.meta.url);
  return {
    out: { stdout: read(name, "stdout.txt"), stderr: read(name, "stderr.txt"), exitCode: meta.exitCode },
    argv: meta.argv,
    ...(existsSync(serverFile) ? { server: readFileSync(serverFile, "utf8") } : {}),
  };
}

const base: ClientParams = { target: "127.0.0.1", port: 0, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };
const udp: ClientParams = { ...base, protocol: "udp" };

interface Case {
  name: string;
  /** The port each capture used (a fresh server per case). */
  port: number;
  params: Partial<ClientParams>;
  expect: Partial<Measurement>;
  streams: number;
  intervals: number;
  extra?: Record<string, number>;
  server?: Partial<ServerReport>;
}

// Values are the final per-stream rows of each fixture ("0.0000-x sec … Bytes … bits/sec"), summed over streams.
const cases: Case[] = [
  // iperf -c 127.0.0.1 -p 45321 -e -f b -t 2 -i 1
  {
    name: "tcp-single",
    port: 45321,
    params: {},
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 11289705458, senderBps: 11289705458, bytesSent: 2839150652, retransmits: 11, durationS: 2.0119 },
  },
  // … -P 8: eight stream totals (Rtry 32+44+12+19+57+42+14+1 = 221, as the tool's own [SUM] row)
  {
    name: "tcp-p8",
    port: 45322,
    params: { parallel: 8 },
    streams: 8,
    intervals: 2,
    // senderBps is the tool's own [SUM] total row (6588596704 B over 2.0074 s), not the sum of per-stream rates
    expect: { senderBps: 26257719023, bytesSent: 6588596704, retransmits: 221 },
  },
  // … -R: the client only receives ([ *1] Reads=Dist rows)
  {
    name: "tcp-reverse",
    port: 45323,
    params: { direction: "reverse" },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 12978357400, receiverBps: 12978357400, bytesReceived: 3240493056 },
  },
  // … --full-duplex: [  1] sends (Rtry), [ *1] receives
  {
    name: "tcp-bidir",
    port: 45324,
    params: { direction: "bidir" },
    streams: 1,
    intervals: 4,
    expect: { throughputBps: 8175281321, senderBps: 8175281321, retransmits: 246, reverseReceiverBps: 10189738245 },
    extra: { reverse_bytes_received: 2553675776 },
  },
  // … -u -b 100000000: the client prints the server's report (jitter, lost/total)
  {
    name: "udp-100m",
    port: 45325,
    params: { protocol: "udp", bitrateBps: 100e6 },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 99969683, senderBps: 100010520, receiverBps: 99969683, jitterMs: 0.002, lostPackets: 0, packets: 17009, lossPercent: 0 },
    server: { receiverBps: 99969633, packets: 17009, lostPackets: 0 },
  },
  // … -u -b 50000000 -P 2 (server reports 3/8507 and 0/8507)
  {
    name: "udp-p2",
    port: 45326,
    params: { protocol: "udp", bitrateBps: 50e6, parallel: 2 },
    streams: 2,
    intervals: 2,
    // sender: the client's [SUM] row; receiver: both server reports' bytes over the longer stream's time
    expect: { receiverBps: 100020557.94420558, senderBps: 100016816, lostPackets: 3, packets: 17014, jitterMs: 0.0015, lossPercent: (100 * 3) / 17014 },
    server: { receiverBps: 100020557.94420558, lostPackets: 3, packets: 17014 },
  },
  // … -u -b 4000000000 -l 1400: 10740/288730 (3.7%) lost
  {
    name: "udp-lossy",
    port: 45327,
    params: { protocol: "udp", bitrateBps: 4e9, lengthBytes: 1400 },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 1557023486, senderBps: 1616865364, lostPackets: 10740, packets: 288730, lossPercent: (100 * 10740) / 288730 },
    server: { receiverBps: 1557022707, lostPackets: 10740, packets: 288730 },
  },
  // … -u -b 100000000 -R: the client receives and measures jitter/loss itself
  {
    name: "udp-reverse",
    port: 45328,
    params: { protocol: "udp", bitrateBps: 100e6, direction: "reverse" },
    streams: 1,
    intervals: 2,
    expect: { throughputBps: 100059271, jitterMs: 0.001, lostPackets: 0, packets: 17008 },
  },
  // … -u -b 100000000 --full-duplex (no-udp-fin: forward loss only in the server's output)
  {
    name: "udp-bidir",
    port: 45329,
    params: { protocol: "udp", bitrateBps: 100e6, direction: "bidir" },
    streams: 1,
    intervals: 4,
    expect: { senderBps: 100011549, reverseReceiverBps: 100009649 },
    extra: { reverse_packets: 17010, reverse_lost_packets: 0, reverse_jitter_ms: 0.001 },
    server: { receiverBps: 99904060, packets: 17010, lostPackets: 0 },
  },
];

describe("iperf2 parseClient on captured runs", () => {
  test.each(cases)("$name", (c) => {
    const { out, argv, server } = load(c.name);
    const p = { ...base, port: c.port, ...c.params };
    expect(iperf2.clientArgv(p)).toEqual(argv);
    const r = iperf2.parseClient(out, p);
    if (!r.ok) throw new Error(`expected a measurement, got ${r.failure.code}: ${r.failure.reason}`);
    expect(r.measurement).toMatchObject(c.expect);
    expect(r.measurement.streams).toHaveLength(c.streams);
    expect(r.measurement.intervals).toHaveLength(c.intervals);
    if (c.extra) expect(r.measurement.extra).toMatchObject(c.extra);
    expect(server !== undefined).toBe(c.server !== undefined || c.name === "udp-reverse");
    if (c.server) expect(iperf2.parseServer!(server!, p)).toMatchObject({ status: "report", report: c.server });
  });

  test("-P 8 total agrees with the tool's own [SUM] row within 1%", () => {
    const { out } = load("tcp-p8");
    const r = iperf2.parseClient(out, { ...base, parallel: 8 });
    if (!r.ok) throw new Error(r.failure.reason);
    const sumRow = parseRows(out.stdout)
      .filter((x) => Number.isNaN(x.id) && x.startS === 0)
      .at(-1)!;
    expect(sumRow.bitsPerSecond).toBe(26257719023);
    expect(Math.abs(r.measurement.senderBps! / sumRow.bitsPerSecond - 1)).toBeLessThan(0.01);
    expect(r.measurement.streams.map((s) => s.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.measurement.intervals[0]).toMatchObject({ startS: 0, endS: 1, bitsPerSecond: 22122860288, retransmits: 179 });
  });

  test("bidir intervals carry the direction", () => {
    const r = iperf2.parseClient(load("tcp-bidir").out, { ...base, direction: "bidir" });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.intervals.map((i) => [i.startS, i.reverse])).toEqual([
      [0, false],
      [1, false],
      [0, true],
      [1, true],
    ]);
  });

  test("udp-bidir has no forward receiver view until the server report is merged", () => {
    const r = iperf2.parseClient(load("udp-bidir").out, { ...base, protocol: "udp", direction: "bidir" });
    if (!r.ok) throw new Error(r.failure.reason);
    expect(r.measurement.throughputBps).toBeUndefined();
    expect(r.measurement.lossPercent).toBeUndefined();
  });

  test("the server report of a reverse test is pending (the server only sent)", () => {
    const { server } = load("udp-reverse");
    expect(iperf2.parseServer!(server!, { ...base, protocol: "udp", direction: "reverse" })).toEqual({ status: "pending" });
  });

  test("parseServer keeps the last `parallel` streams of a long-lived server", () => {
    const { server } = load("udp-p2");
    const one = iperf2.parseServer!(server!, { ...base, protocol: "udp", parallel: 1 });
    expect(one.status === "report" ? one.report.streams : one).toEqual([{ id: 1, bytes: 12506760, receiverBps: 50022238, jitterMs: 0, lostPackets: 0, packets: 8507 }]);
  });
});

describe("iperf2 failures", () => {
  test.each([
    // iperf -c 127.0.0.1 -p 45399 -e -f b -t 2 -i 1 (nothing listens); exit 0, "tcp connect failed" on stderr
    { name: "refused", params: {}, code: "unreachable", reason: "iperf2: tcp connect failed: Connection refused" },
    // ip netns exec <ns with lo only> iperf -c 198.18.0.1 …; exit 0
    { name: "net-unreachable", params: {}, code: "unreachable", reason: "iperf2: tcp connect failed: Network is unreachable" },
    // iperf -c 127.0.0.1 -p 45398 … -u -b 10000000 (no server): sender rows, "read failed: Connection refused" ×N, exit 0
    {
      name: "udp-no-server",
      params: { protocol: "udp" as const, port: 45398 },
      code: "unreachable",
      reason: "iperf2: read failed: Connection refused (no iperf2 UDP server answered on port 45398)",
    },
    // iperf -c 127.0.0.1 -p 45600 -e -f b -t 2 -i 1 -u -b 50000000 -P 2 --full-duplex: 1 run in 3 one reverse
    // stream gets 0 bytes and "recvmsg failed: Connection refused" on stderr; exit 0
    {
      name: "udp-bidir-p2-flaky",
      params: { protocol: "udp" as const, direction: "bidir" as const, parallel: 2 },
      code: "tool-error",
      reason: "iperf2: recvmsg failed: Connection refused",
    },
  ])("$name → $code", ({ name, params, code, reason }) => {
    const { out } = load(name);
    expect(out.exitCode).toBe(0);
    expect(iperf2.parseClient(out, { ...base, ...params })).toEqual({ ok: false, failure: { code, reason } });
  });

  test("a UDP server report of nothing received is unreachable, not 0 bits/s", () => {
    const stdout = load("udp-100m").out.stdout.replace(
      "[  1] 0.0000-2.0009 sec  25003230 Bytes  99969683 bits/sec   0.002 ms 0/17009",
      "[  1] 0.0000-2.0009 sec  0 Bytes  0 bits/sec   0.000 ms 17009/17009",
    );
    const r = iperf2.parseClient({ stdout, stderr: "", exitCode: 0 }, { ...base, protocol: "udp" });
    expect(r).toEqual({ ok: false, failure: { code: "unreachable", reason: "iperf2: the server received nothing (0 of 17009 datagrams)" } });
  });

  test("fewer stream totals than -P asked for is a failure, not a smaller number", () => {
    const r = iperf2.parseClient(load("tcp-single").out, { ...base, parallel: 2 });
    expect(r).toEqual({ ok: false, failure: { code: "parse-error", reason: "iperf2: only 1 of 2 streams reported totals (output truncated?)" } });
  });

  test.each([
    ["output cut before the totals", load("tcp-single").out.stdout.split("\n").slice(0, 9).join("\n")],
    ["header only", load("refused").out.stdout],
    ["empty", ""],
    ["garbage", "[ 1] 0.0-x sec NaN Bytes\n\u0000\u0007"],
  ])("%s → parse-error", (_label, stdout) => {
    const r = iperf2.parseClient({ stdout, stderr: "", exitCode: 0 }, base);
    expect(r.ok ? "ok" : r.failure.code).toBe("parse-error");
  });

  test("a non-zero exit without rows is a tool error with the tool's message", () => {
    const r = iperf2.parseClient({ stdout: "", stderr: "iperf: ignoring extra argument -- x\n", exitCode: 1 }, base);
    expect(r).toEqual({ ok: false, failure: { code: "tool-error", reason: "iperf2: iperf: ignoring extra argument -- x" } });
  });
});

describe("iperf2 output in another format than -e -f b", () => {
  // Real runs of iperf 2.1.8 without the flags the driver passes (argv in each meta.json).
  const scaled = 'its rates are in scaled units such as "GBytes" and "Gbits/sec", not bytes and bits/sec';
  const noE = "its rows lack the enhanced columns (Write/Err, Rtry, Reads=Dist, Jitter Lost/Total)";
  test.each([
    // iperf -c 127.0.0.1 -p 45931 -t 2 -i 1 (server: iperf -s -p 45931)
    { name: "wrong-format-plain-text", params: {}, problem: scaled },
    // iperf -c … -e -t 2 -i 1 (server -e)
    { name: "wrong-format-no-f-b", params: {}, problem: scaled },
    // iperf -c … -f b -t 2 -i 1 (server -f b)
    { name: "wrong-format-no-e", params: {}, problem: noE },
    // iperf -c … -u -b 10000000 -t 2 -i 1 (server -u)
    { name: "wrong-format-udp-plain-text", params: { protocol: "udp" as const }, problem: scaled },
  ])("$name: a parse error that names the flags, from client and server alike", ({ name, params, problem }) => {
    const { out, server } = load(name);
    const failure = { code: "parse-error", reason: `iperf2: output is not in the expected format (${problem}): run with -e -f b` };
    expect(iperf2.parseClient(out, { ...base, ...params })).toEqual({ ok: false, failure });
    expect(iperf2.parseServer!(server!, { ...base, ...params })).toEqual({ status: "failed", failure });
  });

  test('"not yet" is not "wrong format": a server that printed no row, or is still printing its first, is pending', () => {
    const { server } = load("udp-lossy");
    const header = server!.split("[ ID]")[0]!;
    expect(iperf2.parseServer!(header, udp)).toEqual({ status: "pending" });
    const row = server!.indexOf("[  1] 0.0000-");
    expect(iperf2.parseServer!(server!.slice(0, row + 40), udp)).toEqual({ status: "pending" });
    expect(iperf2.parseServer!(server!, udp)).toMatchObject({ status: "report" });
    // The same cut in the wrong format is pending too until the row's line ends.
    const plain = load("wrong-format-udp-plain-text").server!;
    expect(iperf2.parseServer!(plain.slice(0, plain.lastIndexOf("sec") + 3), udp)).toEqual({ status: "pending" });
  });
});

describe("iperf2 argv", () => {
  const head = ["iperf", "-c", "10.0.0.2", "-p", "5001", "-e", "-f", "b", "-t", "10", "-i", "1"];
  const p: ClientParams = { ...base, target: "10.0.0.2", port: 5001, durationS: 10 };
  test.each<[string, Partial<ClientParams>, string[]]>([
    ["defaults", {}, head],
    ["-P 32", { parallel: 32 }, [...head, "-P", "32"]],
    ["reverse", { direction: "reverse" }, [...head, "-R"]],
    ["bidir", { direction: "bidir" }, [...head, "--full-duplex"]],
    ["udp with bitrate", { protocol: "udp", bitrateBps: 1e9 }, [...head, "-u", "-b", "1000000000"]],
    ["-l -w -M", { lengthBytes: 1470, windowBytes: 262144, mss: 1200 }, [...head, "-l", "1470", "-w", "262144", "-M", "1200"]],
    ["IPv6 target", { target: "fd00::2" }, ["iperf", "-c", "fd00::2", ...head.slice(3)]],
  ])("%s", (_label, extra, argv) => {
    expect(iperf2.clientArgv({ ...p, ...extra })).toEqual(argv);
  });

  test.each<[string, Parameters<typeof iperf2.serverArgv>[0], string[]]>([
    ["tcp, any address (v4 and v6)", { port: 5001, protocol: "tcp" }, ["iperf", "-s", "-p", "5001", "-e", "-f", "b", "-V"]],
    ["udp", { port: 5001, protocol: "udp" }, ["iperf", "-s", "-p", "5001", "-e", "-f", "b", "-u", "-V"]],
    ["IPv4 bind", { port: 5001, protocol: "tcp", bind: "10.0.0.1" }, ["iperf", "-s", "-p", "5001", "-e", "-f", "b", "-B", "10.0.0.1"]],
    ["IPv6 bind", { port: 5001, protocol: "udp", bind: "fd00::1" }, ["iperf", "-s", "-p", "5001", "-e", "-f", "b", "-u", "-V", "-B", "fd00::1"]],
  ])("server: %s", (_label, sp, argv) => {
    expect(iperf2.serverArgv(sp)).toEqual(argv);
  });

  test("version (2.1.8 prints it on stderr)", () => {
    expect(iperf2.versionArgv()).toEqual(["iperf", "-v"]);
    expect(iperf2.parseVersion("\niperf version 2.1.8 (12 August 2022) pthreads\n")).toBe("2.1.8");
    expect(iperf2.parseVersion("iperf 3.12 (cJSON 1.7.15)")).toBeUndefined();
  });

  test.each<[Partial<ClientParams>, RegExp | undefined]>([
    [{ parallel: 128, direction: "reverse", protocol: "udp" }, undefined],
    [{ parallel: 129 }, /1 to 128 parallel/],
    [{ omitS: 2 }, /no -O/],
    [{ protocol: "udp", direction: "bidir", parallel: 2 }, /unreliable/],
    [{ protocol: "udp", direction: "bidir", parallel: 1 }, undefined],
    [{ protocol: "tcp", direction: "bidir", parallel: 8 }, undefined],
  ])("unsupported(%o)", (extra, want) => {
    const why = iperf2.unsupported({ ...base, ...extra });
    if (want) expect(why).toMatch(want);
    else expect(why).toBeUndefined();
  });
});
