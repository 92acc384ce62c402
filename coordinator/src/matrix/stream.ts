/**
 * A plan that streams: what a spec asks of the registered agents, as blocks
 * (one per scenario: which node pairs or nodes, which agent fills each role,
 * which parameter combinations run) from which rounds and cases are made on
 * demand. Nothing is materialised per case or per node pair: memory is
 * O(agents + nodes + combinations) for a full mesh (plus the drawn pairs of a
 * sample, ring or cover, which the caps bound), and the totals — cases,
 * rounds, estimated duration — are arithmetic.
 *
 * Rounds (cases that run at the same time, pairwise node-disjoint, at most
 * `concurrency`) come from one segment per (scenario, combination):
 * - a full mesh of m nodes: the circle method's round-robin — colour c pairs
 *   node c with the fixed node and c+i with c−i — once in each direction,
 *   2(m−1) matchings for m even (2m for m odd), each cut into
 *   ⌈(m/2) / concurrency⌉ rounds; round r is computed in O(m) without the
 *   others;
 * - drawn pairs (ring, sample, …): packed once per pair list (scheduler.ts
 *   `packPairs`), every combination reusing that packing;
 * - same-node: the selected nodes, `concurrency` at a time;
 * - external: external agent e meets node (r + e) mod L in raw round r,
 *   L = max(externals, nodes), so each agent and node is in a round once.
 * Repetitions are interleaved: every case's repetition r runs before any
 * case's repetition r+1, and repetition r starts its round order r rounds
 * later, so a case does not always run at the same point of a repetition.
 * A round's cases are filtered for what can run (agents present, address,
 * tools): a round may hold fewer cases than its segment's width, and one
 * whose every unit is missing something holds none — the runner skips it.
 * Pure and deterministic.
 */
import { drivers, tools, type ToolName } from "../../../tools/src/index.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { SCENARIO_SHAPES, type ScenarioShape } from "../../../common/src/scenarios.js";
import { fingerprint, hash64, hex12, joinLane1, joinLane2 } from "./hash.js";
import { indexAgents, short } from "./endpoints.js";
import { nodeLabels, selectNodes } from "./pairs.js";
import type { PlannerAgent, PlannerOptions } from "./planner-types.js";
import type { PlannedCase } from "./planner-types.js";
import { RefusalLog, type Refusal } from "./refusals.js";
import { packPairs } from "./scheduler.js";
import { CASE_OVERHEAD_MS } from "./size.js";
import type { MatrixSpec } from "./spec-types.js";
import { crosschecked, variants, type Variant } from "./variants.js";
import { NumberSet } from "./number-set.js";
import { familyAddress } from "../../../common/src/addresses.js";

/** Where a block's units come from. Node numbers index the plan's `universe`; external clients are agent indices. */
type Units =
  | { kind: "mesh"; nodes: Int32Array }
  | { kind: "list"; from: Int32Array; to: Int32Array; packed: Packed }
  | { kind: "same"; nodes: Int32Array }
  | { kind: "external"; externals: Int32Array; nodes: Int32Array };

/** One repetition's packing of a pair list: round r holds members[start[r] .. start[r+1]) (pair indices). */
interface Packed {
  start: Int32Array;
  members: Int32Array;
}

/** One scenario's roles and units. */
interface Block {
  shape: ScenarioShape;
  units: Units;
  /** Per universe node: the agent that takes the client role there, or −1 (cross and same; same uses pod #1). */
  clientOf: Int32Array;
  /** Per universe node: the agent that takes the server role there (with or without an address), or −1. */
  serverOf: Int32Array;
  /** Indices into the combination list that run in this scenario. */
  combos: number[];
}

/** One (scenario, combination): a run of consecutive rounds. */
interface Segment {
  block: Block;
  combo: number;
  /** Rounds in this segment (per repetition). */
  rounds: number;
  /** Cases of one round at most (the width a matching is cut to). */
  width: number;
  /** Sub-rounds per raw round (mesh matchings, external raw rounds). */
  chunks: number;
  /** Estimated duration of each of its rounds, ms. */
  roundMs: number;
  /** Cases this segment holds (units that can run). */
  cases: number;
}

/** One round of the stream. */
export interface StreamRound {
  /** 0-based repetition. */
  repetition: number;
  /** Its cases (possibly none: see the module comment). */
  cases: PlannedCase[];
  /** Estimated duration, ms. */
  ms: number;
}

/** The plan's totals, computed without producing a case. */
export interface PlanTotals {
  /** Cases that can run (each × repetitions is a case run). */
  cases: number;
  caseRuns: number;
  roundsPerRepetition: number;
  rounds: number;
  /** Every round's estimated duration (its tool's run plus CASE_OVERHEAD_MS), summed. */
  estimatedMs: number;
}

