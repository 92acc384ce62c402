/**
 * The http tool in the lab (host-gw), as a user runs it: `netmatrix lab up`,
 * then matrices of http cases (`netmatrix run --spec`) through the lab's
 * coordinator and agents, real nginx and wrk.
 *
 * - new-connection (a TCP connection per request, the CRR pattern) from a pod
 *   to a ClusterIP Service on the other node goes through the lab's DNAT
 *   rules — the packets they counted, which the lab's kube-proxy keeps in
 *   DATA_DIR/lab/service-counters.jsonl when it removes them after each
 *   repetition, are at least the connections wrk reports — and makes fewer
 *   connections/s than pod to pod across the same nodes, measured in the same
 *   run;
 * - keepalive pod to pod across nodes: wrk's bytes match the client's
 *   sampled NIC bytes within 5 % (the repetition's wire_to_payload).
 *
 * Needs root; the lab takes this run's test slot (prefix, address block,
 * free ports), so it never touches another run's lab or the user's.
 */
import { describe, expect, test } from "vitest";
import { exec } from "../common/src/exec.js";
import { canUseNamespaces } from "../lab/src/netns.js";
import { labDir } from "../lab/src/lab.js";
import { readCounterRecords, serviceCountersFile } from "../lab/src/lab-services-counters.js";
import { labSpec } from "../lab/src/lab-spec.js";
import { BUSY_PRESSURE, formatPressure, measurePressure } from "./harness/cpu-pressure.js";
import { LabFixture } from "./harness/lab-fixture.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/lab-http.test.ts: the lab needs root (CI runs it as root)");

const lab = new LabFixture("labhttp");

/** The lab's matrix reduced to http over TCP on `scenarios`, with the given http keys. */
function httpSpec(name: string, scenarios: string[], keys: Record<string, unknown>, durationS: number, repetitions: number): Record<string, unknown> {
  return {
    ...labSpec(lab.state.topology, { durationS, omitS: 0, repetitions, reverse: false, tools: ["http"], pairs: "sample", udpBitrate: "200M" }),
    name,
    scenarios,
    protocols: ["tcp"],
    ...keys,
  };
}

