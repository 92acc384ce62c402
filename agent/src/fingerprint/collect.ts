/**
 * The environment fingerprint's I/O: reads /proc and /sys, runs `ip -d addr`, `ip route`,
 * `ethtool`, `iptables-save` and `nft` (each bounded in time and output by
 * common/src/exec.ts, concurrently), and hands the text to the pure parsers
 * beside this file. Nothing here fails: what cannot be read is left empty and
 * said in `notes`; the whole collection has a deadline, after which what is
 * missing is noted too. Every string and list is kept within
 * FINGERPRINT_LIMITS, the coordinator's bounds.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { basename } from "node:path";
import { create } from "@bufbuild/protobuf";
import { exec, type ExecResult } from "../../../common/src/exec.js";
import { clipText, FINGERPRINT_LIMITS as L } from "../../../common/src/fingerprint-limits.js";
import { Encapsulation, FingerprintSchema, InterfaceFingerprintSchema, type Fingerprint, type InterfaceFingerprint } from "../../../gen/netmatrix/v1/fingerprint_pb.js";
import { parseEthtoolDriver, parseEthtoolFeatures } from "./ethtool.js";
import { kubeProxyModeOf } from "./kube-proxy.js";
import { encapsulationOf, parseIpLinks, parseRoutes, type Link } from "./links.js";
import { parseCount, parseCpuinfo } from "./proc.js";

/** Where the fingerprint's sources are read from: this process's view by default; a test reads another namespace's. */
export interface FingerprintHost {
  run(argv: string[], opts: { deadlineMs: number; maxOutputBytes: number }): Promise<ExecResult>;
  /** The file's text, or undefined when it cannot be read. */
  read(path: string): Promise<string | undefined>;
  /** The directory's entries, or undefined. */
  list(dir: string): Promise<string[] | undefined>;
  /** The symlink's target, or undefined. */
  link(path: string): Promise<string | undefined>;
}

export const localHost: FingerprintHost = {
  run: (argv, o) => exec({ argv, ...o }),
  read: (p) => readFile(p, "utf8").catch(() => undefined),
  list: (d) => readdir(d).catch(() => undefined),
  link: (p) => readlink(p).catch(() => undefined),
};

export interface CollectOptions {
  host?: FingerprintHost;
  /** The agent runs in a pod: its namespace shows neither the node's tunnels nor kube-proxy's rules, so those stay unknown. */
  pod?: boolean;
  /** Milliseconds each command may take (default 2000). */
  commandDeadlineMs?: number;
  /** Milliseconds the whole collection may take (default 4000); what is not done by then is noted. */
  deadlineMs?: number;
  /** Commands run at once (default 8). */
  concurrency?: number;
}

/** Bytes kept of a command's output: ethtool's and ip's are a few KiB; iptables-save's nat table on a big cluster is tens of MiB, and its chain declarations come first. */
const SMALL_OUTPUT = 256 * 1024;
const LARGE_OUTPUT = 4 * 1024 * 1024;