/** One bit per tool of the catalogue, for a per-agent "has this tool" mask. */
const TOOL_BIT = Object.fromEntries(tools.names.map((t, i) => [t, 2 ** i])) as Record<ToolName, number>;

/**
 * A streaming plan of `spec` over `agents`. Cost: O(agents + nodes ×
 * scenarios × combinations) plus O(drawn pairs) for samples and rings; no
 * case is made until asked for.
 */
export class PlanStream {
  readonly refused: Refusal[];
  readonly totals: PlanTotals;
  /** Cluster nodes in natural name order. */
  readonly universe: readonly string[];
  private readonly combos: Variant[];
  private readonly blocks: Block[];
  private readonly segments: Segment[];
  /** segmentStart[i] = rounds of one repetition before segment i (length segments + 1). */
  private readonly segmentStart: number[];
  private readonly mask: Uint32Array;
  private readonly hasAddress: Uint8Array;
  /** Per agent: 1 when it registered an IPv6 address a client can target (common/src/addresses.ts `familyAddress`). */
  private readonly hasIpv6: Uint8Array;
  private readonly nodeHash: [number, number][];
  private readonly prefixHash = new Map<string, [number, number]>();
  private readonly hostHost: Block | undefined;
  private readonly concurrency: number;
  private readonly repetitions: number;
  private readonly agentNodeHash = new Map<string, [number, number]>();

