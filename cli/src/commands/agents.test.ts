/**
 * `netmatrix agents` against a real coordinator (in this process, over
 * gRPC on loopback) whose registry holds thousands of agents: every agent
 * listed exactly once, page by page, under the 4 MiB message limit that one
 * response with all of them broke; filters and --limit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import Table from "cli-table3";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AgentStatusSchema, ListAgentsResponseSchema, type AgentStatus } from "../../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, Tool, ToolInfoSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { startCoordinator, type RunningCoordinator } from "../../../coordinator/src/coordinator.js";
import { Registry } from "../../../coordinator/src/registry.js";
import { agentStatus } from "../../../coordinator/src/status.js";
import { fakeAgentLink, fillRegistry } from "../../../test/harness/registry-fill.js";
import type { ControlClient as ControlClientType } from "../control-client.js";
import { ControlClient } from "../control-client.js";
import { listAgentsTo, type AgentsOptions } from "./agents.js";

const TOKEN = "0123456789abcdef0123456789abcdef";
let dir: string;
let coord: RunningCoordinator;
let client: ControlClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-agents-"));
  // Heartbeats every minute: the sweep leaves the session-less entries alone during the test.
  coord = await startCoordinator({ listen: "127.0.0.1:0", token: TOKEN, dataDir: dir, heartbeatIntervalMs: 60_000 }, pino({ level: "silent" }));
  client = new ControlClient(`127.0.0.1:${coord.port}`, TOKEN);
  fillRegistry(coord.registry, 2_000); // 6,000 agents: 4.8 MB as one message
});

afterAll(async () => {
  client?.close();
  await coord?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What `agents` with `opts` prints: stdout in its writes, and stderr. */
async function agents(opts: Partial<AgentsOptions> = {}): Promise<{ writes: string[]; stdout: string; stderr: string }> {
  const writes: string[] = [];
  let stderr = "";
  await listAgentsTo(
    client,
    { output: "table", ...opts },
    (s) => writes.push(s),
    (s) => (stderr += s),
  );
  return { writes, stdout: writes.join(""), stderr };
}

