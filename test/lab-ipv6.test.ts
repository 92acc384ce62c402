/**
 * IPv6 and dual stack in the lab (host-gw), as a user runs it: `netmatrix lab
 * up --ipv6 --nic-rate 1gbit`, then a matrix with `families: [ipv4, ipv6]`
 * through the lab's coordinator and agents, real iperf3 and ping.
 *
 * - every case runs over both families (IPv6 cases' keys end in /ipv6; IPv4
 *   keys are as before families);
 * - IPv6 iperf3 TCP host-host and pod-pod-cross measure within 2 % of the
 *   theoretical IPv6 TCP goodput at the 1 Gbit/s tbf NIC rate: 1e9 × 1428/1514
 *   (MTU 1500 − 40 IPv6 − 20 TCP − 12 timestamps = 1428 B of payload per
 *   1514 B frame), the issue's bound;
 * - ping over IPv6 answers, beside IPv4's.
 *
 * Needs root; the lab takes this run's test slot (prefix, address block,
 * free ports), so it never touches another run's lab or the user's.
 */
import { describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { LabFixture } from "./harness/lab-fixture.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/lab-ipv6.test.ts: the lab needs root (CI runs it as root)");

/** Theoretical IPv6 TCP goodput at a 1 Gbit/s tbf (L2 bytes) with MTU 1500 and timestamps, bits/s. */
export const IPV6_TCP_GOODPUT_BPS = (1e9 * 1428) / 1514;

const lab = new LabFixture("labv6");

const isV6 = (c: { key: string }): boolean => c.key.includes("/ipv6/");
const measured = (c: any): any[] => c.repetitions.filter((r: any) => r.ok).map((r: any) => r.measurement);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

describe.skipIf(!root)("IPv6 in the dual-stack lab (root)", () => {
  lab.up(["--cni", "host-gw", "--nic-rate", "1gbit", "--ipv6"], 3000);

  test("iperf3 TCP over IPv6, host-host and pod-pod-cross, within 2 % of 1e9 × 1428/1514; IPv4 beside it; ping over both", async (ctx) => {
    const doc = await lab.runSpec("v6", {
      name: "lab-ipv6",
      scenarios: ["host-host", "pod-pod-cross"],
      tools: ["iperf3", "ping"],
      protocols: ["tcp"],
      duration: 2,
      omit: 1,
      repetitions: 2,
      pairs: { sample: 1 },
      families: ["ipv4", "ipv6"],
    });
    const failed = doc.cases.filter((c) => c.summary.failed > 0).map((c) => `${c.key}: ${c.repetitions.find((r: any) => !r.ok)?.failure?.reason}`);
    expect(failed).toEqual([]);
    // 2 scenarios × 2 tools × 2 families, one pair.
    expect(doc.cases).toHaveLength(8);
    const lines: string[] = [];
    const checks: (() => void)[] = [];
    const unmeasurable: string[] = [];
    for (const scenario of ["host-host", "pod-pod-cross"]) {
      const iperf = doc.cases.filter((c) => c.scenario === scenario && c.tool === "iperf3");
      const v4 = iperf.find((c) => !isV6(c));
      const v6 = iperf.find(isV6);
      expect(v4, `${scenario} IPv4 iperf3`).toBeDefined();
      expect(v6, `${scenario} IPv6 iperf3`).toBeDefined();
      const bps6 = median(measured(v6).map((m) => m.throughputBps));
      const bps4 = median(measured(v4).map((m) => m.throughputBps));
      lines.push(
        `${scenario}: IPv4 ${(bps4 / 1e6).toFixed(1)} Mbit/s, IPv6 ${(bps6 / 1e6).toFixed(1)} Mbit/s (v6/v4 ${(bps6 / bps4).toFixed(4)}; v6/theory ${(bps6 / IPV6_TCP_GOODPUT_BPS).toFixed(4)})`,
      );
      // A repetition whose end's CPU was saturated (the other work on this machine) measured the CPU, not the path.
      const cpuBound = [...v4.repetitions, ...v6.repetitions].map((r: any) => r.cpuBound).filter(Boolean);
      const off = Math.abs(bps6 / IPV6_TCP_GOODPUT_BPS - 1);
      if (off >= 0.02 && cpuBound.length) {
        unmeasurable.push(
          `${scenario} IPv6 ${(bps6 / 1e6).toFixed(1)} Mbit/s is ${(off * 100).toFixed(1)} % off theory, but ${cpuBound.length} repetition(s) were cpu-bound (${cpuBound[0]})`,
        );
      } else {
        checks.push(() => {
          expect(off, `${scenario} IPv6 ${bps6} bit/s against ${IPV6_TCP_GOODPUT_BPS.toFixed(0)}`).toBeLessThan(0.02);
          // IPv4 carries 20 more payload bytes per frame: never slower than IPv6 by more than the noise.
          expect(bps4).toBeGreaterThan(bps6 * 0.98);
        });
      }
      const ping = doc.cases.filter((c) => c.scenario === scenario && c.tool === "ping");
      expect(ping.map(isV6).sort()).toEqual([false, true]);
      for (const c of ping) {
        const m = measured(c);
        expect(m.length, c.key).toBeGreaterThan(0);
        expect(m[0].latency.meanUs, c.key).toBeGreaterThan(0);
      }
      lines.push(`${scenario} ping: ${ping.map((c) => `${isV6(c) ? "IPv6" : "IPv4"} ${median(measured(c).map((m) => m.latency.meanUs)).toFixed(0)} µs`).join(", ")}`);
    }
    console.log(`lab host-gw --ipv6 at 1 Gbit/s: ${lines.join("; ")}`);
    for (const check of checks) check();
    if (unmeasurable.length) {
      const why = `${unmeasurable.join("; ")}: the theory bound is not measurable while the machine's CPUs are saturated`;
      console.warn(`SKIPPED ${why}`);
      ctx.skip(why);
    }
  }, 300_000);
});