  constructor(
    readonly spec: MatrixSpec,
    readonly agents: readonly PlannerAgent[],
    opts: PlannerOptions = {},
  ) {
    const ids = new Set<string>();
    for (const a of agents) {
      if (ids.has(a.id)) throw new Error(`plan: agent id "${a.id}" appears twice`);
      ids.add(a.id);
    }
    const { concurrency, repetitions } = spec;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`schedule: concurrency must be a whole number ≥ 1, got ${concurrency}`);
    if (!Number.isInteger(repetitions) || repetitions < 1) throw new RangeError(`schedule: repetitions must be a whole number ≥ 1, got ${repetitions}`);
    this.concurrency = concurrency;
    this.repetitions = repetitions;
    const notes = new RefusalLog();
    const index = indexAgents(agents);
    const universe = [...index.entries()]
      .filter(([, m]) => m.host.length + m.pod.length > 0)
      .map(([node]) => node)
      .sort(naturalCompare);
    this.universe = universe;
    this.nodeHash = universe.map((n) => hash64(n));
    this.mask = Uint32Array.from(agents, (a) => a.tools.reduce((m, t) => m | TOOL_BIT[t], 0));
    this.hasAddress = Uint8Array.from(agents, (a) => (a.address === "" ? 0 : 1));
    this.hasIpv6 = Uint8Array.from(agents, (a) => (familyAddress(a.addresses ?? [a.address], "ipv6") === undefined ? 0 : 1));
    const crossRows = spec.scenarios.some((s) => SCENARIO_SHAPES[s].placement === "cross");
    const mesh = spec.pairs.kind === "all" || spec.pairs.kind === "nodes";
    // A mesh is never listed pair by pair: only its nodes are selected.
    const selection = selectNodes(spec.pairs, universe, spec.seed, { pairs: crossRows && !mesh, labels: nodeLabels(agents) });
    if (selection.unlabelled?.length && "by" in spec.pairs && spec.pairs.by) {
      notes.add(
        "skipped",
        undefined,
        undefined,
        0,
        `pairs.by: node(s) ${short(selection.unlabelled)} carry no label "${spec.pairs.by}"; they are drawn as one group of their own (label them with \`netmatrix agent --label ${spec.pairs.by}=VALUE\`)`,
      );
    }
    for (const n of selection.unknown) {
      notes.add("refused", undefined, undefined, 0, `pairs.nodes: no agent runs on node "${n}" (nodes with agents: ${short(universe) || "none"})`);
    }
    const nodeNo = new Map(universe.map((n, i) => [n, i]));
    const selected = Int32Array.from(selection.nodes, (n) => nodeNo.get(n)!);
    const externals = Int32Array.from(
      [...index.values()]
        .map((e) => e.external[0])
        .filter((i): i is number => i !== undefined)
        .sort((x, y) => naturalCompare(agents[x]!.node, agents[y]!.node)),
    );
    let packed: Packed | undefined;
    const listUnits = (): Units => {
      const { from, to } = selection.pairs;
      packed ??= packPairs(from, to, universe.length, concurrency);
      return { kind: "list", from, to, packed };
    };
    this.combos = variants(spec);
    const provider = opts.serviceProvider;
    this.blocks = [];
    for (const scenario of spec.scenarios) {
      const shape = SCENARIO_SHAPES[scenario];
      if (shape.serviceKind) {
        if (!provider) {
          notes.add("refused", scenario, undefined, 0, `${scenario}: no service provider is configured (the lab provides iptables DNAT, Kubernetes provides Services)`);
          continue;
        }
        if (!provider.kinds.includes(shape.serviceKind)) {
          notes.add("refused", scenario, undefined, 0, `${scenario}: needs a ${shape.serviceKind} service, the service provider offers ${provider.kinds.join(", ") || "none"}`);
          continue;
        }
      }
      // Why a tool cannot take this scenario's path (ping has no port to forward; qperf's data port does not survive a NodePort).
      const cannot = (v: Variant): string | undefined =>
        shape.via === "direct"
          ? undefined
          : (drivers[v.tool].capabilities.cannotCross[shape.via] ??
            (v.family !== "ipv4" && !(provider?.families ?? ["ipv4"]).includes(v.family)
              ? `${scenario}: the service provider offers no ${v.family === "ipv6" ? "IPv6" : v.family} services${provider?.familiesNote ? ` (${provider.familiesNote})` : ""}`
              : undefined));
      // What `crosscheck` adds belongs to the cross-checked rows only.
      const rowHas = (v: Variant): boolean => !v.crosscheck || crosschecked(spec, scenario);
      const pick = (mode: "host" | "pod" | "external", nth: number): Int32Array => Int32Array.from(universe, (n) => index.get(n)?.[mode][nth] ?? -1);
      const block: Block = {
        shape,
        units:
          shape.placement === "cross"
            ? mesh
              ? { kind: "mesh", nodes: selected }
              : listUnits()
            : shape.placement === "same"
              ? { kind: "same", nodes: selected }
              : { kind: "external", externals, nodes: selected },
        clientOf: shape.placement === "same" ? pick("pod", 0) : shape.placement === "cross" ? pick(shape.clientMode, 0) : new Int32Array(0),
        serverOf: shape.placement === "same" ? pick("pod", 1) : pick(shape.serverMode, 0),
        combos: [],
      };
      const runnable = this.combos.filter((v) => rowHas(v) && !v.skip && cannot(v) === undefined).length;
      const { units, problems } = this.endpointProblems(block, selection.nodes.length, externals.length);
      for (const p of problems) notes.add("refused", scenario, undefined, p.count * runnable, `${scenario}: ${p.reason}`);
      if (units === 0) continue;
      this.combos.forEach((v, k) => {
        if (!rowHas(v)) return;
        const why = v.skip ?? cannot(v);
        if (why !== undefined) notes.add("skipped", scenario, v.tool, units, why);
        else block.combos.push(k);
      });
      this.blocks.push(block);
    }
    this.hostHost = this.blocks.find((b) => b.shape.name === "host-host");
    // Segments, in spec order, with what cannot run for want of a tool noted (aggregated per agent).
    this.segments = [];
    for (const b of this.blocks) {
      for (const k of b.combos) {
        const v = this.combos[k]!;
        if (v.family !== "ipv4") this.familyNotes(b, v, notes);
        const cases = this.toolNotes(b, v, notes);
        if (cases === 0) continue;
        this.segments.push(this.segment(b, k, cases));
      }
    }
    this.segmentStart = [0];
    for (const s of this.segments) this.segmentStart.push(this.segmentStart[this.segmentStart.length - 1]! + s.rounds);
    const perRep = this.segmentStart[this.segmentStart.length - 1]!;
    const cases = this.segments.reduce((n, s) => n + s.cases, 0);
    const repMs = this.segments.reduce((ms, s) => ms + s.rounds * s.roundMs, 0);
    this.refused = notes.list();
    this.totals = {
      cases,
      caseRuns: cases * repetitions,
      roundsPerRepetition: perRep,
      rounds: perRep * repetitions,
      estimatedMs: repMs * repetitions,
    };
  }

  /** The agent index of unit `u`'s client and server in block `b` (−1 where a role is not filled), for listing. */
  private roles(b: Block, x: number, y: number, external = -1): [number, number] {
    if (b.shape.placement === "external") return [external, b.serverOf[y]!];
    return [b.clientOf[x]!, b.serverOf[y]!];
  }

  /**
   * Units lost for want of an agent or an address, as the old pair-by-pair
   * planner reported them (reason, names in first-seen order, count), and
   * the units that remain. Arithmetic for a mesh; one pass over the units
   * otherwise.
   */
  private endpointProblems(b: Block, selectedNodes: number, externalCount: number): { units: number; problems: { count: number; reason: string }[] } {
    const { shape } = b;
    const noAgent = (mode: string) => `no ${mode} agent (the ${mode}-network DaemonSet is not running there)`;
    const noAddress = "registered no address (start it with --address IP)";
    const lost = new Map<string, { count: number; names: Map<string, number> }>();
    /** `count` units lost for `why`, naming `name`, first seen at unit position `at`. */
    const lose = (why: string, name: string, count: number, at: number): void => {
      if (count <= 0) return;
      let e = lost.get(why);
      if (!e) lost.set(why, (e = { count: 0, names: new Map() }));
      e.count += count;
      const seen = e.names.get(name);
      if (seen === undefined || at < seen) e.names.set(name, at);
    };
    const u = b.units;
    let units = 0;
    const agentId = (i: number): string => this.agents[i]!.id;
    if (u.kind === "mesh" || u.kind === "list") {
      if ((u.kind === "mesh" ? u.nodes.length : u.from.length) < (u.kind === "mesh" ? 2 : 1)) {
        return { units: 0, problems: [{ count: 0, reason: `needs at least two nodes to pair; the selection has ${selectedNodes}` }] };
      }
    }
    if (u.kind === "mesh") {
      const nodes = u.nodes;
      const m = nodes.length;
      // Client-major order: unit (i, j) sits at position i·(m−1) + (j < i ? j : j − 1).
      const pos = (i: number, j: number): number => i * (m - 1) + (j < i ? j : j - 1);
      const withClient: number[] = [];
      for (let i = 0; i < m; i++) {
        const x = nodes[i]!;
        if (b.clientOf[x]! < 0) lose(noAgent(shape.clientMode), this.universe[x]!, m - 1, pos(i, i === 0 ? 1 : 0));
        else withClient.push(i);
      }
      const first = withClient[0];
      const second = withClient[1];
      for (let j = 0; j < m; j++) {
        const y = nodes[j]!;
        const s = b.serverOf[y]!;
        // Units with a client on another node than j.
        const clients = withClient.length - (b.clientOf[y]! >= 0 ? 1 : 0);
        const i = first === j ? second : first;
        if (clients === 0 || i === undefined) continue;
        if (s < 0) lose(noAgent(shape.serverMode), this.universe[y]!, clients, pos(i, j));
        else if (!this.hasAddress[s]) lose(noAddress, agentId(s), clients, pos(i, j));
        else units += clients;
      }
    } else if (u.kind === "list") {
      for (let p = 0; p < u.from.length; p++) {
        const c = b.clientOf[u.from[p]!]!;
        const s = b.serverOf[u.to[p]!]!;
        if (c < 0) lose(noAgent(shape.clientMode), this.universe[u.from[p]!]!, 1, p);
        else if (s < 0) lose(noAgent(shape.serverMode), this.universe[u.to[p]!]!, 1, p);
        else if (!this.hasAddress[s]) lose(noAddress, agentId(s), 1, p);
        else units++;
      }
    } else if (u.kind === "same") {
      if (u.nodes.length === 0) return { units: 0, problems: [{ count: 0, reason: "no node is selected" }] };
      u.nodes.forEach((x, p) => {
        const c = b.clientOf[x]!;
        const s = b.serverOf[x]!;
        if (c < 0 || s < 0) lose("fewer than two pod agents (the chart runs the pod variant as two DaemonSets)", this.universe[x]!, 1, p);
        else if (!this.hasAddress[s]) lose(noAddress, agentId(s), 1, p);
        else units++;
      });
    } else {
      if (externalCount === 0) {
        return { units: 0, problems: [{ count: 0, reason: "no external agent is registered (run `netmatrix agent --mode external` on a machine outside the cluster)" }] };
      }
      const m = u.nodes.length;
      u.nodes.forEach((y, p) => {
        const s = b.serverOf[y]!;
        if (s < 0) lose(noAgent(shape.serverMode), this.universe[y]!, externalCount, p);
        else if (!this.hasAddress[s]) lose(noAddress, agentId(s), externalCount, p);
        else units += externalCount;
      });
      void m;
    }
    const unit = shape.placement === "cross" ? "node pairs" : shape.placement === "same" ? "nodes" : "external → node pairs";
    const firstAt = (e: { names: Map<string, number> }): number => Math.min(...e.names.values());
    const problems = [...lost.entries()]
      .sort(([, a], [, b2]) => firstAt(a) - firstAt(b2))
      .map(([why, e]) => {
        const subject = why.startsWith("registered") ? "agent(s)" : "node(s)";
        const names = [...e.names.entries()].sort((a, b2) => a[1] - b2[1]).map(([n]) => n);
        return { count: e.count, reason: `${subject} ${short(names)}: ${why}; ${e.count} ${unit} not planned` };
      });
    return { units, problems };
  }

  /** Whether agent `c` (client) and `s` (server) can run variant `v`: both present, the server addressed, the tool on each end that needs it. */
  private canRun(c: number, s: number, v: Variant): boolean {
    if (c < 0 || s < 0 || !this.hasAddress[s] || !this.fam(v, c) || !this.fam(v, s)) return false;
    const bit = TOOL_BIT[v.tool];
    return (this.mask[c]! & bit) !== 0 && (!drivers[v.tool].needsServer || (this.mask[s]! & bit) !== 0);
  }

  /**
   * Note the units of (b, v) that cannot run for want of the tool, blaming
   * the client when it lacks it, else the server (as the old planner did,
   * counted per agent, in first-seen order); returns the units that can run.
   */
  private toolNotes(b: Block, v: Variant, notes: RefusalLog): number {
    const bit = TOOL_BIT[v.tool];
    const { needsServer, debianPackage } = drivers[v.tool];
    const blamed = new Map<number, { count: number; at: number }>();
    const blame = (agent: number, count: number, at: number): void => {
      if (count <= 0) return;
      const e = blamed.get(agent);
      if (e) {
        e.count += count;
        e.at = Math.min(e.at, at);
      } else blamed.set(agent, { count, at });
    };
    const has = (a: number): boolean => (this.mask[a]! & bit) !== 0;
    // Endpoints without the case's family are left out here (familyNotes counts them).
    const present = (c: number): boolean => c >= 0 && this.fam(v, c);
    const serves = (s: number): boolean => s >= 0 && this.hasAddress[s] === 1 && this.fam(v, s);
    let ok = 0;
    const u = b.units;
    if (u.kind === "mesh") {
      const nodes = u.nodes;
      const m = nodes.length;
      const pos = (i: number, j: number): number => i * (m - 1) + (j < i ? j : j - 1);
      // Per node: a client present (with the tool?), a server that serves (with the tool?).
      let clientsWithTool = 0;
      let servers = 0;
      const firstWithTool: number[] = [];
      for (let i = 0; i < m; i++) {
        const c = b.clientOf[nodes[i]!]!;
        if (present(c) && has(c)) {
          clientsWithTool++;
          if (firstWithTool.length < 2) firstWithTool.push(i);
        }
        if (serves(b.serverOf[nodes[i]!]!)) servers++;
      }
      let firstServer = -1;
      let secondServer = -1;
      for (let j = 0; j < m && secondServer < 0; j++) {
        if (serves(b.serverOf[nodes[j]!]!)) {
          if (firstServer < 0) firstServer = j;
          else secondServer = j;
        }
      }
      for (let i = 0; i < m; i++) {
        const x = nodes[i]!;
        const c = b.clientOf[x]!;
        const s = b.serverOf[x]!;
        const selfServes = serves(s) ? 1 : 0;
        // As a client without the tool: every unit it has a serving partner in.
        if (present(c) && !has(c)) {
          const j = firstServer === i ? secondServer : firstServer;
          if (j >= 0) blame(c, servers - selfServes, pos(i, j));
        }
        if (selfServes) {
          const clients = clientsWithTool - (present(c) && has(c) ? 1 : 0);
          if (needsServer && !has(s)) {
            const k = firstWithTool[0] === i ? firstWithTool[1] : firstWithTool[0];
            if (k !== undefined) blame(s, clients, pos(k, i));
          } else ok += clients;
        }
      }
    } else {
      let p = 0;
      this.eachUnit(b, (c, s) => {
        if (present(c) && serves(s)) {
          if (!has(c)) blame(c, 1, p);
          else if (needsServer && !has(s)) blame(s, 1, p);
          else ok++;
        }
        p++;
      });
    }
    for (const [agent] of [...blamed.entries()].sort((a, b2) => a[1].at - b2[1].at)) {
      const missing = this.agents[agent]!;
      const problem = missing.toolProblems?.[v.tool];
      notes.add(
        "refused",
        b.shape.name,
        v.tool,
        blamed.get(agent)!.count,
        problem ? `${v.tool} cannot run on agent ${missing.id}: ${problem}` : `${v.tool} is missing on agent ${missing.id}; install the Debian package "${debianPackage}"`,
      );
    }
    return ok;
  }

  /** Whether agent `a` has an address of `v`'s family (IPv4: as before families, any address). */
  private fam(v: Variant, a: number): boolean {
    return v.family === "ipv4" || this.hasIpv6[a] === 1;
  }

  /**
   * Note the units of (b, v) whose client or server has no address of v's
   * family (the server blamed first), as skipped with the fix. O(nodes) for a
   * mesh, one pass over the units otherwise.
   */
  private familyNotes(b: Block, v: Variant, notes: RefusalLog): void {
    const lost = new Map<number, number>();
    const blame = (a: number, n: number): void => {
      if (n > 0) lost.set(a, (lost.get(a) ?? 0) + n);
    };
    const u = b.units;
    const addressed = (s: number): boolean => s >= 0 && this.hasAddress[s] === 1;
    if (u.kind === "mesh") {
      let clients = 0;
      let serversWithFamily = 0;
      for (const x of u.nodes) {
        if (b.clientOf[x]! >= 0) clients++;
        const s = b.serverOf[x]!;
        if (addressed(s) && this.fam(v, s)) serversWithFamily++;
      }
      for (const x of u.nodes) {
        const c = b.clientOf[x]!;
        const s = b.serverOf[x]!;
        if (addressed(s) && !this.fam(v, s)) blame(s, clients - (c >= 0 ? 1 : 0));
        if (c >= 0 && !this.fam(v, c)) blame(c, serversWithFamily - (addressed(s) && this.fam(v, s) ? 1 : 0));
      }
    } else {
      this.eachUnit(b, (c, s) => {
        if (c < 0 || !addressed(s)) return;
        if (!this.fam(v, s)) blame(s, 1);
        else if (!this.fam(v, c)) blame(c, 1);
      });
    }
    for (const [a, n] of lost) {
      const agent = this.agents[a]!;
      const who = agent.mode === "host" ? agent.node : agent.id;
      notes.add("skipped", b.shape.name, v.tool, n, `${who} has no ${v.family === "ipv6" ? "IPv6" : v.family} address: run the lab with --ipv6 / enable dual stack`);
    }
  }

  /** Every unit of a non-mesh block in listing order, as (client agent, server agent, client node, server node); nodes are universe numbers, −1 for an external client. */
  private eachUnit(b: Block, f: (c: number, s: number, x: number, y: number) => void): void {
    const u = b.units;
    if (u.kind === "list") for (let p = 0; p < u.from.length; p++) f(b.clientOf[u.from[p]!]!, b.serverOf[u.to[p]!]!, u.from[p]!, u.to[p]!);
    else if (u.kind === "same") for (const x of u.nodes) f(b.clientOf[x]!, b.serverOf[x]!, x, x);
    else if (u.kind === "external") for (const e of u.externals) for (const y of u.nodes) f(e, b.serverOf[y]!, -1, y);
    else {
      const n = u.nodes;
      for (const x of n) for (const y of n) if (x !== y) f(b.clientOf[x]!, b.serverOf[y]!, x, y);
    }
  }

  /** The rounds of one (block, combination) per repetition. */
  private segment(block: Block, combo: number, cases: number): Segment {
    const v = this.combos[combo]!;
    const K = this.concurrency;
    const roundMs = drivers[v.tool].runMs({ durationS: v.durationS, omitS: v.omitS }) + CASE_OVERHEAD_MS;
    const u = block.units;
    const base = { block, combo, roundMs, cases };
    switch (u.kind) {
      case "mesh": {
        const m = u.nodes.length;
        const colours = m % 2 === 0 ? m - 1 : m;
        const pairs = m >> 1;
        const chunks = Math.ceil(pairs / K);
        return { ...base, width: Math.min(K, pairs), chunks, rounds: 2 * colours * chunks };
      }
      case "list":
        return { ...base, width: K, chunks: 1, rounds: u.packed.start.length - 1 };
      case "same":
        return { ...base, width: K, chunks: 1, rounds: Math.ceil(u.nodes.length / K) };
      case "external": {
        const E = u.externals.length;
        const m = u.nodes.length;
        const chunks = Math.ceil(Math.min(E, m) / K);
        return { ...base, width: Math.min(K, E, m), chunks, rounds: Math.max(E, m) * chunks };
      }
    }
  }

  /** Ids of the agents a block gives a role to (on the selected nodes; external clients), for the busy check before a run. */
  involvedAgents(): Set<string> {
    const ids = new Set<string>();
    const add = (i: number): void => {
      if (i >= 0) ids.add(this.agents[i]!.id);
    };
    for (const b of this.blocks) {
      const u = b.units;
      const nodes = u.kind === "list" ? [...u.from, ...u.to] : u.nodes;
      for (const x of nodes) {
        if (b.clientOf.length) add(b.clientOf[x]!);
        add(b.serverOf[x]!);
      }
      if (u.kind === "external") u.externals.forEach(add);
    }
    return ids;
  }

  /** Round `k` of the whole run (0 ≤ k < totals.rounds): repetition-major, each repetition's order rotated by its number. */
  round(k: number): StreamRound {
    const R = this.totals.roundsPerRepetition;
    if (!Number.isInteger(k) || k < 0 || k >= R * this.repetitions) throw new RangeError(`round ${k} is outside 0..${R * this.repetitions - 1}`);
    const repetition = Math.floor(k / R);
    const local = ((k % R) + repetition) % R;
    const s = this.segmentAt(local);
    const seg = this.segments[s]!;
    return { repetition, cases: this.roundCases(seg, local - this.segmentStart[s]!), ms: seg.roundMs };
  }

  /** Estimated duration of round `k`, ms (without making its cases). */
  roundMs(k: number): number {
    const R = this.totals.roundsPerRepetition;
    const repetition = Math.floor(k / R);
    return this.segments[this.segmentAt(((k % R) + repetition) % R)]!.roundMs;
  }

  /** How many rounds, from the first, fit in `budgetMs` (estimated), and their duration. O(repetitions × segments). */
  roundsWithin(budgetMs: number): { rounds: number; ms: number } {
    const R = this.totals.roundsPerRepetition;
    let rounds = 0;
    let ms = 0;
    for (let rep = 0; rep < this.repetitions; rep++) {
      // Repetition rep runs local rounds rep, rep+1, …, wrapping: walk the segments in that order.
      for (let step = 0; step < R;) {
        const local = (step + rep) % R;
        const s = this.segmentAt(local);
        const seg = this.segments[s]!;
        const left = Math.min(this.segmentStart[s + 1]! - local, R - step);
        const fit = Math.min(left, Math.floor((budgetMs - ms) / seg.roundMs));
        rounds += fit;
        ms += fit * seg.roundMs;
        if (fit < left) return { rounds, ms };
        step += left;
      }
    }
    return { rounds, ms };
  }

  private segmentAt(local: number): number {
    // The last segment whose start ≤ local.
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segmentStart[mid]! <= local) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The cases of round `r` of a segment, in unit order; units that cannot run are left out. */
  private roundCases(seg: Segment, r: number): PlannedCase[] {
    const out: PlannedCase[] = [];
    const b = seg.block;
    const v = this.combos[seg.combo]!;
    const add = (x: number, y: number, external = -1): void => {
      const [c, s] = this.roles(b, x, y, external);
      if (this.canRun(c, s, v)) out.push(this.makeCase(b, seg.combo, c, s, x, y));
    };
    const u = b.units;
    if (u.kind === "mesh") {
      const nodes = u.nodes;
      const m = nodes.length;
      const colours = m % 2 === 0 ? m - 1 : m;
      const perDir = colours * seg.chunks;
      const reverse = r >= perDir;
      const rem = r % perDir;
      const colour = Math.floor(rem / seg.chunks);
      const chunk = rem % seg.chunks;
      const pairs = m >> 1;
      const end = Math.min(pairs, (chunk + 1) * this.concurrency);
      for (let p = chunk * this.concurrency; p < end; p++) {
        // Even m: pair 0 is colour c with the fixed node (position m−1); pair i ≥ 1 is c+i with c−i. Odd m: the fixed node is the missing one.
        const i = m % 2 === 0 ? p : p + 1;
        let a: number;
        let z: number;
        if (i === 0) {
          a = colour;
          z = m - 1;
        } else {
          a = (colour + i) % colours;
          z = (colour - i + colours) % colours;
        }
        if (a > z) [a, z] = [z, a];
        if (reverse) add(nodes[z]!, nodes[a]!);
        else add(nodes[a]!, nodes[z]!);
      }
    } else if (u.kind === "list") {
      for (let q = u.packed.start[r]!; q < u.packed.start[r + 1]!; q++) {
        const p = u.packed.members[q]!;
        add(u.from[p]!, u.to[p]!);
      }
    } else if (u.kind === "same") {
      const end = Math.min(u.nodes.length, (r + 1) * this.concurrency);
      for (let p = r * this.concurrency; p < end; p++) add(u.nodes[p]!, u.nodes[p]!);
    } else {
      const E = u.externals.length;
      const m = u.nodes.length;
      const L = Math.max(E, m);
      const raw = Math.floor(r / seg.chunks);
      const chunk = r % seg.chunks;
      let seen = 0;
      const from = chunk * this.concurrency;
      const to = from + this.concurrency;
      for (let e = 0; e < E && seen < to; e++) {
        const n = (raw + e) % L;
        if (n >= m) continue;
        if (seen++ >= from) add(-1, u.nodes[n]!, u.externals[e]!);
      }
    }
    return out;
  }

  /** Every case in plan order: scenarios in spec order, then combinations, then units in selection order (client-major pairs). */
  *listing(): Generator<PlannedCase, void, void> {
    for (const seg of this.segments) {
      const b = seg.block;
      const v = this.combos[seg.combo]!;
      const out: PlannedCase[] = [];
      this.eachUnit(b, (c, s, x, y) => {
        if (this.canRun(c, s, v)) out.push(this.makeCase(b, seg.combo, c, s, x, y));
      });
      yield* out;
    }
  }

  private nodeLanes(agent: number, universeNode: number): [number, number] {
    if (universeNode >= 0) return this.nodeHash[universeNode]!;
    const node = this.agents[agent]!.node;
    let h = this.agentNodeHash.get(node);
    if (!h) this.agentNodeHash.set(node, (h = hash64(node)));
    return h;
  }

  /** The case of block `b`, combination `combo`, client agent c on node x, server agent s on node y. */
  private makeCase(b: Block, combo: number, c: number, s: number, x: number, y: number): PlannedCase {
    const v = this.combos[combo]!;
    const ca = this.agents[c]!;
    const sa = this.agents[s]!;
    const prefix = `${b.shape.name}/${v.paramKey}/`;
    let p = this.prefixHash.get(prefix);
    if (!p) this.prefixHash.set(prefix, (p = hash64(prefix)));
    const hc = this.nodeLanes(c, x);
    const hs = this.nodeLanes(s, y);
    const l1 = joinLane1(p[0], joinLane1(hc[0], hs[0]));
    const l2 = joinLane2(p[1], joinLane2(hc[1], hs[1]));
    const hh = this.hostHost;
    let baselineKey: string | undefined;
    if (hh && b !== hh && b.shape.placement === "cross" && hh.combos.includes(combo) && this.canRun(hh.clientOf[x]!, hh.serverOf[y]!, v)) {
      baselineKey = `host-host/${v.paramKey}/${ca.node}→${sa.node}`;
    }
    return {
      id: hex12(l1, l2),
      key: `${prefix}${ca.node}→${sa.node}`,
      scenario: b.shape.name,
      client: ca.id,
      server: sa.id,
      via: b.shape.via,
      clientNode: ca.node,
      serverNode: sa.node,
      tool: v.tool,
      protocol: v.protocol,
      direction: v.direction,
      parallel: v.parallel,
      lengthBytes: v.lengthBytes,
      bitrateBps: v.bitrateBps,
      durationS: v.durationS,
      omitS: v.omitS,
      ...(v.httpMode !== undefined ? { httpMode: v.httpMode } : {}),
      ...(v.connections !== undefined ? { connections: v.connections } : {}),
      ...(v.bodyBytes !== undefined ? { bodyBytes: v.bodyBytes } : {}),
      ...(v.messageRatePerS !== undefined ? { messageRatePerS: v.messageRatePerS } : {}),
      ...(v.mssBytes !== undefined ? { mssBytes: v.mssBytes } : {}),
      ...(v.ladder ? { ladder: v.ladder } : {}),
      ...(v.family !== "ipv4" ? { family: v.family } : {}),
      baselineKey,
    };
  }
}

