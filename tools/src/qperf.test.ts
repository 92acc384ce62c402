import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseSections, qperf } from "./qperf.js";
import type { CapturedOutput, ClientParams, Measurement } from "./types.js";

/**
 * Fixtures: real qperf 0.4.11 runs against `qperf -lp 45411` on 127.0.0.1,
 * captured as <case>.stdout.txt, <case>.stderr.txt and <case>.meta.json
 * ({ argv, exitCode }). Successes exited 0; "failed to connect" exits 1 and
 * is printed on stdout, after about 5 s of retrying (qperf's -ws default).
 */
function load(name: string): { out: CapturedOutput; argv: string[] } {
  const at = (f: string): string => readFileSync(new URL(`./fixtures/qperf/${name}.${f}`, import.meta.url), "utf8");
  const meta = JSON.parse(at("meta.json")) as { argv: string[]; exitCode: number };
  return { out: { stdout: at("stdout.txt"), stderr: at("stderr.txt"), exitCode: meta.exitCode }, argv: meta.argv };
}

const base: ClientParams = { target: "127.0.0.1", port: 45411, dataPort: 45412, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };

interface Case {
  name: string;
  params: Partial<ClientParams>;
  /** false: captured without -vvs -uu to exercise qperf's scaled units; argv differs from the driver's. */
  driverArgv: boolean;
  expect: Partial<Measurement>;
  meanUs: number;
  extra: Record<string, number>;
}

// Expected values are the fixture's figures converted: bytes/sec × 8 → bits/s, ns → µs, ns/GB or sec/GB → ms/GB.
const cases: Case[] = [
  // qperf -v -vvs -uu -lp 45411 -ip 45412 -t 2 127.0.0.1 tcp_bw tcp_lat
  {
    name: "tcp",
    params: {},
    driverArgv: true,
    meanUs: 15.173,
    expect: {
      throughputBps: 2880667648 * 8,
      receiverBps: 2880667648 * 8,
      bytesSent: 5761269760,
      bytesReceived: 5761335296,
      messageRatePerS: 43956,
      localCpuPercent: 138,
      remoteCpuPercent: 138,
      durationS: 2,
    },
    extra: { send_cost_ms_per_gb: 480.796785, recv_cost_ms_per_gb: 480.791316, lat_msg_rate_per_s: 65908, lat_local_cpu_percent: 97.5 },
  },
  // … udp_bw udp_lat: send_msgs 248133, recv_msgs 236475
  {
    name: "udp",
    params: { protocol: "udp" },
    driverArgv: true,
    meanUs: 15.284,
    expect: { throughputBps: 3874406400 * 8, senderBps: 4065411072 * 8, packets: 248133, lostPackets: 248133 - 236475, lossPercent: (100 * (248133 - 236475)) / 248133 },
    extra: { send_cost_ms_per_gb: 399.713577, recv_cost_ms_per_gb: 419.419088 },
  },
  // … -t 2 -m 1400 127.0.0.1 udp_bw udp_lat
  {
    name: "udp-m1400",
    params: { protocol: "udp", lengthBytes: 1400 },
    driverArgv: true,
    meanUs: 18.31,
    expect: { throughputBps: 153643700 * 8, senderBps: 155631700 * 8, packets: 222331, lostPackets: 2840 },
    extra: { msg_size_bytes: 1400, lat_msg_rate_per_s: 54614 },
  },
  // … -t 2 -m 1400 127.0.0.1 tcp_bw tcp_lat
  {
    name: "tcp-m1400",
    params: { lengthBytes: 1400 },
    driverArgv: true,
    meanUs: 13.645,
    expect: { throughputBps: 282835700 * 8, messageRatePerS: 202026 },
    extra: { msg_size_bytes: 1400, send_cost_ms_per_gb: 6954.933174 },
  },
  // qperf -v -lp 45411 -ip 45412 -t 2 127.0.0.1 tcp_bw tcp_lat ("1.61 GB/sec", "24.5 K/sec", "1.1 sec/GB", "17.5 us")
  {
    name: "tcp-units",
    params: {},
    driverArgv: false,
    meanUs: 17.5,
    expect: { throughputBps: 1.61e9 * 8, messageRatePerS: 24500, localCpuPercent: 178 },
    extra: { send_cost_ms_per_gb: 1100, lat_msg_rate_per_s: 57000, lat_remote_cpu_percent: 96.5 },
  },
  // qperf -v … -m 1400 127.0.0.1 udp_bw udp_lat ("178 MB/sec", "177 MB/sec", "7.41 sec/GB", "13.9 us")
  {
    name: "udp-m1400-units",
    params: { protocol: "udp", lengthBytes: 1400 },
    driverArgv: false,
    meanUs: 13.9,
    expect: { throughputBps: 177e6 * 8, senderBps: 178e6 * 8, messageRatePerS: 126000 },
    extra: { send_cost_ms_per_gb: 7410, recv_cost_ms_per_gb: 7460, msg_size_bytes: 1400 },
  },
];

