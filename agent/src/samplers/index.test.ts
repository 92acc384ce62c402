import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, startProcess, type RunningProcess } from "../../../common/src/exec.js";
import { addNamespace, ip, rateLimit, sweepNamespaces, vethPair } from "../../../lab/src/netns.js";
import { testSlot } from "../../../test/harness/slot.js";
import { windowBytes } from "../../../common/src/nic-bytes.js";
import { cpuUsage, netDevRates, parseNetDev, parseProcStat, SamplerSet, type NodeSample } from "./index.js";
import { main as loopMain } from "./loop.js";

const fixture = (path: string): string => readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("SamplerSet over a proc root made of captured files", () => {
  const root = mkdtempSync(join(tmpdir(), "nm-smp-root-"));
  const BUSY_PID = 24612; // the pid in fixtures/pidstat/busy-*.txt
  const put = (t: 0 | 1): void => {
    writeFileSync(join(root, "net", "dev"), fixture(`netdev/netns-t${t}.txt`));
    writeFileSync(join(root, "stat"), fixture(`stat/host-t${t}.txt`));
    writeFileSync(join(root, String(BUSY_PID), "stat"), fixture(`pidstat/busy-t${t}.txt`));
  };
  beforeAll(() => {
    mkdirSync(join(root, "net"));
    mkdirSync(join(root, String(BUSY_PID)));
    writeFileSync(join(root, "meminfo"), fixture("meminfo/host.txt"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const T0 = 5_000_000_000n;
  const DT = 1_000_000_000n;

  test("first call primes; the second is the rates, CPU, memory and processes of the interval", () => {
    put(0);
    const s = new SamplerSet({ procRoot: root, pids: () => [BUSY_PID, 999_999_999], constants: { ticksPerSecond: 100, pageSize: 4096 } });
    expect(s.sample(T0)).toBeUndefined();
    put(1);
    const before = Date.now();
    const x = s.sample(T0 + DT)!;
    expect(x.monoNs).toBe(T0 + DT);
    expect(x.intervalMs).toBe(1000);
    expect(x.wallMs).toBeGreaterThanOrEqual(before);
    expect(x.wallMs).toBeLessThanOrEqual(Date.now());
    const t0 = parseNetDev(fixture("netdev/netns-t0.txt"));
    const t1 = parseNetDev(fixture("netdev/netns-t1.txt"));
    expect(x.interfaces).toEqual(netDevRates(t0, t1, DT).filter((r) => r.name !== "lo"));
    expect(x.interfaces.find((r) => r.name === "veth0")?.txBps).toBe((1621868261 - 516) * 8);
    expect(x.cpu).toEqual(cpuUsage(parseProcStat(fixture("stat/host-t0.txt"))!, parseProcStat(fixture("stat/host-t1.txt"))!));
    expect(x.memory?.totalBytes).toBe(24683620 * 1024);
    // busy: 102 ticks in 1 s; the missing pid is simply absent
    expect(x.processes).toEqual([{ pid: BUSY_PID, comm: "b) (x y", cpuPercent: 102, rssBytes: 382 * 4096 }]);
    s.close();
  });

  test.each<[string, { include?: string[]; exclude?: string[] }, string[]]>([
    ["default: all but lo", {}, ["veth0", "veth1", "nm-smp-cap-long"]],
    ["include veth*", { include: ["veth*"] }, ["veth0", "veth1"]],
    ["exclude nothing", { exclude: [] }, ["lo", "veth0", "veth1", "nm-smp-cap-long"]],
    ["include list, exclude one", { include: ["veth*,nm-*"], exclude: ["veth1"] }, ["veth0", "nm-smp-cap-long"]],
  ])("include/exclude: %s", (_label, opts, names) => {
    put(0);
    const s = new SamplerSet({ procRoot: root, ...opts });
    s.sample(T0);
    put(1);
    expect(s.sample(T0 + DT)!.interfaces.map((r) => r.name)).toEqual(names);
    s.close();
  });

  test("netDevPath overrides the net/dev file; an unreadable one gives no interfaces", () => {
    const other = join(root, "other-dev");
    writeFileSync(other, fixture("netdev/host.txt"));
    const s = new SamplerSet({ procRoot: root, netDevPath: other });
    s.sample(T0);
    expect(s.sample(T0 + DT)!.interfaces.map((r) => r.name)).toEqual(["ifb0", "ifb1", "eth0"]);
    const none = new SamplerSet({ procRoot: root, netDevPath: join(root, "missing") });
    none.sample(T0);
    expect(none.sample(T0 + DT)).toMatchObject({ interfaces: [], processes: [] });
    s.close();
    none.close();
  });

  test("bytes from the counters: ticks that could not be rated lose rate × time, not the counters' bytes", () => {
    // Captured counters: t0 → t1 (veth0 sent 1.6 GB) → net/dev unreadable for two ticks while veth0's
    // counters jump by 2^60 (huge-*-derived: t0/t1 + 2^60) → huge-t1 (another 1.6 GB).
    const dev = join(root, "net", "dev");
    put(0);
    const s = new SamplerSet({ procRoot: root, include: ["veth0"], reopenMs: 0 });
    expect(s.sample(T0)).toBeUndefined();
    put(1);
    const samples = [s.sample(T0 + DT)!];
    rmSync(dev);
    samples.push(s.sample(T0 + 2n * DT)!);
    writeFileSync(dev, fixture("netdev/huge-t0-derived.txt"));
    samples.push(s.sample(T0 + 3n * DT)!);
    writeFileSync(dev, fixture("netdev/huge-t1-derived.txt"));
    samples.push(s.sample(T0 + 4n * DT)!);
    s.close();
    expect(samples.map((x) => x.interfaces.length)).toEqual([1, 0, 0, 1]);
    const sent = 1621868261n - 516n; // t1 − t0, per second rated
    const fromRates = samples.reduce((n, x) => n + x.interfaces.reduce((m, i) => m + (i.txBps * x.intervalMs) / 8000, 0), 0);
    expect(fromRates).toBe(Number(2n * sent));
    // The counters: the last total (the nearest double to t1 + 2^60, as the agent sends it) less the
    // total when the window began (t0's 516 B, the priming read).
    const last = samples[3]!.interfaces[0]!.txBytesTotal;
    expect(last).toBe(Number(1621868261n + 2n ** 60n));
    expect(windowBytes(samples).get("veth0")).toEqual({ rxBytes: Number(BigInt(samples[3]!.interfaces[0]!.rxBytesTotal) - 266n), txBytes: Number(BigInt(last) - 516n) });
  });

  test("a counter reset, a process that vanished or reused its pid, and time not moving forward", () => {
    put(1);
    const s = new SamplerSet({ procRoot: root, pids: () => [BUSY_PID], reopenMs: 0 });
    s.sample(T0);
    put(0); // every interface but lo went backwards; busy's CPU time too
    const x = s.sample(T0 + DT)!;
    expect(x.interfaces).toEqual([]);
    expect(x.cpu).toBeUndefined();
    expect(x.processes).toEqual([]);
    put(1);
    expect(s.sample(T0 + DT)).toBeUndefined(); // same instant: primes afresh
    writeFileSync(join(root, String(BUSY_PID), "stat"), fixture("pidstat/busy-t1.txt").replace(" 579176 ", " 579999 "));
    expect(s.sample(T0 + 2n * DT)!.processes).toEqual([]); // other start time: another process
    rmSync(join(root, String(BUSY_PID), "stat"));
    expect(s.sample(T0 + 3n * DT)!.processes).toEqual([]);
    s.close();
  });
});

describe("SamplerSet on this machine's /proc", () => {
  test("samples its own process (its CPU as the process itself counts it) and the node", async () => {
    const s = new SamplerSet({ pids: () => [process.pid, process.pid] });
    const cpu0 = process.cpuUsage();
    expect(s.sample(process.hrtime.bigint())).toBeUndefined();
    // Burn ≥ 300 ms, timed on the same monotonic clock the sampler uses (Date.now() is a
    // different clock and can come up a fraction of a millisecond short). On a busy machine the
    // process gets only part of a CPU for it: the reference is the CPU it was given, by its own count.
    const until = process.hrtime.bigint() + 300_000_000n;
    while (process.hrtime.bigint() < until);
    const x = s.sample(process.hrtime.bigint())!;
    const used = process.cpuUsage(cpu0);
    const referencePercent = ((used.user + used.system) / 1000 / x.intervalMs) * 100;
    expect(x.intervalMs).toBeGreaterThanOrEqual(300);
    expect(x.processes.map((p) => p.pid)).toEqual([process.pid]);
    // /proc counts in clock ticks (10 ms): up to a tick off at each end of the interval.
    const tickSlackPercent = (2 * 10 * 100) / x.intervalMs;
    expect(
      Math.abs(x.processes[0]!.cpuPercent - referencePercent),
      `sampled ${x.processes[0]!.cpuPercent} %, process.cpuUsage ${referencePercent.toFixed(1)} %`,
    ).toBeLessThanOrEqual(tickSlackPercent + 2);
    expect(x.processes[0]!.cpuPercent).toBeGreaterThan(0);
    expect(x.processes[0]!.rssBytes).toBeGreaterThan(1e6);
    expect(x.cpu?.totalPercent).toBeGreaterThan(0);
    expect(x.memory?.availableBytes).toBeGreaterThan(0);
    s.close();
  });

  test("loop.ts samples at its interval (never faster; a busy machine only stretches it) and prints a summary", async () => {
    const lines: string[] = [];
    const out = await loopMain(["--seconds", "0.45", "--interval-ms", "100", "--print"], (l) => lines.push(l));
    expect(JSON.parse(lines.at(-1)!)).toEqual(out);
    expect(lines.length).toBe(out.samples + 1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ monoNs: expect.stringMatching(/^\d+$/), interfaces: expect.any(Array) });
    const samples = lines.slice(0, -1).map((l) => JSON.parse(l) as { monoNs: string; intervalMs: number });
    // The intervals tile the run: each sample covers the time since the one before (the first, since the priming read).
    samples.slice(1).forEach((x, i) => expect(x.intervalMs).toBeCloseTo(Number(BigInt(x.monoNs) - BigInt(samples[i]!.monoNs)) / 1e6, 6));
    // Timers fire late on a busy machine, never (by more than a millisecond) early; the run lasts at least --seconds.
    for (const x of samples) expect(x.intervalMs).toBeGreaterThan(99);
    expect(out.samples).toBeGreaterThanOrEqual(2);
    expect(out.samples).toBeLessThanOrEqual(Math.ceil(out.wallMs / 99));
    expect(samples.reduce((ms, x) => ms + x.intervalMs, 0)).toBeLessThanOrEqual(out.wallMs);
    expect(out.wallMs).toBeGreaterThanOrEqual(450);
    expect(out.intervalMs).toBe(100);
    expect(out.interfaces.every((r) => r.name !== "lo" && r.rxBps >= 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------

const ROOT = process.getuid?.() === 0;
const PREFIX = testSlot().prefix("smp");
const NS_A = `${PREFIX}a`;
const NS_B = `${PREFIX}b`;
const ADDR_B = "198.18.9.2";
const PORT = "5313";

/** eth0's byte counters in `ns` as netlink gives them (`ip -s -j link`): a reader independent of /proc/net/dev. */
async function linkBytes(ns: string): Promise<{ rx: number; tx: number }> {
  const res = await exec({ argv: ["ip", "-n", ns, "-s", "-j", "link", "show", "dev", "eth0"], deadlineMs: 10_000 });
  const [link] = JSON.parse(res.stdout) as { stats64: { rx: { bytes: number }; tx: { bytes: number } } }[];
  if (!link) throw new Error(`ip -n ${ns} link show eth0: ${res.stderr}`);
  return { rx: link.stats64.rx.bytes, tx: link.stats64.tx.bytes };
}

/** The child of a guarded process (`timeout … ip netns exec …`), once it exists. */
async function childPid(p: RunningProcess): Promise<number> {
  for (let i = 0; i < 300; i++) {
    try {
      const kids = readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim();
      if (kids) return Number(kids.split(" ")[0]);
    } catch {
      break;
    }
    await sleep(10);
  }
  throw new Error(`${p.argv.join(" ")}: no child process`);
}

/** Wait until `pid` is in namespace `ns` running `comm`, so /proc/<pid>/net/dev shows that namespace. */
async function inNamespace(pid: number, ns: string, comm: string): Promise<number> {
  const want = statSync(`/run/netns/${ns}`).ino;
  for (let i = 0; i < 300; i++) {
    if (statSync(`/proc/${pid}/ns/net`).ino === want && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm) return pid;
    await sleep(10);
  }
  throw new Error(`pid ${pid} never ran ${comm} in ${ns}`);
}

describe.skipIf(!ROOT)("SamplerSet on real namespaces (needs root; skipped otherwise)", () => {
  const started: RunningProcess[] = [];
  let serverPid = 0;
  let holderPid = 0;
  const start = (argv: string[], deadlineMs: number): RunningProcess => {
    const p = startProcess({ argv, deadlineMs });
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    await sweepNamespaces(PREFIX);
    await addNamespace(NS_A);
    await addNamespace(NS_B);
    await vethPair({ ns: NS_A, ifName: "eth0", cidr: "198.18.9.1/24" }, { ns: NS_B, ifName: "eth0", cidr: `${ADDR_B}/24` });
    // One wire-sized frame per skb, so the counters see 1514-byte frames as a NIC
    // would, not 64 KiB GSO super-packets (veth counts what it is handed).
    for (const ns of [NS_A, NS_B]) await ip(["link", "set", "eth0", "gso_max_segs", "1"], ns);
    await rateLimit(NS_A, "eth0", "1gbit");
    const server = start(["ip", "netns", "exec", NS_B, "iperf3", "-s", "-p", PORT], 60_000);
    serverPid = await inNamespace(await childPid(server), NS_B, "iperf3");
    const holder = start(["ip", "netns", "exec", NS_A, "sleep", "60"], 60_000);
    holderPid = await inNamespace(await childPid(holder), NS_A, "sleep");
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await sweepNamespaces(PREFIX);
  });

  test("3 s of iperf3 through tbf 1gbit: sampled wire bytes = the kernel's counters, and iperf3's payload (and what TCP resent) in wire-sized frames", async () => {
    const rx = new SamplerSet({ netDevPath: `/proc/${serverPid}/net/dev`, include: ["eth0"] }); // the receiver's side
    const tx = new SamplerSet({ netDevPath: `/proc/${holderPid}/net/dev`, include: ["eth0"] }); // the sender's side
    const samples: { rx: NodeSample; tx: NodeSample }[] = [];
    const tick = (): void => {
      const now = process.hrtime.bigint();
      const r = rx.sample(now);
      const t = tx.sample(now);
      if (r && t) samples.push({ rx: r, tx: t });
    };
    // The reference: the same counters read through netlink right before the first sample and right after the last.
    const before = { rx: await linkBytes(NS_B), tx: await linkBytes(NS_A) };
    const t0 = performance.now();
    tick();
    const timer = setInterval(tick, 100);
    let doc: { error?: string; end: { sum_received: { bytes: number; seconds: number; bits_per_second: number }; sum_sent: { bytes: number; retransmits: number } } };
    let windowMs: number;
    try {
      const client = start(["ip", "netns", "exec", NS_A, "iperf3", "-c", ADDR_B, "-p", PORT, "-t", "3", "-J"], 30_000);
      const res = await client.exited;
      await sleep(300); // the last frames in flight
      doc = JSON.parse(res.stdout) as typeof doc;
    } finally {
      clearInterval(timer);
      tick();
      windowMs = performance.now() - t0;
      rx.close();
      tx.close();
    }
    const after = { rx: await linkBytes(NS_B), tx: await linkBytes(NS_A) };
    expect(doc.error).toBeUndefined();
    const eth0 = (s: NodeSample) => s.interfaces.find((r) => r.name === "eth0")!;
    // The wire bytes as a case gets them: from the counters over the window (common/src/nic-bytes.ts).
    const counted = (end: "rx" | "tx"): { rxBytes: number; txBytes: number } => {
      const b = windowBytes(samples.map((x) => x[end])).get("eth0");
      if (!b || "problem" in b) throw new Error(`no byte counts for eth0: ${b ? b.problem : "not sampled"}`);
      return b;
    };
    const received = counted("rx").rxBytes;
    const sent = counted("tx").txBytes;
    // What the sampler counted is what the kernel counted over the same window (a few stray frames at most).
    expect(Math.abs(received - (after.rx.rx - before.rx.rx)), "receiver eth0 rx bytes: sampled vs netlink").toBeLessThan(4096);
    expect(Math.abs(sent - (after.tx.tx - before.tx.tx)), "sender eth0 tx bytes: sampled vs netlink").toBeLessThan(4096);
    // Sampled all along: a tick every 100 ms, later (never fewer than half) on a busy machine.
    expect(samples.length).toBeGreaterThanOrEqual(Math.floor(windowMs / 100 / 2));
    // Every payload byte crossed the wire in frames of at most 1514 bytes per 1448 of payload
    // (GSO super-packets would count ≈ 1.00): the wire bytes are at least payload × 1514/1448,
    // and at most that for the payload plus every segment TCP sent again (a busy machine acks
    // late, so the sender resends; those segments cross the wire twice), plus the control
    // connection's few kB.
    const payload = doc.end.sum_received.bytes;
    const wire = (payload * 1514) / 1448;
    const resent = doc.end.sum_sent.retransmits * 1448;
    const most = ((doc.end.sum_sent.bytes + resent) * 1514) / 1448;
    console.log(
      `tbf 1gbit, 3 s: payload ${payload} B; wire rx ${received} B (${(received / wire).toFixed(4)} of payload × 1514/1448), tx ${sent} B (${(sent / wire).toFixed(4)}); ${doc.end.sum_sent.retransmits} segments resent; ${samples.length} samples in ${windowMs.toFixed(0)} ms`,
    );
    for (const [what, bytes] of [
      ["received", received],
      ["sent", sent],
    ] as const) {
      expect(bytes / wire, `${what} on the wire / (payload × 1514/1448)`).toBeGreaterThan(0.995);
      expect(bytes, `${what} on the wire ≤ (payload sent + resent) × 1514/1448 + 64 kB`).toBeLessThan(most * 1.005 + 65536);
    }
    // The same as a mean rate over iperf3's own duration.
    const meanBps = (received * 8) / doc.end.sum_received.seconds;
    expect(meanBps / ((doc.end.sum_received.bits_per_second * 1514) / 1448)).toBeGreaterThan(0.995);
    // With every interval rated, the rates add up to the counters' bytes (to rounding), and the counters
    // from the first to the last sample are those bytes less the first interval's.
    const fromRates = samples.reduce((sum, x) => sum + (eth0(x.rx).rxBps * x.rx.intervalMs) / 8000, 0);
    expect(Math.abs(fromRates - received)).toBeLessThan(1);
    const first = eth0(samples[0]!.rx);
    const last = eth0(samples.at(-1)!.rx);
    expect(Math.abs(received - (first.rxBps * samples[0]!.rx.intervalMs) / 8000 - (last.rxBytesTotal - first.rxBytesTotal))).toBeLessThan(1);
  });

  test("an interface that appears, is re-created (counters reset) and disappears", async () => {
    const s = new SamplerSet({ netDevPath: `/proc/${holderPid}/net/dev`, include: ["x0"], reopenMs: 0 });
    const names = (): string[] | undefined => s.sample(process.hrtime.bigint())?.interfaces.map((r) => r.name);
    const pair = async (): Promise<void> => {
      await ip(["link", "add", "x0", "netns", NS_A, "type", "veth", "peer", "name", "x1", "netns", NS_B]);
    };
    try {
      expect(names()).toBeUndefined(); // primes
      expect(names()).toEqual([]);
      await pair();
      expect(names()).toEqual([]); // new: no previous read
      await ip(["addr", "add", "198.18.10.1/24", "dev", "x0"], NS_A);
      await ip(["link", "set", "x0", "up"], NS_A);
      await ip(["addr", "add", "198.18.10.2/24", "dev", "x1"], NS_B);
      await ip(["link", "set", "x1", "up"], NS_B);
      const ping = await startProcess({ argv: ["ip", "netns", "exec", NS_A, "ping", "-n", "-c", "3", "-i", "0.2", "-s", "1000", "198.18.10.2"], deadlineMs: 10_000 }).exited;
      expect(ping.exitCode).toBe(0);
      const x = s.sample(process.hrtime.bigint())!.interfaces;
      expect(x.map((r) => r.name)).toEqual(["x0"]);
      expect(x[0]!.txBps).toBeGreaterThan(0);
      expect(x[0]!.txBytesTotal).toBeGreaterThan(3000);
      await ip(["link", "del", "x0"], NS_A);
      await pair(); // same name, counters back at 0
      expect(names()).toEqual([]); // went backwards: no rate this interval
      expect(names()).toEqual(["x0"]);
      await ip(["link", "del", "x0"], NS_A);
      expect(names()).toEqual([]);
    } finally {
      s.close();
    }
  });
});
