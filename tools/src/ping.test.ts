import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ICMP_SOCKET_FIX, ping, pingPlan, replyTimesMs } from "./ping.js";
import { percentile } from "../../common/src/stats.js";
import type { CapturedOutput, ClientParams, HostFacts } from "./types.js";

/**
 * Fixtures: real iputils 20221126 ping runs, captured as <case>.stdout.txt,
 * <case>.stderr.txt and <case>.meta.json ({ argv, exitCode }). Loopback for
 * successes; the failures ran inside throw-away network namespaces
 * (`ip netns exec nm-drv-… ping …`) towards 198.18.0.0/15.
 */
function load(name: string): { out: CapturedOutput; argv: string[] } {
  const at = (f: string): string => readFileSync(new URL(`./fixtures/ping/${name}.${f}`, import.meta.url), "utf8");
  const meta = JSON.parse(at("meta.json")) as { argv: string[]; exitCode: number };
  return { out: { stdout: at("stdout.txt"), stderr: at("stderr.txt"), exitCode: meta.exitCode }, argv: meta.argv };
}

const base: ClientParams = { target: "127.0.0.1", port: 0, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };

describe("ping parseClient on captured runs", () => {
  test.each([
    // ping -n -c 10 -i 0.2 -W 2 127.0.0.1; exit 0
    // rtt min/avg/max/mdev = 0.038/0.045/0.071/0.009 ms; times 71 47 40 38 50 39 46 40 41 44 µs
    {
      name: "loopback",
      params: { pingCount: 10 },
      driverArgv: true,
      packets: 10,
      lost: 0,
      loss: 0,
      rtt: { minUs: 38, maxUs: 71, stddevUs: 9, meanUs: 45.6, p50Us: 42.5, samples: 10 },
      durationS: 2,
    },
    // ping -n -c 5 -i 0.2 -W 2 -s 1000 ::1; exit 0 (IPv6 with the same binary and no -6)
    {
      name: "loopback-v6",
      params: { pingCount: 5, target: "::1", lengthBytes: 1000 },
      driverArgv: true,
      packets: 5,
      lost: 0,
      loss: 0,
      rtt: { minUs: 48, maxUs: 64, stddevUs: 5, meanUs: 54, p50Us: 53, samples: 5 },
      durationS: 1,
    },
    // ip netns exec nm-drv-a ping -n -c 15 -i 0.2 -W 1 198.18.1.2, peer address removed for ~0.8 s; exit 0
    // "15 packets transmitted, 11 received, 26.6667% packet loss"
    {
      name: "partial-loss",
      params: { pingCount: 15 },
      driverArgv: false,
      packets: 15,
      lost: 4,
      loss: 26.6667,
      rtt: { minUs: 38, maxUs: 79, stddevUs: 9, meanUs: 61, p50Us: 62, samples: 11 },
      durationS: 3,
    },
  ])("$name", ({ name, params, driverArgv, packets, lost, loss, rtt, durationS }) => {
    const { out, argv } = load(name);
    const p = { ...base, ...params };
    if (driverArgv) expect(ping.clientArgv(p)).toEqual(argv);
    const r = ping.parseClient(out, p);
    if (!r.ok) throw new Error(`expected a measurement, got ${r.failure.code}: ${r.failure.reason}`);
    const m = r.measurement;
    expect(m).toMatchObject({ packets, lostPackets: lost, lossPercent: loss, durationS });
    expect(m.throughputBps).toBeUndefined();
    expect(m.latency?.kind).toBe("rtt");
    for (const [k, v] of Object.entries(rtt)) expect(m.latency?.[k as keyof typeof rtt], k).toBeCloseTo(v, 6);
    const sorted = replyTimesMs(out.stdout)
      .map((t) => t * 1000)
      .sort((a, b) => a - b);
    expect(m.latency?.p90Us).toBeCloseTo(percentile(sorted, 90)!, 9);
    expect(m.latency?.p99Us).toBeCloseTo(percentile(sorted, 99)!, 9);
  });

  test("the loopback samples are the ten time= values", () => {
    expect(replyTimesMs(load("loopback").out.stdout)).toEqual([0.071, 0.047, 0.04, 0.038, 0.05, 0.039, 0.046, 0.04, 0.041, 0.044]);
  });

  test("duplicates are not samples", () => {
    const stdout = load("loopback").out.stdout.replace("icmp_seq=2 ttl=64 time=0.047 ms", "icmp_seq=2 ttl=64 time=0.047 ms (DUP!)");
    expect(replyTimesMs(stdout)).toHaveLength(9);
  });
});