const caseOf = (doc: { cases: any[] }, scenario: string) => doc.cases.find((c) => c.scenario === scenario && c.tool === "http");
const measured = (c: any): any[] => c.repetitions.filter((r: any) => r.ok).map((r: any) => r.measurement);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe.skipIf(!root)("http in the lab (root)", () => {
  // 4.5 s: the lab's start-up CPU (its agents launching at once) leaves the agents' load window, as lab run lets it.
  lab.up(["--cni", "host-gw", "--nic-rate", "1gbit"], 4500, async () => {
    const nat = await exec({ argv: ["iptables", "-t", "nat", "-S"], deadlineMs: 10_000, guard: false });
    expect(nat.stdout).not.toContain(lab.prefix);
  });

  test("new-connection: pod → ClusterIP goes through the lab's DNAT rule (its counter ≥ wrk's connections) and makes fewer connections/s than pod → pod", async (ctx) => {
    const window = measurePressure();
    const doc = await lab.runSpec("crr", httpSpec("lab-http-crr", ["pod-pod-cross", "pod-service-cross"], { httpModes: ["new-connection"], connections: [16], bodies: [0] }, 3, 3));
    const pressure = window.stop();
    const failed = doc.cases.filter((c) => c.summary.failed > 0).map((c) => `${c.key}: ${c.repetitions.find((r: any) => !r.ok)?.failure?.reason}`);
    expect(failed).toEqual([]);
    const podPod = caseOf(doc, "pod-pod-cross");
    const service = caseOf(doc, "pod-service-cross");
    expect(service.via).toBe("service");
    expect(podPod.via ?? "direct").not.toBe("service");
    for (const c of [podPod, service]) {
      for (const m of measured(c)) {
        expect(m.connectionsPerS).toBeGreaterThan(0);
        expect(m.connectionsPerS).toBe(m.requestsPerS);
      }
    }
    // The service's DNAT rules counted the first packet of every connection wrk made (and of those still open when it
    // stopped). The lab removed them after each repetition, keeping what they counted: this case's, on every node.
    const connections = measured(service).reduce((n: number, m: any) => n + m.extra.requests, 0);
    const counters = serviceCountersFile(labDir(lab.dataDir));
    const kept = readCounterRecords(counters).filter((r) => r.runId === doc.run.runId && r.caseId === service.caseId && r.target === "DNAT");
    expect(kept.length, `DNAT rules of run ${doc.run.runId} case ${service.caseId} in ${counters}`).toBeGreaterThan(0);
    expect(kept.every((r) => r.tag === `${lab.prefix}svc:${doc.run.runId}:${service.caseId}`)).toBe(true);
    const dnat = kept.reduce((n, r) => n + r.packets, 0);
    const tags = [...new Set(kept.map((r) => `${r.node} ${r.chain}`))];
    const cps = (c: any) => mean(measured(c).map((m: any) => m.connectionsPerS));
    console.log(
      `lab host-gw, http new-connection -c 16, empty bodies: pod-pod-cross ${cps(podPod).toFixed(0)} connections/s, pod-service-cross ${cps(service).toFixed(0)} connections/s (${((cps(service) / cps(podPod)) * 100).toFixed(1)} %); the service's DNAT rules counted ${dnat} packets for ${connections} connections wrk made (${kept.length} removed rules: ${tags.join(", ")})`,
    );
    expect(connections).toBeGreaterThan(0);
    expect(dnat).toBeGreaterThanOrEqual(connections);
    // Not every packet: only a connection's first packet passes the nat table (conntrack translates the rest).
    expect(dnat).toBeLessThan(connections * 2);
    // The per-connection cost of the service path (DNAT, its conntrack binding, the reply's reverse translation):
    // about 15 % of pod → pod here on a quiet machine; other work holding both CPUs hides it in the noise.
    if (cps(service) >= cps(podPod) && pressure !== undefined && pressure >= BUSY_PRESSURE) {
      const why = `pod-service-cross ${cps(service).toFixed(0)} ≥ pod-pod-cross ${cps(podPod).toFixed(0)} connections/s, but the machine was busy (CPU pressure ${formatPressure(pressure)}, above ${formatPressure(BUSY_PRESSURE)}): the service path's cost is not measurable now (its DNAT was checked)`;
      console.warn(`SKIPPED the connections/s comparison: ${why}`);
      ctx.skip(why);
    }
    expect(cps(service)).toBeLessThan(cps(podPod));
  }, 300_000);

  test("keepalive pod → pod across nodes: wrk's bytes match the client's NIC counters within 5 %", async () => {
    const doc = await lab.runSpec("keep", httpSpec("lab-http-keep", ["pod-pod-cross"], { httpModes: ["keepalive"], connections: [4], bodies: ["100K"] }, 2, 1));
    const c = caseOf(doc, "pod-pod-cross");
    expect(c.summary.failed, c.repetitions[0]?.failure?.reason).toBe(0);
    const rep = c.repetitions[0];
    const m = rep.measurement;
    console.log(
      `lab host-gw, http keepalive -c 4, 100 KiB bodies, pod-pod-cross: ${m.requestsPerS.toFixed(0)} requests/s, ${(m.throughputBps / 1e6).toFixed(1)} Mbit/s; wrk read ${m.bytesReceived} B; ${rep.clientCarryingInterface} wire/payload ${rep.wireToPayload?.toFixed(4) ?? rep.wireToPayloadNote}`,
    );
    expect(m.requestsPerS).toBeGreaterThan(0);
    expect(m.connectionsPerS ?? undefined).toBeUndefined();
    // Every payload byte crossed the NIC with its headers: at least 1, and within 5 %.
    expect(rep.wireToPayload, rep.wireToPayloadNote).toBeGreaterThanOrEqual(1);
    expect(rep.wireToPayload).toBeLessThan(1.05);
  }, 180_000);
});
