/**
 * IPv6 Services in the dual-stack lab (host-gw), as a user runs them: `netmatrix
 * lab up --ipv6`, then a pod-service-cross iperf3 TCP case over IPv6 through
 * the lab's coordinator and agents.
 *
 * - the case targets an IPv6 ClusterIP (fd00:10:96::/112) and its traffic goes
 *   through the ip6tables DNAT rule (the counters kept when the rule was
 *   removed, service-counters.jsonl, show packets), measuring a positive
 *   throughput;
 * - after the case no ip6tables rule of the lab's services remains in any node
 *   namespace (release), and after `lab down` none in the root namespace and no
 *   namespace of the lab at all.
 *
 * Needs root; the lab takes this run's test slot.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { labDir } from "../lab/src/lab.js";
import { readCounterRecords, serviceCountersFile } from "../lab/src/lab-services-counters.js";
import { inNs } from "../lab/src/topology-run.js";
import { LabFixture } from "./harness/lab-fixture.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/lab-services-ipv6.test.ts: the lab needs root (CI runs it as root)");

const lab = new LabFixture("labsvc6");

/** `-A` lines of the ip6tables nat table (of `ns`, or the root namespace) that name this lab's prefix. */
async function labV6Rules(ns?: string): Promise<string[]> {
  const out = ns ? await inNs(ns, ["ip6tables-save", "-t", "nat"]) : execFileSync("ip6tables-save", ["-t", "nat"], { encoding: "utf8", timeout: 10_000 });
  return out.split("\n").filter((l) => l.startsWith("-A ") && l.includes(lab.prefix));
}

describe.skipIf(!root)("IPv6 Services in the dual-stack lab (root)", () => {
  lab.up(["--cni", "host-gw", "--ipv6"], 3000, async () => expect(await labV6Rules()).toEqual([]));

  test("pod-service-cross iperf3 TCP over IPv6 goes through the ip6tables DNAT and measures; its rules are gone after the case", async () => {
    const doc = await lab.runSpec("svc6", {
      name: "lab-svc6",
      scenarios: ["pod-service-cross"],
      tools: ["iperf3"],
      protocols: ["tcp"],
      duration: 2,
      repetitions: 1,
      pairs: { sample: 1 },
      families: ["ipv6"],
    });
    expect(doc.cases, JSON.stringify(doc.refused ?? [])).toHaveLength(1);
    const c = doc.cases[0];
    expect(c.key).toContain("/ipv6");
    const failed = c.repetitions.filter((r: any) => !r.ok).map((r: any) => r.failure?.reason);
    expect(failed).toEqual([]);
    const bps = c.repetitions[0].measurement.throughputBps as number;
    expect(bps).toBeGreaterThan(0);

    const records = readCounterRecords(serviceCountersFile(labDir(lab.dataDir)));
    const dnat6 = records.filter((r) => r.family === "ipv6" && r.target === "DNAT" && r.chain === "PREROUTING");
    expect(dnat6.length).toBeGreaterThan(0);
    expect(dnat6.every((r) => /-d fd00:10:96::[0-9a-f]+\/128 /.test(r.rule) && /--to-destination \[fd00:10:244:\d+::[0-9a-f]+\]:\d+/.test(r.rule))).toBe(true);
    const packets = dnat6.reduce((s, r) => s + r.packets, 0);
    expect(packets).toBeGreaterThan(0);
    console.log(
      `lab host-gw --ipv6 pod-service-cross iperf3 TCP over an IPv6 ClusterIP: ${(bps / 1e6).toFixed(1)} Mbit/s; ip6tables DNAT PREROUTING counted ${packets} packets (${dnat6[0]!.rule})`,
    );

    // Released: no ip6tables rule of the lab's services in any node namespace.
    for (const node of lab.state.topology.nodes) expect(await labV6Rules(node.ns), node.ns).toEqual([]);
  }, 300_000);
});