describe("netmatrix agents on a small cluster", () => {
  /** A client whose coordinator holds `statuses`, in pages of `pageSize`. */
  const fakeClient = (statuses: AgentStatus[], pageSize = 500): Pick<ControlClientType, "agentPages"> => ({
    async *agentPages() {
      for (let i = 0; i < statuses.length || i === 0; i += pageSize) {
        yield create(ListAgentsResponseSchema, {
          agents: statuses.slice(i, i + pageSize),
          totalMatching: statuses.length,
          nextPageToken: i + pageSize < statuses.length ? "t" : "",
        });
      }
    },
  });
  const r = new Registry();
  for (const [i, node] of ["n1", "n2", "ext"].entries()) r.add(fakeAgentLink({ node, mode: node === "ext" ? NetworkMode.EXTERNAL : NetworkMode.HOST }, i));
  // As the coordinator sends them: ext, n1, n2 (10.0.0.2, .0, .1). n1 is busy, n2 trusted, ext behind NAT with ping unusable and qperf missing.
  const statuses = r.list().map((l) => create(AgentStatusSchema, { ...agentStatus(l, l.id === "n1/host"), lastSeenAgoMs: 0 }));
  const [ext, , n2] = statuses;
  n2!.addressCheck = "trusted";
  ext!.addressCheck = "unverified";
  ext!.info!.tools[3] = create(ToolInfoSchema, { tool: Tool.PING, available: false, path: "/usr/bin/ping", problem: "ping: socket: Operation not permitted; fix: sysctl" });
  ext!.info!.tools[2] = create(ToolInfoSchema, { tool: Tool.QPERF, available: false });

  /** The table as `agents` printed it before it paged: cli-table3 sizing its columns itself. */
  function reference(): string {
    const table = new Table({ head: ["AGENT", "MODE", "ADDRESS", "TOOLS", "BUSY", "SEEN"], style: { head: [], border: [] } });
    table.push(
      [
        "ext/external",
        "external",
        "10.0.0.2 (behind NAT: client only)",
        "iperf3 3.12, iperf2 2.1.8, http 4.1.0, sockperf 3.7, qperf (missing), ping (cannot run, see below)",
        "",
        "0.0 s ago",
      ],
      ["n1/host", "host", "10.0.0.0", "iperf3 3.12, iperf2 2.1.8, qperf 0.4.11, ping 20221126, http 4.1.0, sockperf 3.7", "yes", "0.0 s ago"],
      ["n2/host", "host", "10.0.0.1 (trusted)", "iperf3 3.12, iperf2 2.1.8, qperf 0.4.11, ping 20221126, http 4.1.0, sockperf 3.7", "", "0.0 s ago"],
    );
    return `${table.toString()}\n\next/external: ping cannot run: ping: socket: Operation not permitted; fix: sysctl\n`;
  }

  test("the table is the one it always was", async () => {
    let out = "";
    await listAgentsTo(
      fakeClient(statuses),
      { output: "table" },
      (s) => (out += s),
      () => {},
    );
    expect(out).toBe(reference());
  });

  test("a page at a time, it is still one table: columns widen as later pages need, never narrow", async () => {
    const writes: string[] = [];
    await listAgentsTo(
      fakeClient(statuses, 1),
      { output: "table" },
      (s) => writes.push(s),
      () => {},
    );
    const out = writes.join("");
    expect(writes).toHaveLength(5); // three pages, the bottom border, the problems
    const lines = out.split("\n");
    expect(lines.filter((l) => /^[┌└]/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("│ AGENT"))).toHaveLength(1);
    const rows = lines
      .filter((l) => /^│ (ext|n\d)/.test(l))
      .map((l) =>
        l
          .split("│")
          .map((c) => c.trim())
          .slice(1, -1),
      );
    expect(rows).toEqual([
      [
        "ext/external",
        "external",
        "10.0.0.2 (behind NAT: client only)",
        "iperf3 3.12, iperf2 2.1.8, http 4.1.0, sockperf 3.7, qperf (missing), ping (cannot run, see below)",
        "",
        "0.0 s ago",
      ],
      ["n1/host", "host", "10.0.0.0", "iperf3 3.12, iperf2 2.1.8, qperf 0.4.11, ping 20221126, http 4.1.0, sockperf 3.7", "yes", "0.0 s ago"],
      ["n2/host", "host", "10.0.0.1 (trusted)", "iperf3 3.12, iperf2 2.1.8, qperf 0.4.11, ping 20221126, http 4.1.0, sockperf 3.7", "", "0.0 s ago"],
    ]);
    // The first page sized the columns for the widest row already: here every line is as wide.
    expect(new Set(lines.filter((l) => /^[┌├│└]/.test(l)).map((l) => l.length)).size).toBe(1);
    expect(out).toMatch(/\n\next\/external: ping cannot run: .*\n$/);
  });

  test("no agents: says so", async () => {
    let out = "";
    await listAgentsTo(
      fakeClient([]),
      { output: "table" },
      (s) => (out += s),
      () => {},
    );
    expect(out).toBe("no agents connected\n");
    out = "";
    await listAgentsTo(
      fakeClient([]),
      { output: "json" },
      (s) => (out += s),
      () => {},
    );
    expect(out).toBe(`${JSON.stringify({ kind: "netmatrix.agents/v1", agents: [] }, null, 2)}\n`);
  });
});