/** A limit on how many commands run at once. */
function limiter(n: number): <T>(f: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await f();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Take the environment fingerprint of this network namespace (or `opts.host`'s). Never throws. */
export async function collectFingerprint(opts: CollectOptions = {}): Promise<Fingerprint> {
  const started = performance.now();
  const host = opts.host ?? localHost;
  const notes: string[] = [];
  const note = (s: string): void => void notes.push(clipText(s));
  const limit = limiter(opts.concurrency ?? 8);
  const commandDeadlineMs = opts.commandDeadlineMs ?? 2000;
  const missing = new Set<string>();

  /** stdout of `argv`, or undefined with a note (not found, no permission, failed, timed out). */
  const run = (argv: string[], maxOutputBytes = SMALL_OUTPUT, quiet = false): Promise<string | undefined> =>
    limit(async () => {
      const r = await host.run(argv, { deadlineMs: commandDeadlineMs, maxOutputBytes });
      const what = argv.join(" ");
      if (quiet && !r.spawnError && !r.timedOut && r.exitCode !== 0) return undefined;
      if (r.spawnError) {
        // Once per program (ethtool runs per interface): `ethtool: ethtool-x: not found on PATH`.
        if (!missing.has(argv[0]!)) note(`${argv[0]}: ${r.spawnError}`);
        missing.add(argv[0]!);
        return undefined;
      }
      if (r.timedOut) return void note(`${what}: no answer within ${commandDeadlineMs} ms`);
      if (r.exitCode !== 0) return void note(`${what}: exit ${r.exitCode ?? r.signal}: ${r.stderr.trim().split("\n")[0] ?? ""}`);
      if (r.truncated) note(`${what}: output cut at ${maxOutputBytes} bytes`);
      return r.stdout;
    });

  const fp = create(FingerprintSchema, {});
  const work = (async () => {
    const [osrelease, cpuinfo, governor, ipLinks, ipRoutes, names] = await Promise.all([
      host.read("/proc/sys/kernel/osrelease"),
      host.read("/proc/cpuinfo"),
      host.read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
      run(["ip", "-d", "addr", "show"]),
      opts.pod ? Promise.resolve(undefined) : run(["ip", "route", "show"]),
      host.list("/sys/class/net"),
    ]);
    fp.kernel = clipText(osrelease?.trim() ?? "");
    if (!osrelease) note("/proc/sys/kernel/osrelease: cannot be read");
    const cpu = parseCpuinfo(cpuinfo ?? "");
    fp.cpuModel = clipText(cpu.model);
    fp.cpuCount = Math.min(cpu.count, L.cpuCount);
    fp.governor = clipText(governor?.trim() ?? "", L.name);
    if (governor === undefined) note("no cpufreq governor (/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor is absent: a VM, or a fixed clock)");

    const links = ipLinks ? parseIpLinks(ipLinks) : [];
    // A pod's host end (a veth without an address: flannel's on cni0, Calico's cali*, Cilium's lxc*) says nothing of the node, and a node has hundreds.
    const podEnds = new Set(links.filter((l) => l.kind === "veth" && !l.global).map((l) => l.name));
    if (podEnds.size) note(`${podEnds.size} veth(s) without an address (pods' host ends) left out`);
    const all = [...new Set([...(names ?? []), ...links.map((l) => l.name)])].filter((n) => !podEnds.has(n)).sort();
    if (all.length > L.interfaces) note(`${all.length} interfaces: fingerprinting the first ${L.interfaces} by name`);
    const kept = all.filter((n) => /^[^/:\s]{1,15}$/.test(n)).slice(0, L.interfaces);
    const byName = new Map(links.map((l) => [l.name, l]));
    const [ifaces, conntrackMax, conntrackCount, ipvs, iptablesNat, nftTables] = await Promise.all([
      Promise.all(kept.map((n) => iface(n, byName.get(n)))),
      host.read("/proc/sys/net/netfilter/nf_conntrack_max"),
      host.read("/proc/sys/net/netfilter/nf_conntrack_count"),
      opts.pod ? Promise.resolve(undefined) : host.read("/proc/net/ip_vs"),
      opts.pod ? Promise.resolve(undefined) : run(["iptables-save", "-t", "nat"], LARGE_OUTPUT),
      opts.pod ? Promise.resolve(undefined) : run(["nft", "list", "tables"]),
    ]);
    fp.interfaces = ifaces;
    fp.conntrackMax = Math.min(parseCount(conntrackMax) ?? 0, 0xffff_ffff);
    fp.conntrackCount = Math.min(parseCount(conntrackCount) ?? 0, 0xffff_ffff);
    if (conntrackMax === undefined) note("no conntrack (/proc/sys/net/netfilter/nf_conntrack_max is absent: nf_conntrack not loaded)");
    if (opts.pod) {
      note("a pod agent sees only its own namespace: encapsulation and kube-proxy mode are the host agent's to say");
      return;
    }
    if (ipLinks !== undefined && ipRoutes !== undefined) {
      const e = encapsulationOf(links, parseRoutes(ipRoutes));
      fp.encapsulation = e.encapsulation;
      fp.encapsulationEvidence = e.evidence.slice(0, 4).map((s) => clipText(s));
    }
    if (iptablesNat !== undefined || nftTables !== undefined || ipvs !== undefined || links.length) {
      const k = kubeProxyModeOf({ iptablesNat, nftTables, ipvs, links: links.map((l) => l.name) });
      fp.kubeProxyMode = k.mode;
      fp.kubeProxyEvidence = k.evidence.slice(0, 4).map((s) => clipText(s));
    }
  })();

  /** One interface: sysfs (MTU, speed, driver, queues), `ip -d addr` (kind), `ethtool -k` (offloads), `ethtool -i` when sysfs has no driver. */
  async function iface(name: string, link: Link | undefined): Promise<InterfaceFingerprint> {
    const dir = `/sys/class/net/${name}`;
    const [mtu, speed, driverLink, queues, features] = await Promise.all([
      host.read(`${dir}/mtu`),
      host.read(`${dir}/speed`),
      host.link(`${dir}/device/driver`),
      host.list(`${dir}/queues`),
      run(["ethtool", "-k", name]),
    ]);
    // A virtual device without a driver (lo) makes `ethtool -i` fail: not worth a note.
    let driver = driverLink ? basename(driverLink) : "";
    if (!driver) driver = parseEthtoolDriver((await run(["ethtool", "-i", name], SMALL_OUTPUT, true)) ?? "");
    const offloads = features ? parseEthtoolFeatures(features) : {};
    return create(InterfaceFingerprintSchema, {
      name,
      driver: clipText(driver, L.name),
      kind: clipText(link?.kind ?? "", L.name),
      mtu: Math.min(parseCount(mtu) ?? link?.mtu ?? 0, L.mtu),
      speedMbps: Math.min(parseCount(speed) ?? 0, L.speedMbps),
      offloads,
      rxQueues: Math.min(queues ? queues.filter((q) => q.startsWith("rx-")).length : (link?.rxQueues ?? 0), L.queues),
      txQueues: Math.min(queues ? queues.filter((q) => q.startsWith("tx-")).length : (link?.txQueues ?? 0), L.queues),
    });
  }

  const deadlineMs = opts.deadlineMs ?? 4000;
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([work.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), deadlineMs)))]);
  clearTimeout(timer);
  if (late) note(`collection took longer than ${deadlineMs} ms: registering what was collected by then`);
  if (!opts.pod && fp.encapsulation === Encapsulation.UNSPECIFIED && !late) note("encapsulation unknown: `ip -d addr show` or `ip route show` did not answer");
  const out = create(FingerprintSchema, { ...fp, notes: notes.slice(0, L.lines), collectMs: Math.round(performance.now() - started) });
  return out;
}