describe("ping failures", () => {
  test.each([
    // ip netns exec nm-drv-a ping -n -c 5 -i 0.2 -W 1 198.18.1.99 (static neighbour, nobody answers); exit 1
    { name: "total-loss", exit: 1, reason: "ping: unreachable: 100% packet loss (5 transmitted, 0 received)" },
    // ip netns exec nm-drv-a ping -n -c 8 -i 0.5 -W 1 198.18.1.50 (ARP unanswered); exit 1
    {
      name: "host-unreachable",
      exit: 1,
      reason: "ping: unreachable: 100% packet loss (8 transmitted, 0 received, +6 errors, From 198.18.1.1 icmp_seq=1 Destination Host Unreachable)",
    },
    // ip netns exec nm-drv-unreach ping -n -c 2 -i 0.2 -W 1 198.18.0.1 (lo only); exit 2, stderr only
    { name: "net-unreachable", exit: 2, reason: "ping: connect: Network is unreachable" },
    // ip netns exec nm-drv-unreach ping … no-such-host.invalid; exit 2
    { name: "unknown-host", exit: 2, reason: "ping: no-such-host.invalid: Temporary failure in name resolution" },
  ])("$name → unreachable", ({ name, exit, reason }) => {
    const { out } = load(name);
    expect(out.exitCode).toBe(exit);
    expect(ping.parseClient(out, base)).toEqual({ ok: false, failure: { code: "unreachable", reason } });
  });

  test.each([
    ["interrupted before the summary", load("loopback").out.stdout.split("---")[0]!, 0, "parse-error"],
    ["empty", "", 0, "parse-error"],
    ["garbage", "\u0000\u0001PING ??? 3 packets", 0, "parse-error"],
  ] as const)("%s → %s", (_label, stdout, exitCode, code) => {
    const r = ping.parseClient({ stdout, stderr: "", exitCode }, base);
    expect(r.ok ? "ok" : r.failure.code).toBe(code);
  });

  test("an option error on stderr is a tool error", () => {
    const r = ping.parseClient({ stdout: "", stderr: "ping: invalid argument: '0.001'\n", exitCode: 2 }, base);
    expect(r).toEqual({ ok: false, failure: { code: "tool-error", reason: "ping: invalid argument: '0.001'" } });
  });
});

