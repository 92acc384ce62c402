import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { compileNameFilter } from "./filter.js";
import { netDevRates, parseNetDev, readNetDev, type NetDevCounters } from "./netdev.js";

/** Fixtures: see fixtures/README.md (real captures; *-derived.txt are edited copies). */
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/netdev/${name}`, import.meta.url), "utf8");
const NETNS_DT_NS = BigInt((JSON.parse(fixture("netns.meta.json")) as { dtNs: number }).dtNs);

/** |actual/expected − 1| below 1e-12 (or both 0). */
function near(actual: number | undefined, expected: number): void {
  if (expected === 0) expect(actual).toBe(0);
  else expect(Math.abs(actual! / expected - 1)).toBeLessThan(1e-12);
}

function counters(name: string, c: Partial<Record<Exclude<keyof NetDevCounters, "name">, bigint>> = {}): NetDevCounters {
  return { name, rxBytes: 0n, rxPackets: 0n, rxErrs: 0n, rxDrop: 0n, txBytes: 0n, txPackets: 0n, txErrs: 0n, txDrop: 0n, ...c };
}

describe("parseNetDev on captured files", () => {
  test.each([
    // cat /proc/net/dev on the host
    { file: "host.txt", names: ["lo", "ifb0", "ifb1", "eth0"], pick: "eth0", rx: [1053080616n, 36248n, 0n, 0n], tx: [2455582n, 20378n, 0n, 0n] },
    { file: "host.txt", names: ["lo", "ifb0", "ifb1", "eth0"], pick: "lo", rx: [279523645668n, 12707989n, 0n, 0n], tx: [279523645668n, 12707989n, 0n, 0n] },
    // inside nm-smp-cap-a after real iperf3 and ping traffic; the 15-character name has no padding
    { file: "netns-t1.txt", names: ["lo", "veth0", "veth1", "nm-smp-cap-long"], pick: "veth0", rx: [2076026n, 31354n, 0n, 0n], tx: [1621868261n, 34852n, 0n, 0n] },
    { file: "netns-t0.txt", names: ["lo", "veth0", "veth1", "nm-smp-cap-long"], pick: "nm-smp-cap-long", rx: [2017653n, 30460n, 0n, 0n], tx: [1611205927n, 34395n, 0n, 0n] },
    // derived from netns-t1.txt: veth0 + 2^60 (beyond 2^53, must stay exact)
    {
      file: "huge-t1-derived.txt",
      names: ["lo", "veth0", "veth1", "nm-smp-cap-long"],
      pick: "veth0",
      rx: [2076026n + 2n ** 60n, 31354n + 2n ** 60n, 0n, 0n],
      tx: [1621868261n + 2n ** 60n, 34852n + 2n ** 60n, 0n, 0n],
    },
    // derived from host.txt: counters glued to the colon and an alias name, as older kernels print
    { file: "legacy-derived.txt", names: ["lo", "ifb0", "ifb1", "eth0", "eth0:1"], pick: "eth0:1", rx: [1053080616n, 36248n, 0n, 0n], tx: [2455582n, 20378n, 0n, 0n] },
    { file: "legacy-derived.txt", names: ["lo", "ifb0", "ifb1", "eth0", "eth0:1"], pick: "eth0", rx: [1053080616n, 36248n, 0n, 0n], tx: [2455582n, 20378n, 0n, 0n] },
  ])("$file: $pick", ({ file, names, pick, rx, tx }) => {
    const text = fixture(file);
    const all = parseNetDev(text);
    expect(all.map((c) => c.name)).toEqual(names);
    const c = all.find((x) => x.name === pick)!;
    expect([c.rxBytes, c.rxPackets, c.rxErrs, c.rxDrop]).toEqual(rx);
    expect([c.txBytes, c.txPackets, c.txErrs, c.txDrop]).toEqual(tx);
    // Bytes (what the sampler reads) and text parse the same.
    expect(parseNetDev(Buffer.from(text, "latin1"))).toEqual(all);
  });

  test("an 18446744073709551615 (2^64 − 1) counter stays exact", () => {
    const text = fixture("host.txt").replace("1053080616", "18446744073709551615");
    expect(parseNetDev(text).find((c) => c.name === "eth0")?.rxBytes).toBe(2n ** 64n - 1n);
  });

  test.each<[string, string]>([
    ["too few columns", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"],
    ["too many columns", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n"],
    ["a negative number", "  eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"],
    ["letters in a column", "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 1x\n"],
    ["no name", "  : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"],
    ["headers only", fixture("host.txt").split("\n").slice(0, 2).join("\n")],
    ["empty", ""],
  ])("%s → no interface", (_label, text) => {
    expect(parseNetDev(text)).toEqual([]);
  });

  test("a last line without newline and CRLF line ends parse", () => {
    const text = "Inter-|\r\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
    expect(parseNetDev(text).map((c) => [c.name, c.rxBytes, c.txDrop])).toEqual([
      ["eth0", 1n, 12n],
      ["eth1", 1n, 12n],
    ]);
  });

  test("accept filters before the columns are parsed", () => {
    expect(parseNetDev(fixture("netns-t0.txt"), compileNameFilter(["veth*"])).map((c) => c.name)).toEqual(["veth0", "veth1"]);
  });

  test("with the previous parse, unchanged interfaces are the same objects and changed ones are new", () => {
    const t0 = parseNetDev(fixture("netns-t0.txt"));
    const again = parseNetDev(fixture("netns-t0.txt"), undefined, t0);
    expect(again).toEqual(t0);
    again.forEach((c, i) => expect(c).toBe(t0[i]));
    const t1 = parseNetDev(fixture("netns-t1.txt"), undefined, t0);
    expect(t1).toEqual(parseNetDev(fixture("netns-t1.txt")));
    expect(t1[0]).toBe(t0[0]); // lo: all zero both times
    expect(t1[1]).not.toBe(t0[1]); // veth0 carried traffic
    expect(t1[3]!.txBytes).toBe(t0[3]!.txBytes); // nm-smp-cap-long: tx unchanged
  });

  test("readNetDev reads the live file; a missing one is undefined", () => {
    expect(readNetDev("/proc/net/dev")?.some((c) => c.name === "lo")).toBe(true);
    expect(readNetDev("/proc/net/no-such-file")).toBeUndefined();
  });
});

describe("netDevRates", () => {
  test.each([
    // netns-t0 → netns-t1, 1 857 291 632 ns apart: veth0 carried a 1 s iperf3 run (tx), veth1 pings, the long one a little rx
    { name: "veth0", rxBytes: 2076026 - 266, rxPackets: 31354 - 3, txBytes: 1621868261 - 516, txPackets: 34852 - 6, rxTotal: 2076026, txTotal: 1621868261 },
    { name: "veth1", rxBytes: 1342 - 602, rxPackets: 15 - 7, txBytes: 1342 - 852, txPackets: 15 - 10, rxTotal: 1342, txTotal: 1342 },
    { name: "nm-smp-cap-long", rxBytes: 250, rxPackets: 3, txBytes: 0, txPackets: 0, rxTotal: 2017903, txTotal: 1611205927 },
  ])("captured traffic: $name", ({ name, rxBytes, rxPackets, txBytes, txPackets, rxTotal, txTotal }) => {
    const dt = Number(NETNS_DT_NS);
    const rates = netDevRates(parseNetDev(fixture("netns-t0.txt")), parseNetDev(fixture("netns-t1.txt")), NETNS_DT_NS);
    const r = rates.find((x) => x.name === name)!;
    near(r.rxBps, (rxBytes * 8e9) / dt);
    near(r.txBps, (txBytes * 8e9) / dt);
    near(r.rxPps, (rxPackets * 1e9) / dt);
    near(r.txPps, (txPackets * 1e9) / dt);
    expect([r.rxDropsPerS, r.txDropsPerS, r.rxErrorsPerS, r.txErrorsPerS]).toEqual([0, 0, 0, 0]);
    expect([r.rxBytesTotal, r.txBytesTotal]).toEqual([rxTotal, txTotal]);
  });

  test("counters beyond 2^53 (derived fixtures) give the same rates as the real capture", () => {
    const real = netDevRates(parseNetDev(fixture("netns-t0.txt")), parseNetDev(fixture("netns-t1.txt")), NETNS_DT_NS);
    const huge = netDevRates(parseNetDev(fixture("huge-t0-derived.txt")), parseNetDev(fixture("huge-t1-derived.txt")), NETNS_DT_NS);
    const strip = (r: (typeof real)[number]) => ({ ...r, rxBytesTotal: 0, txBytesTotal: 0 });
    expect(huge.map(strip)).toEqual(real.map(strip));
    expect(huge.find((r) => r.name === "veth0")!.rxBytesTotal).toBe(Number(2076026n + 2n ** 60n));
  });

  test.each([
    { label: "125 000 000 bytes in 1 s", bytes: 125_000_000n, dtNs: 1_000_000_000n, bps: 1e9 },
    { label: "12 500 000 bytes in 100 ms", bytes: 12_500_000n, dtNs: 100_000_000n, bps: 1e9 },
    { label: "1 byte in 1 ns", bytes: 1n, dtNs: 1n, bps: 8e9 },
    { label: "1500 bytes in 3 s", bytes: 1500n, dtNs: 3_000_000_000n, bps: 4000 },
  ])("exact arithmetic: $label = $bps bit/s", ({ bytes, dtNs, bps }) => {
    const prev = [counters("eth0", { rxBytes: 1000n, txBytes: 2n ** 62n })];
    const cur = [counters("eth0", { rxBytes: 1000n + bytes, txBytes: 2n ** 62n + bytes, rxPackets: 10n, rxDrop: 5n, txErrs: 2n })];
    const [r] = netDevRates(prev, cur, dtNs);
    expect(r!.rxBps).toBe(bps);
    expect(r!.txBps).toBe(bps);
    const perS = 1e9 / Number(dtNs);
    expect([r!.rxPps, r!.rxDropsPerS, r!.txErrorsPerS]).toEqual([10 * perS, 5 * perS, 2 * perS]);
  });

  test("a reset (all captured counters read in reverse order) yields no rate, never a negative one", () => {
    const rates = netDevRates(parseNetDev(fixture("netns-t1.txt")), parseNetDev(fixture("netns-t0.txt")), NETNS_DT_NS);
    // lo stayed at 0; every other interface went backwards.
    expect(rates.map((r) => r.name)).toEqual(["lo"]);
  });

  test.each(["rxBytes", "rxPackets", "rxErrs", "rxDrop", "txBytes", "txPackets", "txErrs", "txDrop"] as const)("%s alone going backwards omits the interface", (field) => {
    const prev = [counters("a", { [field]: 10n }), counters("b")];
    const cur = [counters("a", { [field]: 9n }), counters("b", { rxBytes: 1n })];
    expect(netDevRates(prev, cur, 1_000_000_000n).map((r) => r.name)).toEqual(["b"]);
  });

  test("an interface that appears has no rate until its second read; one that disappears is gone", () => {
    const t0 = [counters("eth0"), counters("veth-old")];
    const t1 = [counters("eth0", { rxBytes: 100n }), counters("veth-new", { rxBytes: 5n })];
    const t2 = [counters("eth0", { rxBytes: 200n }), counters("veth-new", { rxBytes: 10n })];
    expect(netDevRates(t0, t1, 1_000_000_000n).map((r) => r.name)).toEqual(["eth0"]);
    expect(netDevRates(t1, t2, 1_000_000_000n).map((r) => [r.name, r.rxBps])).toEqual([
      ["eth0", 800],
      ["veth-new", 40],
    ]);
  });

  test("interfaces are matched by name when the order changes", () => {
    const prev = [counters("a", { rxBytes: 1n }), counters("b", { rxBytes: 2n })];
    const cur = [counters("b", { rxBytes: 3n }), counters("a", { rxBytes: 5n })];
    expect(netDevRates(prev, cur, 1_000_000_000n).map((r) => [r.name, r.rxBps])).toEqual([
      ["b", 8],
      ["a", 32],
    ]);
  });

  test.each([0n, -1n])("dtNs %s → no rates", (dt) => {
    expect(netDevRates([counters("a")], [counters("a", { rxBytes: 1n })], dt)).toEqual([]);
  });
});

describe("compileNameFilter", () => {
  const names = ["lo", "eth0", "eth1", "eth0:1", "veth0", "veth1a2b", "cali123", "a.b", "axb", "nm-smp-cap-long"];
  test.each<[string, string[] | undefined, string[] | undefined, string[]]>([
    ["defaults: everything but lo", undefined, undefined, names.filter((n) => n !== "lo")],
    ["empty exclude keeps lo", undefined, [], names],
    ["one glob", ["veth*"], undefined, ["veth0", "veth1a2b"]],
    ["comma-separated list", ["eth*,cali*"], undefined, ["eth0", "eth1", "eth0:1", "cali123"]],
    ["several entries", ["eth0", "cali*"], undefined, ["eth0", "cali123"]],
    ["include and exclude", ["*eth*"], ["veth*,eth1"], ["eth0", "eth0:1"]],
    ["'*' inside", ["v*1*"], undefined, ["veth1a2b"]],
    ["suffix", ["*long"], undefined, ["nm-smp-cap-long"]],
    ["regex characters are literal", ["a.b"], undefined, ["a.b"]],
    ["colon is literal", ["eth0:*"], undefined, ["eth0:1"]],
    ["blanks around entries are ignored", [" eth0 , eth1 "], undefined, ["eth0", "eth1"]],
    ["an empty include matches nothing", [""], undefined, []],
    ["exclude everything", undefined, ["*"], []],
  ])("%s", (_label, include, exclude, want) => {
    const accept = compileNameFilter(include, exclude);
    expect(names.filter(accept)).toEqual(want);
    expect(names.filter(accept)).toEqual(want); // the cached verdicts agree
  });
});
