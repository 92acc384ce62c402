/**
 * The final check every parser's result goes through (validate.ts): on real
 * fixtures with one figure changed to what a broken, hostile or reordering
 * tool prints. Each case passed the parsers before the check (and several
 * then failed protobuf encoding); now each is a typed parse error naming the
 * figure, or — a negative UDP loss — loss 0 with the reordering flagged.
 */
import { readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MeasurementSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { DEFAULT_MAX_OUTPUT_BYTES } from "../../common/src/exec.js";
import { iperf2 } from "./iperf2.js";
import { iperf3 } from "./iperf3.js";
import { LIMITS } from "./limits.js";
import { ping } from "./ping.js";
import { qperf } from "./qperf.js";
import type { CapturedOutput, ClientParams, Measurement, ParseOutcome } from "./types.js";
import { checkMeasurement, guardClient, guardServer, MAX_INTERVALS, MAX_PARSE_CHARS, MAX_STREAMS, PARSER_THREW, UINT32_MAX } from "./validate.js";

function fixture(tool: string, file: string): string {
  return readFileSync(new URL(`./fixtures/${tool}/${file}`, import.meta.url), "utf8");
}
const base: ClientParams = { target: "127.0.0.1", port: 0, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };
const udp: ClientParams = { ...base, protocol: "udp" };
const out = (stdout: string): CapturedOutput => ({ stdout, stderr: "", exitCode: 0 });

type Json = Record<string, unknown>;
/** An iperf3 fixture's JSON, edited by `edit`, as stdout. */
function iperf3Edited(name: string, edit: (doc: Json & { end: Record<string, Json> }) => void): string {
  const doc = JSON.parse(fixture("iperf3", `${name}.stdout.json`)) as Json & { end: Record<string, Json> };
  edit(doc);
  return JSON.stringify(doc);
}
function measurement(r: ParseOutcome): Measurement {
  if (!r.ok) throw new Error(`expected a measurement, got ${r.failure.code}: ${r.failure.reason}`);
  return r.measurement;
}
const encode = (m: Measurement): Uint8Array => toBinary(MeasurementSchema, create(MeasurementSchema, m));

describe("figures that cannot be true are parse errors naming the figure", () => {
  test.each<[string, () => ParseOutcome, RegExp]>([
    [
      "iperf3 retransmits above uint32",
      () => iperf3.parseClient(out(iperf3Edited("tcp-single", (d) => (d.end.sum_sent!.retransmits = 2 ** 32))), base),
      /^iperf3: retransmits 4294967296 is outside the whole numbers 0\.\.4294967295/,
    ],
    [
      "iperf3 stream id (socket) above uint32",
      () =>
        iperf3.parseClient(
          out(
            iperf3Edited("tcp-single", (d) => {
              ((d.end.streams as unknown as Json[])[0]!.sender as Json).socket = 1e12;
            }),
          ),
          base,
        ),
      /^iperf3: stream id 1000000000000 is outside the whole numbers/,
    ],
    [
      "iperf3 loss above 100 %",
      () => iperf3.parseClient(out(iperf3Edited("udp-lossy", (d) => (d.end.sum_received!.lost_percent = 150))), udp),
      /^iperf3: loss 150 % is above 100 %/,
    ],
    [
      "iperf3 more lost than sent",
      () => iperf3.parseClient(out(iperf3Edited("udp-lossy", (d) => (d.end.sum_received!.lost_packets = 300000))), udp),
      /^iperf3: lost packets 300000 is more than packets sent 246327/,
    ],
    [
      "iperf3 negative throughput",
      () => iperf3.parseClient(out(iperf3Edited("tcp-single", (d) => (d.end.sum_received!.bits_per_second = -5))), base),
      /^iperf3: throughputBps -5 is negative/,
    ],
    [
      "iperf3 negative CPU",
      () => iperf3.parseClient(out(iperf3Edited("tcp-single", (d) => ((d.end.cpu_utilization_percent as Json).host_total = -1))), base),
      /^iperf3: local CPU % -1 is negative/,
    ],
    [
      "iperf2 stream id above uint32",
      () => iperf2.parseClient(out(fixture("iperf2", "tcp-single.stdout.txt").replaceAll("[  1]", "[4294967296]")), base),
      /^iperf2: stream id 4294967296 is outside the whole numbers/,
    ],
    [
      "iperf2 retries above uint32",
      () => iperf2.parseClient(out(fixture("iperf2", "tcp-single.stdout.txt").replace("21661/0         11 ", "21661/0         99999999999 ")), base),
      /^iperf2: .*retransmits 99999999999 is outside the whole numbers/,
    ],
    [
      "iperf2 bytes that overflow to Infinity",
      () => iperf2.parseClient(out(fixture("iperf2", "tcp-single.stdout.txt").replace("2839150652 Bytes", `${"9".repeat(400)} Bytes`)), base),
      /^iperf2: .*Infinity, not a finite number/,
    ],
    [
      "iperf2 server report: more lost than sent",
      () => iperf2.parseClient(out(fixture("iperf2", "udp-lossy.stdout.txt").replace("10740/288730", "300000/288730")), udp),
      /^iperf2: .*lost packets 300000 is more than .*packets sent 288730/,
    ],
    [
      "ping received more than transmitted",
      () => ping.parseClient(out(fixture("ping", "loopback.stdout.txt").replace("10 received", "12 received")), base),
      /^ping: 12 received is more than the 10 transmitted/,
    ],
    [
      "ping loss above 100 %",
      () => ping.parseClient(out(fixture("ping", "loopback.stdout.txt").replace("0% packet loss", "250% packet loss")), base),
      /^ping: loss 250 % is above 100 %/,
    ],
    [
      "ping loss not a number",
      () => ping.parseClient(out(fixture("ping", "loopback.stdout.txt").replace("0% packet loss", "1.2.3% packet loss")), base),
      /^ping: loss is NaN, not a finite number/,
    ],
    [
      "qperf negative bandwidth",
      () => qperf.parseClient(out(fixture("qperf", "tcp.stdout.txt").replace(/( bw\s+=\s+)(\d)/, "$1-$2")), base),
      /^qperf: throughputBps -\d+ is negative/,
    ],
  ])("%s", (_label, parse, reason) => {
    const r = parse();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure.code).toBe("parse-error");
    expect(r.failure.reason).toMatch(reason);
  });

  test("what the check refuses would have broken the protobuf encoding (the agent's session stream)", () => {
    const m = measurement(iperf3.parseClient(out(fixture("iperf3", "tcp-single.stdout.json")), base));
    expect(() => encode(m)).not.toThrow();
    expect(() => encode({ ...m, retransmits: 2 ** 32 })).toThrow(/uint32/);
    expect(checkMeasurement("t", { ...m, retransmits: 2 ** 32 }).ok).toBe(false);
    expect(() => encode({ ...m, streams: [{ id: -1 }] })).toThrow(/uint32/);
    expect(checkMeasurement("t", { ...m, streams: [{ id: -1 }] }).ok).toBe(false);
    expect(() => encode({ ...m, latency: { kind: "rtt", samples: 1.5 } })).toThrow(/uint32/);
    expect(checkMeasurement("t", { ...m, latency: { kind: "rtt", samples: 1.5 } }).ok).toBe(false);
  });

  test("more intervals or streams than one run can print are refused (they would near the gRPC message limit)", () => {
    const m = measurement(iperf3.parseClient(out(fixture("iperf3", "tcp-single.stdout.json")), base));
    const intervals = Array.from({ length: MAX_INTERVALS + 1 }, (_, i) => ({ startS: i, endS: i + 1, bitsPerSecond: 1, bytes: 1 }));
    expect(checkMeasurement("t", { ...m, intervals })).toMatchObject({ ok: false, failure: { reason: /8193 intervals is more than the 8192/ } });
    expect(checkMeasurement("t", { ...m, intervals: intervals.slice(1) }).ok).toBe(true);
    const streams = Array.from({ length: MAX_STREAMS + 1 }, (_, id) => ({ id }));
    expect(checkMeasurement("t", { ...m, streams })).toMatchObject({ ok: false, failure: { reason: /257 streams is more than the 256/ } });
  });

  test("an interval that ends before it starts is refused", () => {
    const m = measurement(iperf3.parseClient(out(fixture("iperf3", "tcp-single.stdout.json")), base));
    const r = checkMeasurement("t", { ...m, intervals: [{ startS: 2, endS: 1, bitsPerSecond: 1, bytes: 1 }] });
    expect(r).toMatchObject({ ok: false, failure: { reason: /interval 0 start 2 is more than its end 1/ } });
  });
});