describe("qperf parseClient on captured runs", () => {
  test.each(cases)("$name", (c) => {
    const { out, argv } = load(c.name);
    const p = { ...base, ...c.params };
    if (c.driverArgv) expect(qperf.clientArgv(p)).toEqual(argv);
    const r = qperf.parseClient(out, p);
    if (!r.ok) throw new Error(`expected a measurement, got ${r.failure.code}: ${r.failure.reason}`);
    const m = r.measurement;
    for (const [k, v] of Object.entries(c.expect)) expect(m[k as keyof Measurement], k).toBeCloseTo(v as number, 6);
    for (const [k, v] of Object.entries(c.extra)) expect(m.extra[k], k).toBeCloseTo(v, 6);
    expect(m.latency).toEqual({ kind: "one-way", meanUs: c.meanUs });
    expect(m.streams).toEqual([]);
    if (p.protocol === "tcp") expect(m.lossPercent).toBeUndefined();
  });

  test("sections keep every figure with its unit", () => {
    const { sections, error } = parseSections(load("tcp-units").out.stdout);
    expect(error).toBeUndefined();
    expect([...sections.keys()]).toEqual(["tcp_bw", "tcp_lat"]);
    expect(sections.get("tcp_bw")?.get("port")).toEqual({ value: 45412, unit: "" });
    expect(sections.get("tcp_bw")?.get("bw")).toEqual({ value: 1.61, unit: "GB/sec" });
    expect(sections.get("tcp_lat")?.get("loc_cpus_used")).toEqual({ value: 96.5, unit: "% cpus" });
  });
});

describe("qperf failures", () => {
  test.each([
    // qperf -v -vvs -uu -lp 45419 -ip 45420 -t 2 127.0.0.1 tcp_bw tcp_lat (no server); exit 1, message on stdout
    { name: "refused", reason: "qperf: 127.0.0.1: failed to connect" },
    // ip netns exec <ns with lo only> qperf … 198.18.0.1 tcp_bw tcp_lat; exit 1
    { name: "net-unreachable", reason: "qperf: 198.18.0.1: failed to connect" },
  ])("$name → unreachable", ({ name, reason }) => {
    const { out } = load(name);
    expect(out.exitCode).toBe(1);
    expect(out.stdout).toContain("failed to connect");
    expect(qperf.parseClient(out, base)).toEqual({ ok: false, failure: { code: "unreachable", reason } });
  });

  test("a UDP run that received nothing is unreachable, not 0 bits/s", () => {
    const stdout = load("udp").out.stdout.replace(/recv_bw\s+=\s+\d+/, "recv_bw         =           0");
    expect(qperf.parseClient({ stdout, stderr: "", exitCode: 0 }, { ...base, protocol: "udp" })).toEqual({
      ok: false,
      failure: { code: "unreachable", reason: "qperf: udp_bw received nothing (data port 45412 blocked?)" },
    });
  });

  test.each([
    ["latency test missing (cut after tcp_bw)", load("tcp").out.stdout.split("tcp_lat:")[0]!, 0, "parse-error"],
    ["empty", "", 0, "parse-error"],
    ["udp figures asked of a tcp run", load("tcp").out.stdout, 0, "parse-error"],
    ["unknown message", "qperf: bad option: -zz\n", 1, "tool-error"],
    ["killed by a signal after the bw test", load("tcp").out.stdout.split("tcp_lat:")[0]!, null, "parse-error"],
  ] as const)("%s → %s", (label, stdout, exitCode, code) => {
    const p = label.startsWith("udp") ? { ...base, protocol: "udp" as const } : base;
    const r = qperf.parseClient({ stdout, stderr: "", exitCode }, p);
    expect(r.ok ? "ok" : r.failure.code).toBe(code);
  });
});

describe("qperf argv", () => {
  const p: ClientParams = { ...base, target: "10.0.0.2", port: 19765, dataPort: 19766, durationS: 10 };
  const head = ["qperf", "-v", "-vvs", "-uu", "-lp", "19765", "-ip", "19766", "-t", "10"];
  test.each<[string, Partial<ClientParams>, string[]]>([
    ["tcp", {}, [...head, "10.0.0.2", "tcp_bw", "tcp_lat"]],
    ["udp", { protocol: "udp" }, [...head, "10.0.0.2", "udp_bw", "udp_lat"]],
    ["-m and -sb", { lengthBytes: 65536, windowBytes: 1048576 }, [...head, "-m", "65536", "-sb", "1048576", "10.0.0.2", "tcp_bw", "tcp_lat"]],
    ["data port defaults to port + 1", { dataPort: undefined }, [...head, "10.0.0.2", "tcp_bw", "tcp_lat"]],
    ["IPv6 target", { target: "fd00::2" }, [...head, "fd00::2", "tcp_bw", "tcp_lat"]],
  ])("%s", (_label, extra, argv) => {
    expect(qperf.clientArgv({ ...p, ...extra })).toEqual(argv);
  });

  test("server, ports, version", () => {
    expect(qperf.serverArgv({ port: 19765, dataPort: 19766, protocol: "tcp" })).toEqual(["qperf", "-lp", "19765"]);
    expect(qperf.serverPorts).toBe(2);
    expect(qperf.versionArgv()).toEqual(["qperf", "--version"]);
    expect(qperf.parseVersion("qperf 0.4.11\n")).toBe("0.4.11");
  });

  test.each<[Partial<ClientParams>, RegExp | undefined]>([
    [{}, undefined],
    [{ protocol: "udp", lengthBytes: 1400, windowBytes: 1 << 20 }, undefined],
    [{ parallel: 2 }, /single stream/],
    [{ direction: "reverse" }, /direction reverse is unsupported/],
    [{ direction: "bidir" }, /direction bidir is unsupported/],
    [{ protocol: "udp", bitrateBps: 1e8 }, /cannot pace/],
    [{ mss: 1400 }, /MSS/],
    [{ omitS: 1 }, /omit/],
  ])("unsupported(%o)", (extra, want) => {
    const why = qperf.unsupported({ ...base, ...extra });
    if (want) expect(why).toMatch(want);
    else expect(why).toBeUndefined();
  });
});