describe("netmatrix agents with 6,000 agents", () => {
  test("JSON: one document with every agent exactly once, in natural order", async () => {
    const { writes, stderr } = await agents({ output: "json" });
    expect(writes).toHaveLength(1);
    const doc = JSON.parse(writes[0]!) as { kind: string; agents: { id: string; node: string; mode: string; tools: unknown[] }[] };
    expect(doc.kind).toBe("netmatrix.agents/v1");
    const ids = doc.agents.map((a) => a.id);
    expect(ids).toHaveLength(6_000);
    expect(new Set(ids).size).toBe(6_000);
    expect(new Set(ids)).toEqual(new Set(coord.registry.list().map((l) => l.id)));
    expect([...ids].sort(naturalCompare)).toEqual(ids);
    expect(doc.agents[0]).toMatchObject({ id: "node-0/host", node: "node-0", mode: "host", address: "10.0.0.0", addressCheck: "peer" });
    expect(doc.agents[0]!.tools).toHaveLength(6); // every tool of the catalogue
    expect(stderr).toBe("");
  });

  test("table: streamed a page at a time, the column names once, every agent once", async () => {
    const { writes, stdout, stderr } = await agents();
    expect(writes).toHaveLength(13); // 500 a page, then the bottom border
    expect(stdout.match(/AGENT/g)).toHaveLength(1);
    expect(writes[0]!.split("\n")[1]).toMatch(/^│ AGENT +│ MODE +│ ADDRESS +│ TOOLS +│ BUSY │ SEEN +│$/);
    const ids = [...stdout.matchAll(/^│ (node-\S+)/gm)].map((m) => m[1]);
    expect(ids).toHaveLength(6_000);
    // One table: a top border, a bottom border, columns widened (node-1000 is longer than node-0) and never narrowed.
    const lines = stdout.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("┌"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("└"))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^└/);
    const widths = lines.map((l) => l.length);
    expect(widths.every((w, i) => i === 0 || w >= widths[i - 1]!)).toBe(true);
    expect(new Set(ids).size).toBe(6_000);
    expect(stdout).toContain("iperf3 3.12, iperf2 2.1.8, qperf 0.4.11, ping 20221126, http 4.1.0, sockperf 3.7");
    expect(stderr).toBe("");
  });

  test("--limit lists the first N and says how many there are", async () => {
    const { stdout, stderr } = await agents({ output: "json", limit: 10 });
    expect((JSON.parse(stdout) as { agents: { id: string }[] }).agents.map((a) => a.id)).toEqual([
      "node-0/host",
      "node-0/pod/netmatrix-pod-a-0x",
      "node-0/pod/netmatrix-pod-b-0x",
      "node-1/host",
      "node-1/pod/netmatrix-pod-a-1x",
      "node-1/pod/netmatrix-pod-b-1x",
      "node-2/host",
      "node-2/pod/netmatrix-pod-a-2x",
      "node-2/pod/netmatrix-pod-b-2x",
      "node-3/host",
    ]);
    expect(stderr).toBe("listed the first 10 of 6000 agents (--limit 10)\n");
    // A limit past one page pages too.
    const many = await agents({ output: "json", limit: 1_234 });
    expect((JSON.parse(many.stdout) as { agents: unknown[] }).agents).toHaveLength(1_234);
  });

  test("--node, --mode and --label select on the coordinator", async () => {
    const { stdout } = await agents({ output: "json", node: "node-19*", mode: "host", label: ["topology.kubernetes.io/zone=zone-b"] });
    // node-19, node-190..199, node-1900..1999 whose number is 1 modulo 3.
    const want = [19, ...Array.from({ length: 10 }, (_, i) => 190 + i), ...Array.from({ length: 100 }, (_, i) => 1900 + i)].filter((n) => n % 3 === 1).map((n) => `node-${n}/host`);
    expect((JSON.parse(stdout) as { agents: { id: string }[] }).agents.map((a) => a.id)).toEqual(want);
    const none = await agents({ node: "nowhere-*" });
    expect(none.stdout).toBe("no connected agent matches --node, --mode and --label\n");
  });

  test("a label selector out of Kubernetes' syntax is refused before anything is sent", async () => {
    const err = await agents({ label: ["zone"] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).message).toMatch(/--label: "zone" is not KEY=VALUE/);
  });

  test("with 15,000 agents the first page comes in a fraction of the whole listing's time, the first call after they registered included", async () => {
    const big = await startCoordinator({ listen: "127.0.0.1:0", token: TOKEN, dataDir: dir, heartbeatIntervalMs: 60_000 }, pino({ level: "silent" }));
    const c = new ControlClient(`127.0.0.1:${big.port}`, TOKEN);
    try {
      fillRegistry(big.registry, 5_000);
      expect(big.registry.size).toBe(15_000);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const first = await c.listAgents();
        times.push(performance.now() - t0);
        expect(first.agents).toHaveLength(500);
        expect(first.totalMatching).toBe(15_000);
      }
      const t0 = performance.now();
      let all = 0;
      for await (const page of c.agentPages({ node: "", mode: 0, labels: {} })) all += page.agents.length;
      const allMs = performance.now() - t0;
      expect(all).toBe(15_000);
      console.log(`ListAgents over gRPC with 15,000 agents: first page ${times.map((t) => t.toFixed(0)).join(", ")} ms (cold, warm, warm); all 30 pages ${allMs.toFixed(0)} ms`);
      // The reference, measured here: all 30 pages. The first page (cold) is a page's work, not the registry's.
      expect(times[0]).toBeLessThan(allMs / 5);
    } finally {
      c.close();
      await big.stop();
    }
  });
});