describe("negative UDP loss (reordering, esnet/iperf#914) is 0, flagged", () => {
  test("iperf3: totals, stream and bidir reverse", () => {
    const stdout = iperf3Edited("udp-bidir", (d) => {
      Object.assign(d.end.sum_received!, { lost_packets: -3, lost_percent: -0.39 });
      Object.assign(d.end.sum_received_bidir_reverse ?? d.end.sum_bidir_reverse!, { lost_packets: -2, lost_percent: -0.26 });
      const s = (d.end.streams as unknown as { udp: Json }[]).find((x) => x.udp.sender === true)!;
      Object.assign(s.udp, { lost_packets: -1, lost_percent: -0.13 });
    });
    const m = measurement(iperf3.parseClient(out(stdout), { ...udp, direction: "bidir" }));
    expect(m).toMatchObject({ lostPackets: 0, lossPercent: 0 });
    expect(m.extra).toMatchObject({ reordered_packets: 3, reverse_lost_packets: 0, reverse_loss_percent: 0, reverse_reordered_packets: 2, reordered_streams: 1 });
    expect(m.streams.every((s) => s.lostPackets === undefined || s.lostPackets >= 0)).toBe(true);
    expect(() => encode(m)).not.toThrow();
  });

  test("iperf2: a server report with a negative lost count", () => {
    const stdout = fixture("iperf2", "udp-lossy.stdout.txt").replace("10740/288730 (3.7%)", "-7/288730 (-0.0024%)");
    const m = measurement(iperf2.parseClient(out(stdout), udp));
    expect(m).toMatchObject({ lostPackets: 0, lossPercent: 0, packets: 288730 });
    expect(m.extra.reordered_packets).toBe(7);
  });

  test("iperf2 server output: the same in its report", () => {
    const server = fixture("iperf2", "udp-lossy.server.stdout.txt").replace("10740/288730 (3.7%)", "-7/288730 (-0.0024%)");
    expect(iperf2.parseServer!(server, udp)).toMatchObject({ status: "report", report: { lostPackets: 0, lossPercent: 0, extra: { reordered_packets: 7, reordered_streams: 1 } } });
  });

  test("a negative loss larger than what was sent is not reordering: refused", () => {
    const stdout = iperf3Edited("udp-lossy", (d) => Object.assign(d.end.sum_received!, { lost_packets: -999999, lost_percent: -1 }));
    expect(iperf3.parseClient(out(stdout), udp)).toMatchObject({ ok: false, failure: { code: "parse-error", reason: /lost packets -999999 is negative/ } });
  });

  test("a negative count with a positive percentage disagrees with itself: refused", () => {
    const stdout = iperf3Edited("udp-lossy", (d) => Object.assign(d.end.sum_received!, { lost_packets: -3, lost_percent: 2 }));
    expect(iperf3.parseClient(out(stdout), udp).ok).toBe(false);
  });

  test("qperf: more messages received than sent is loss 0, flagged", () => {
    const text = fixture("qperf", "udp.stdout.txt");
    const sent = /send_msgs\s+=\s+(\d+)/.exec(text)![1]!;
    const stdout = text.replace(/(recv_msgs\s+=\s+)\d+/, `$1${Number(sent) + 2}`);
    const m = measurement(qperf.parseClient(out(stdout), udp));
    expect(m).toMatchObject({ lostPackets: 0, lossPercent: 0 });
    expect(m.extra.received_over_sent_packets).toBe(2);
  });
});