/**
 * Case ids are 48 bits of the key's hash; two keys of one plan sharing them
 * is rare but possible. As cases stream out (every case appears once in
 * repetition 0, in a fixed order), the first keeps its id and a later one
 * gets the fingerprint of "key#2" (#3, …); later repetitions look it up.
 * Memory: 8 bytes per case seen.
 */
export class CaseIds {
  private readonly seen: NumberSet;
  private readonly renamed = new Map<string, string>();
  private readonly taken = new Set<string>();

  constructor(cases: number) {
    this.seen = new NumberSet(Math.max(16, cases));
  }

  /** `c` with its id made unique (in place); `first` when this is the case's first appearance (repetition 0). */
  fix(c: PlannedCase, first: boolean): PlannedCase {
    const renamed = this.renamed.get(c.key);
    if (renamed) {
      c.id = renamed;
      return c;
    }
    if (!first) return c;
    const bits = Number.parseInt(c.id, 16); // 12 hex digits: 48 bits, exact in a double
    if (!this.seen.has(bits)) {
      this.seen.add(bits);
      return c;
    }
    for (let n = 2; ; n++) {
      const id = fingerprint(`${c.key}#${n}`);
      if (!this.taken.has(id)) {
        this.taken.add(id);
        this.renamed.set(c.key, id);
        c.id = id;
        return c;
      }
    }
  }
}

/** A streaming plan (see PlanStream). */
export function planStream(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): PlanStream {
  return new PlanStream(spec, agents, opts);
}
