/**
 * Two network namespaces joined by a veth pair with a 1 Gbit tbf on one side,
 * an agent in each and the coordinator reachable from both. Needs root.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../common/src/exec.js";
import { canUseNamespaces, listNamespaces } from "../lab/src/netns.js";
import { createPair, PAIR_ADDR, tcpGoodputBps, type Pair } from "./harness/pair.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
const PREFIX = slot.prefix("tpair");
const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/netns.test.ts: needs root to create network namespaces (run the suite as root, as CI does)");

describe.skipIf(!root)("across two namespaces (root)", () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await createPair({ prefix: PREFIX, block: slot.block, rate: "1gbit" });
  }, 60_000);

  afterAll(async () => {
    await pair?.close();
    expect(await listNamespaces(PREFIX)).toEqual([]);
  });

  async function run(args: string[]) {
    const res = await pair.cli(["run", "--output", "json", ...args]);
    const doc = JSON.parse(res.stdout || "null");
    if (!doc) throw new Error(`no JSON (exit ${res.code}): ${res.stderr}`);
    return { code: res.code, rep: doc.cases[0].repetitions[0], doc, stderr: res.stderr };
  }

  test("iperf3 TCP through netmatrix lands within 3 % of 1 Gbit × 1448/1514", async () => {
    const { code, rep, doc } = await run(["--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "5", "--omit", "1"]);
    expect(rep.failure).toBeNull();
    expect(code).toBe(0);
    expect(doc.cases[0].target).toBe(PAIR_ADDR.b);
    const want = tcpGoodputBps(1e9);
    const got = rep.measurement.receiverBps;
    console.log(`iperf3 TCP over 1gbit tbf: ${(got / 1e6).toFixed(1)} Mbit/s, theory ${(want / 1e6).toFixed(1)} Mbit/s, ratio ${(got / want).toFixed(4)}`);
    expect(Math.abs(got / want - 1)).toBeLessThan(0.03);
  }, 60_000);

  test("sampling names the interface that carried the flow, and its bytes agree with iperf3's within 2 %", async () => {
    const { code, rep } = await run(["--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "4"]);
    expect(code).toBe(0);
    const client = rep.clientUsage;
    const server = rep.serverUsage;
    expect(client.carryingInterface).toBe("eth0");
    expect(server.carryingInterface).toBe("eth0");
    const sentOnWire = client.interfaces.find((i: { name: string }) => i.name === "eth0").txBytes;
    const receivedOnWire = server.interfaces.find((i: { name: string }) => i.name === "eth0").rxBytes;
    const payload = rep.measurement.bytesReceived;
    console.log(`eth0: client tx ${sentOnWire} B, server rx ${receivedOnWire} B; iperf3 received ${payload} B; wire/payload ${rep.wireToPayload.toFixed(4)}`);
    expect(Math.abs(sentOnWire / payload - 1)).toBeLessThan(0.02);
    expect(Math.abs(receivedOnWire / payload - 1)).toBeLessThan(0.02);
    // The control link carried next to nothing; the peak tx rate on eth0 is near the 1 Gbit limit.
    expect(client.interfaces.find((i: { name: string }) => i.name === "ctl0")?.txBytes ?? 0).toBeLessThan(payload / 1000);
    expect(client.interfaces.find((i: { name: string }) => i.name === "eth0").txBps.peak).toBeGreaterThan(0.9e9);
    expect(client.cpuTotalPercent.mean).toBeGreaterThan(0);
    expect(client.toolCpuPercent.peak).toBeGreaterThan(0);
    expect(rep.clientCpuPercentPerGbps).toBeGreaterThan(0);
    expect(rep.samples.client.length).toBeGreaterThanOrEqual(35);
  }, 60_000);

  test("watch --once --output json shows the flow on node-a's eth0 while it runs", async () => {
    const flow = run(["--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "4"]);
    await new Promise((r) => setTimeout(r, 1500));
    const w = await pair.cli(["watch", "--once", "--output", "json", "--interval", "0.5", "--interface", "eth*"]);
    await flow;
    expect(w.code).toBe(0);
    const doc = JSON.parse(w.stdout);
    expect(doc.kind).toBe("netmatrix.watch/v1");
    const rows = doc.interfaces as { agentId: string; interface: string; txBps: number; rxBps: number }[];
    expect(rows.every((r) => r.interface === "eth0")).toBe(true);
    const a = rows.find((r) => r.agentId === "node-a/host")!;
    const b = rows.find((r) => r.agentId === "node-b/host")!;
    expect(a.txBps).toBeGreaterThan(0.5e9);
    expect(b.rxBps).toBeGreaterThan(0.5e9);
    expect(rows[0]!.txBps + rows[0]!.rxBps).toBeGreaterThanOrEqual(rows.at(-1)!.txBps + rows.at(-1)!.rxBps);
  }, 60_000);

  test("iperf2 UDP: loss and jitter come from the server side", async () => {
    const { code, rep } = await run(["--client", "node-a", "--server", "node-b", "--tool", "iperf2", "--protocol", "udp", "--bitrate", "300M", "--duration", "2"]);
    expect(rep.failure).toBeNull();
    expect(code).toBe(0);
    expect(rep.server.stdout.length).toBeGreaterThan(0);
    expect(rep.measurement.packets).toBeGreaterThan(10_000);
    expect(rep.measurement.lossPercent).toBeGreaterThanOrEqual(0);
  }, 60_000);

  test("ping RTT across the veth", async () => {
    const { code, rep } = await run(["--client", "node-b", "--server", "node-a", "--tool", "ping", "--count", "5"]);
    expect(code).toBe(0);
    expect(rep.measurement.latency.samples).toBe(5);
    expect(rep.measurement.latency.meanUs).toBeGreaterThan(0);
  }, 30_000);

  test("a target that refuses connections fails as unreachable, not as a number", async () => {
    const rule = ["INPUT", "-p", "tcp", "--dport", "20000:20999", "-j", "REJECT", "--reject-with", "tcp-reset"];
    const ipt = (op: string) => exec({ argv: ["ip", "netns", "exec", pair.nsB, "iptables", op, ...rule], deadlineMs: 10_000, guard: false });
    const added = await ipt("-A");
    expect(added.exitCode, added.stderr).toBe(0);
    try {
      const { code, rep } = await run(["--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "2"]);
      expect(code).toBe(1);
      expect(rep.measurement).toBeNull();
      expect(rep.failure.code).toBe("unreachable");
      expect(rep.failure.reason).toMatch(/refused/i);
    } finally {
      await ipt("-D");
    }
  }, 60_000);
});