describe("the bounds around every parser", () => {
  test("a parser reads no more than the exec helper keeps", () => {
    expect(MAX_PARSE_CHARS).toBe(DEFAULT_MAX_OUTPUT_BYTES);
    const r = ping.parseClient({ stdout: "x".repeat(MAX_PARSE_CHARS + 1), stderr: "", exitCode: 0 }, base);
    expect(r).toEqual({
      ok: false,
      failure: { code: "parse-error", reason: `ping: its stdout has ${MAX_PARSE_CHARS + 1} characters, more than the ${MAX_PARSE_CHARS} a parser reads; not parsed` },
    });
    expect(iperf2.parseServer!("x".repeat(MAX_PARSE_CHARS + 1), udp)).toMatchObject({ status: "failed", failure: { code: "parse-error" } });
  });

  test("the interval and stream bounds hold the longest and widest runs the limits allow", () => {
    expect(MAX_INTERVALS).toBeGreaterThanOrEqual(2 * (LIMITS.durationS.max + LIMITS.omitS.max + 2));
    expect(MAX_STREAMS).toBeGreaterThanOrEqual(2 * LIMITS.parallel.max);
    expect(UINT32_MAX).toBe(2 ** 32 - 1);
  });

  test("a parser that throws becomes a typed parse error", () => {
    const client = guardClient("t", out(""), () => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    expect(client).toEqual({ ok: false, failure: { code: "parse-error", reason: `t: ${PARSER_THREW} (RangeError: Maximum call stack size exceeded)` } });
    const server = guardServer("t", "", () => {
      throw new Error("boom");
    });
    expect(server).toEqual({ status: "failed", failure: { code: "parse-error", reason: `t: ${PARSER_THREW} (Error: boom)` } });
  });

  test("5 MB of iperf2 rows: no RangeError from spreading them into Math.max", () => {
    const row = (i: number): string => `[${String(i + 1).padStart(3)}] 0.0000-2.0000 sec  1000 Bytes  4000 bits/sec  1/0  0  10K/1(1) us  1`;
    const lines: string[] = [];
    for (let size = 0, i = 0; size < 5e6; i++) {
      const l = row(i % 200_000);
      lines.push(l);
      size += l.length + 1;
    }
    const r = iperf2.parseClient(out(`${lines.join("\n")}\n`), { ...base, parallel: 128 });
    // Many more streams than one run has: refused by the bound, not a RangeError.
    expect(r).toMatchObject({ ok: false, failure: { code: "parse-error", reason: /streams is more than the 256/ } });
  });
});