describe("ping argv", () => {
  test.each<[string, Partial<ClientParams>, string[]]>([
    ["count from duration at the default 0.2 s", { durationS: 10 }, ["ping", "-n", "-c", "50", "-i", "0.2", "-W", "2", "10.0.0.2"]],
    ["explicit count and interval", { pingCount: 7, pingIntervalS: 1.5 }, ["ping", "-n", "-c", "7", "-i", "1.5", "-W", "2", "10.0.0.2"]],
    ["count from duration and interval", { durationS: 3, pingIntervalS: 0.3 }, ["ping", "-n", "-c", "10", "-i", "0.3", "-W", "2", "10.0.0.2"]],
    ["payload size", { lengthBytes: 1400, pingCount: 3 }, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-s", "1400", "10.0.0.2"]],
    ["IPv6 target, no -6", { target: "fd00::2", pingCount: 1 }, ["ping", "-n", "-c", "1", "-i", "0.2", "-W", "2", "fd00::2"]],
  ])("%s", (_label, extra, argv) => {
    expect(ping.clientArgv({ ...base, target: "10.0.0.2", ...extra })).toEqual(argv);
  });

  test("plan, server, version", () => {
    expect(pingPlan({ ...base, durationS: 1, pingIntervalS: 5 })).toEqual({ intervalS: 5, count: 1 });
    expect(ping.needsServer).toBe(false);
    expect(ping.serverArgv({ port: 1, protocol: "tcp" })).toBeUndefined();
    expect(ping.versionArgv()).toEqual(["ping", "-V"]);
    expect(ping.parseVersion("ping from iputils 20221126\nlibcap: yes, IDN: yes")).toBe("20221126");
    expect(ping.parseVersion("ping utility, iputils-s20180629")).toBe("20180629");
  });

  test.each<[Partial<ClientParams>, RegExp | undefined]>([
    [{ protocol: "udp", lengthBytes: 56 }, undefined],
    [{ parallel: 2 }, /parallel 2/],
    [{ direction: "reverse" }, /round trip/],
    [{ direction: "bidir" }, /round trip/],
    [{ bitrateBps: 1e6 }, /bitrate/],
    [{ windowBytes: 65536 }, /window/],
    [{ mss: 1400 }, /MSS/],
    [{ omitS: 1 }, /omit/],
  ])("unsupported(%o)", (extra, want) => {
    const why = ping.unsupported({ ...base, ...extra });
    if (want) expect(why).toMatch(want);
    else expect(why).toBeUndefined();
  });
});

/** The facts an agent supplies: its groups and the sysctls as its namespace shows them. */
function facts(gid: number, range: string | undefined, groups: number[] = []): HostFacts {
  return { gid, groups, sysctl: (name) => (name === "net.ipv4.ping_group_range" ? range : undefined) };
}

describe("ping without permission to open an ICMP socket", () => {
  // no-icmp-socket: a copy of ping without file capabilities, run as uid/gid 10001 in a fresh
  // network namespace (net.ipv4.ping_group_range "1 0": no group); exit 2, three lines on stderr.
  const denied = load("no-icmp-socket").out;
  const older = ["ping: socket: Permission denied\n", "ping: icmp open socket: Operation not permitted\n", "ping: Lacking privilege for icmp socket.\n"];

  test("a run is a tool-missing failure naming the sysctl, the gid and the range, with the fix as its hint", () => {
    expect(denied.exitCode).toBe(2);
    const r = ping.parseClient(denied, base, facts(10001, "1 0"));
    expect(r).toEqual({
      ok: false,
      failure: {
        code: "tool-missing",
        reason:
          'ping cannot open an ICMP socket (ping: socket: Operation not permitted): without NET_RAW the kernel allows one only to groups in net.ipv4.ping_group_range, and gid 10001 is outside "1 0" (no group)',
        hint: ICMP_SOCKET_FIX,
      },
    });
    expect(ICMP_SOCKET_FIX).toMatch(/agents\.pod\.unprivilegedPing=true.*sysctl -w net\.ipv4\.ping_group_range="0 2147483647".*agents\.host\.rawPing=true/);
  });

  test("without the agent's facts it still names the sysctl", () => {
    const r = ping.parseClient(denied, base);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure).toMatchObject({ code: "tool-missing", reason: expect.stringMatching(/net\.ipv4\.ping_group_range/), hint: ICMP_SOCKET_FIX });
  });

  test.each(older)("older ping's words %j are the same failure", (stderr) => {
    const r = ping.parseClient({ stdout: "", stderr, exitCode: 2 }, base, facts(0, "1 0"));
    expect(r.ok ? "ok" : r.failure.code).toBe("tool-missing");
    if (!r.ok) expect(r.failure.reason).toMatch(/gid 0 is outside "1 0"/);
  });

  test("a gid inside the range points elsewhere (seccomp, an LSM); supplementary groups count", () => {
    const inside = ping.parseClient(denied, base, facts(10001, "0 2147483647"));
    expect(inside.ok ? "" : inside.failure.reason).toMatch(/gid 10001 is within "0 2147483647", so something else/);
    const viaGroup = ping.parseClient(denied, base, facts(10001, "100 200", [150]));
    expect(viaGroup.ok ? "" : viaGroup.failure.reason).toMatch(/gid 10001 \(groups 10001,150\) is within "100 200"/);
  });

  test("the self-test pings loopback once and reports the same problem and fix; a working or unrelated run is no problem", () => {
    const t = ping.selfTest!;
    expect(t.argv()).toEqual(["ping", "-n", "-c", "1", "-W", "1", "127.0.0.1"]);
    expect(t.problem(denied, facts(10001, "1 0"))).toEqual({
      reason: expect.stringMatching(/^ping cannot open an ICMP socket .*net\.ipv4\.ping_group_range, and gid 10001 is outside "1 0" \(no group\)$/),
      fix: ICMP_SOCKET_FIX,
    });
    expect(t.problem(load("loopback").out, facts(10001, "1 0"))).toBeUndefined();
    expect(t.problem(load("net-unreachable").out, facts(10001, "1 0"))).toBeUndefined();
  });
});
