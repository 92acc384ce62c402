/**
 * Live samples, shared: a watcher (the CLI's `watch`, a browser) names nodes
 * and interfaces and an interval; the hub keeps one live stream per agent,
 * however many watch it, and hands each watcher what changed at the
 * watcher's own pace.
 *
 * - One stream per agent: the hub asks every agent some watcher names
 *   (present and future) to stream at the fastest interval any of them wants,
 *   with an interface filter that covers them all; it asks again when that
 *   changes and stops the stream when nobody watches the agent any more.
 *   Filtering per watcher happens here: interface lists are short and a
 *   cached name check costs next to nothing, while one stream instead of one
 *   per watcher halves (or better) what every agent samples, encodes and
 *   sends, and what the coordinator decodes: that is where the CPU goes at
 *   thousands of agents.
 * - Aggregated at ingestion: a batch is folded into the agent's newest record
 *   (its newest sample, and running time-weighted sums of every rate, so any
 *   window's mean is a subtraction). Nothing is fanned out when it arrives.
 * - Per watcher, a timer sends, once per the watcher's interval for each
 *   agent it watches that sampled since its last send, one sample: the
 *   newest, or the mean over the samples since when the agent sampled faster
 *   (another watcher wanted it faster, or the watcher skipped ticks), with
 *   only the interfaces it asked for. The timer runs four times per interval
 *   (100 ms to 1 s apart, see tickMs), each run sending the agents that are
 *   due, so a sample waits a quarter interval at most rather than a whole
 *   one. A tick is sent whole, or, when the transport is backed up, skipped
 *   (counted); it never waits behind earlier ones, so a watcher that stops
 *   reading costs a remembered record per agent and delays nobody.
 *
 * Every sample keeps the agent's `wallMs` (end of its interval): a watcher's
 * lag is its receive time minus that.
 */
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { InterfaceFilterSchema, InterfaceRateSchema, type InterfaceFilter, type InterfaceRate, type NetworkMode, type NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import type { SampleBatch } from "../../gen/netmatrix/v1/agent_pb.js";
import type { AgentLink } from "./agent-link.js";
import type { Registry } from "./registry.js";

export interface WatchFilter {
  /** Node name glob ("*" wildcards); empty = all nodes. */
  node?: string;
  filter?: InterfaceFilter;
  intervalMs: number;
}

/** One agent's samples of one tick. */
export interface LiveBatch {
  agentId: string;
  node: string;
  mode: NetworkMode;
  samples: NodeSample[];
}

/** Where a watcher's ticks go: a gRPC call, a WebSocket. */
export interface WatchSink {
  /** Whether the transport takes a tick now; false skips this tick (counted): nothing is queued. */
  ready(): boolean;
  /** One tick: each agent that sampled since the last one, once. Never empty. */
  send(batches: LiveBatch[]): void;
}

export interface WatcherStats {
  id: number;
  node: string;
  intervalMs: number;
  /** Agents it watches now. */
  agents: number;
  /** Regular ticks so far, and how many of them were skipped because the transport was backed up. */
  ticks: number;
  skipped: number;
  /** Ticks (regular or first-sample) handed to the transport, and the agent samples in them. */
  sent: number;
  samples: number;
}

export interface WatchHandle {
  stop(): void;
  stats(): WatcherStats;
}

export interface HubStats {
  /** Agents some watcher watches, and how many streams the hub asked of agents (one per agent at most). */
  agents: number;
  streams: number;
  /** Sample batches and samples taken from agents. */
  batches: number;
  samples: number;
  watchers: WatcherStats[];
}

/** What a watcher may ask (the `watch` command's own bounds; the web feed's too). */
export const WATCH_LIMITS = { minIntervalMs: 100, maxIntervalMs: 60_000, maxGlobChars: 256, maxPatterns: 64, maxPatternChars: 64 } as const;

/** Why a watch request is refused, or undefined. `intervalMs` 0 means the default. */
export function watchProblem(req: { node: string; intervalMs: number; include: readonly string[]; exclude: readonly string[] }): string | undefined {
  const L = WATCH_LIMITS;
  if (!Number.isInteger(req.intervalMs) || (req.intervalMs !== 0 && (req.intervalMs < L.minIntervalMs || req.intervalMs > L.maxIntervalMs))) {
    return `interval ${req.intervalMs} ms is outside ${L.minIntervalMs}..${L.maxIntervalMs} ms`;
  }
  if (req.node.length > L.maxGlobChars) return `the node pattern is ${req.node.length} characters long, more than ${L.maxGlobChars}`;
  for (const [what, list] of [
    ["include", req.include],
    ["exclude", req.exclude],
  ] as const) {
    if (list.length > L.maxPatterns) return `${list.length} ${what} patterns, more than ${L.maxPatterns}`;
    const long = list.find((p) => p.length > L.maxPatternChars);
    if (long !== undefined) return `an ${what} pattern is ${long.length} characters long, more than ${L.maxPatternChars}`;
  }
  return undefined;
}

/**
 * Whether `name` matches `glob` (`*` matches any run of characters, the rest
 * is literal), in time linear in their product at worst: no RegExp, so a
 * hostile pattern of many stars cannot backtrack exponentially.
 */
export function globMatches(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (g < glob.length && glob[g] !== "*" && glob[g] === name[n]) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === "*") {
      star = g++;
      resume = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++resume;
    } else return false;
  }
  while (g < glob.length && glob[g] === "*") g++;
  return g === glob.length;
}

/** An interface filter as the agent reads it: comma-separated entries split, blanks dropped; no exclude list means "lo". */
interface Patterns {
  /** Empty: every interface. */
  include: string[];
  exclude: string[];
}

/** The agent's own default exclude list (agent/src/samplers/filter.ts). */
const DEFAULT_EXCLUDE = ["lo"];
/**
 * An exclude pattern no interface name matches (Linux refuses "/" in one):
 * "exclude nothing", which an empty list cannot say (it means "lo").
 */
const EXCLUDE_NOTHING = "/";

function patterns(f: InterfaceFilter | undefined): Patterns {
  const split = (list: readonly string[]): string[] => [...new Set(list.flatMap((e) => e.split(",")).map((p) => p.trim()))].filter((p) => p !== "").sort();
  const include = split(f?.include ?? []);
  return { include: include.includes("*") ? [] : include, exclude: f?.exclude.length ? split(f.exclude) : DEFAULT_EXCLUDE };
}

/** Most interface names a watcher remembers verdicts for before it starts over (veths come and go). */
const VERDICTS_MAX = 4096;

/** The stream filter covering every watcher's: the union of what they include, excluding only what all of them exclude. */
function coveringFilter(all: Iterable<Patterns>): Patterns {
  let include: Set<string> | undefined = new Set();
  let exclude: Set<string> | undefined;
  for (const p of all) {
    if (include && p.include.length === 0) include = undefined;
    else if (include) for (const g of p.include) include.add(g);
    exclude = exclude ? new Set(p.exclude.filter((g) => exclude!.has(g))) : new Set(p.exclude);
  }
  const inc = include && include.size <= WATCH_LIMITS.maxPatterns ? [...include].sort() : [];
  const exc = exclude?.size ? [...exclude].sort() : [EXCLUDE_NOTHING];
  return { include: inc, exclude: exc };
}

/** The rates of an InterfaceRate, averaged over a window (the totals are the newest sample's). */
const IFACE_RATES = ["rxBps", "txBps", "rxPps", "txPps", "rxDropsPerS", "txDropsPerS", "rxErrorsPerS", "txErrorsPerS"] as const;
/** The figures of a CpuUsage averaged over a window (besides perCorePercent; procsRunning is the newest). */
const CPU_FIGURES = ["totalPercent", "userPercent", "systemPercent", "softirqPercent", "irqPercent", "iowaitPercent", "stealPercent"] as const;

/** Which slot of a record's sums holds what: the sample's interfaces in order, then the CPU. */
interface Layout {
  names: string[];
  /** Per-core entries; -1: the samples carry no CPU. */
  cores: number;
}

/**
 * An agent's newest state: its newest sample and, since the chain began
 * (the first sample, or the last change of its interfaces), time-weighted
 * sums (value × interval ms) of every rate and the sum of the intervals.
 * Immutable: a watcher keeps the record it last sent from, and the mean
 * since is (newer.sums − kept.sums) / (newer.ms − kept.ms).
 */
interface Rec {
  /** Identity of the chain: records of one layout object can be subtracted. */
  layout: Layout;
  /** Samples folded in since the agent's state began. */
  seq: number;
  sums: Float64Array;
  ms: number;
  sample: NodeSample;
}

function sameLayout(l: Layout, s: NodeSample): boolean {
  if (l.names.length !== s.interfaces.length || l.cores !== (s.cpu ? s.cpu.perCorePercent.length : -1)) return false;
  for (let i = 0; i < l.names.length; i++) if (l.names[i] !== s.interfaces[i]!.name) return false;
  return true;
}

function slots(l: Layout): number {
  return l.names.length * IFACE_RATES.length + (l.cores < 0 ? 0 : CPU_FIGURES.length + l.cores);
}

const finite = (v: number): number => (Number.isFinite(v) ? v : 0);

/** `rec` with `samples` folded in (a new record; `rec` is left as it is). */
function fold(rec: Rec | undefined, samples: readonly NodeSample[]): Rec | undefined {
  let layout = rec?.layout;
  let sums = rec?.sums;
  let owned = false;
  let ms = rec?.ms ?? 0;
  let seq = rec?.seq ?? 0;
  let last: NodeSample | undefined;
  for (const s of samples) {
    if (!layout || !sameLayout(layout, s)) {
      layout = { names: s.interfaces.map((i) => i.name), cores: s.cpu ? s.cpu.perCorePercent.length : -1 };
      sums = new Float64Array(slots(layout));
      owned = true;
      ms = 0;
    } else if (!owned) {
      sums = sums!.slice();
      owned = true;
    }
    const w = Math.max(0, finite(s.intervalMs));
    let k = 0;
    for (const i of s.interfaces) for (const f of IFACE_RATES) sums![k++]! += w * finite(i[f]);
    if (s.cpu) {
      for (const f of CPU_FIGURES) sums![k++]! += w * finite(s.cpu[f]);
      for (const v of s.cpu.perCorePercent) sums![k++]! += w * finite(v);
    }
    ms += w;
    seq++;
    last = s;
  }
  return last ? { layout: layout!, seq, sums: sums!, ms, sample: last } : rec;
}

/** What a watcher last sent of an agent: from which record, and when (performance.now()). */
interface Sent {
  rec: Rec | undefined;
  at: number;
}

interface Watcher {
  id: number;
  node: string;
  intervalMs: number;
  /** How often its timer runs (see tickMs), and how much sampled time makes an agent's next sample due. */
  tickMs: number;
  dueMs: number;
  patterns: Patterns;
  sink: WatchSink;
  /** Each agent it watches, and what it last sent of it. */
  agents: Map<AgentState, Sent>;
  timer: NodeJS.Timeout | undefined;
  verdicts: Map<string, boolean>;
  ticks: number;
  skipped: number;
  sent: number;
  samples: number;
}

interface AgentState {
  id: string;
  link: AgentLink;
  watchers: Set<Watcher>;
  /** The stream asked of the agent: its id and what was asked. */
  stream: { id: string; key: string } | undefined;
  /** The stream it replaced: its batches still in flight are taken. */
  previousStreamId: string | undefined;
  rec: Rec | undefined;
}

/**
 * How often a watcher's timer runs: a quarter of its interval, between
 * 100 ms and 1 s (never more than the interval). Each run sends the agents
 * whose next sample is due (they sampled a whole interval since their last
 * send, less half a run), so every agent still goes out once per interval,
 * but within a quarter interval of arriving instead of up to a whole one.
 */
export function tickMs(intervalMs: number): number {
  return Math.min(intervalMs, Math.max(WATCH_LIMITS.minIntervalMs, Math.min(1000, intervalMs / 4)));
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  /** Agents some watcher watches, by id. */
  private readonly agents = new Map<string, AgentState>();
  private nextWatcher = 0;
  private nextStream = 0;
  private batches = 0;
  private samples = 0;

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {
    registry.onAdded((link) => this.added(link));
  }

  /** Start watching; its ticks go to `sink`. */
  watch(filter: WatchFilter, sink: WatchSink): WatchHandle {
    const every = tickMs(filter.intervalMs);
    const w: Watcher = {
      id: ++this.nextWatcher,
      node: filter.node ?? "",
      intervalMs: filter.intervalMs,
      tickMs: every,
      dueMs: filter.intervalMs - every / 2,
      patterns: patterns(filter.filter),
      sink,
      agents: new Map(),
      timer: undefined,
      verdicts: new Map(),
      ticks: 0,
      skipped: 0,
      sent: 0,
      samples: 0,
    };
    this.watchers.add(w);
    const touched: AgentState[] = [];
    for (const link of this.registry.list()) {
      if (link.closed || !this.matches(w, link)) continue;
      const s = this.state(link);
      this.join(w, s);
      touched.push(s);
    }
    for (const s of touched) this.restream(s);
    w.timer = setInterval(() => this.tick(w), every);
    this.log.debug({ watcher: w.id, agents: w.agents.size, intervalMs: w.intervalMs }, "watch started");
    return {
      stop: () => this.unwatch(w),
      stats: () => this.watcherStats(w),
    };
  }

  /** What the hub holds and does now (tests, benchmarks). */
  stats(): HubStats {
    let streams = 0;
    for (const s of this.agents.values()) if (s.stream) streams++;
    return { agents: this.agents.size, streams, batches: this.batches, samples: this.samples, watchers: [...this.watchers].map((w) => this.watcherStats(w)) };
  }

  private watcherStats(w: Watcher): WatcherStats {
    return { id: w.id, node: w.node, intervalMs: w.intervalMs, agents: w.agents.size, ticks: w.ticks, skipped: w.skipped, sent: w.sent, samples: w.samples };
  }

  private unwatch(w: Watcher): void {
    if (!this.watchers.delete(w)) return;
    clearInterval(w.timer);
    for (const s of w.agents.keys()) {
      s.watchers.delete(w);
      this.restream(s);
    }
    w.agents.clear();
    this.log.debug({ watcher: w.id, ticks: w.ticks, skipped: w.skipped }, "watch stopped");
  }

  private matches(w: Watcher, link: AgentLink): boolean {
    return !w.node || globMatches(w.node, link.info.node);
  }

  /** The hub's state of `link`'s agent (created, and the link routed here). */
  private state(link: AgentLink): AgentState {
    let s = this.agents.get(link.id);
    if (!s) {
      s = { id: link.id, link, watchers: new Set(), stream: undefined, previousStreamId: undefined, rec: undefined };
      this.agents.set(link.id, s);
    }
    link.onSamples = this.ingest;
    return s;
  }

  private join(w: Watcher, s: AgentState): void {
    s.watchers.add(w);
    w.agents.set(s, { rec: undefined, at: -Infinity });
  }

  /** An agent registered (or re-registered: a new session of the same agent). */
  private added(link: AgentLink): void {
    let s = this.agents.get(link.id);
    if (s && s.link !== link) {
      // A new session: its stream starts afresh, and its samples are a new chain, sent as soon as they come.
      s.link = link;
      s.stream = undefined;
      s.previousStreamId = undefined;
      s.rec = undefined;
      for (const w of s.watchers) w.agents.set(s, { rec: undefined, at: -Infinity });
    }
    for (const w of this.watchers) {
      if (s?.watchers.has(w) || !this.matches(w, link)) continue;
      s ??= this.state(link);
      this.join(w, s);
    }
    if (s) {
      link.onSamples = this.ingest;
      this.restream(s);
    }
  }

  /** Ask the agent for the stream its watchers need now: fastest interval, covering filter; stop it when nobody watches. */
  private restream(s: AgentState): void {
    const link = s.link;
    if (!s.watchers.size) {
      if (s.stream) link.send({ case: "stopStream", value: { streamId: s.stream.id } });
      this.agents.delete(s.id);
      return;
    }
    let intervalMs = Infinity;
    for (const w of s.watchers) intervalMs = Math.min(intervalMs, w.intervalMs);
    const cover = coveringFilter([...s.watchers].map((w) => w.patterns));
    const key = `${intervalMs} ${JSON.stringify(cover)}`;
    if (s.stream?.key === key) return;
    if (s.stream) {
      link.send({ case: "stopStream", value: { streamId: s.stream.id } });
      s.previousStreamId = s.stream.id;
    }
    s.stream = { id: `watch.${++this.nextStream}`, key };
    const filter = create(InterfaceFilterSchema, cover);
    link.send({ case: "startStream", value: { streamId: s.stream.id, intervalMs, filter } });
  }

  /** A batch from an agent: folded into its record; nothing is sent now. */
  private readonly ingest = (link: AgentLink, batch: SampleBatch): void => {
    const s = this.agents.get(link.id);
    if (!s || s.link !== link || !batch.samples.length) return;
    if (batch.streamId !== s.stream?.id && batch.streamId !== s.previousStreamId) return;
    this.batches++;
    this.samples += batch.samples.length;
    s.rec = fold(s.rec, batch.samples);
  };

  /** A run of `w`'s timer: every agent with something new whose next send is due, in one tick. */
  private tick(w: Watcher): void {
    w.ticks++;
    let ready: boolean;
    try {
      ready = w.sink.ready();
    } catch (err) {
      this.log.error({ err, watcher: w.id }, "a watcher's transport failed");
      return;
    }
    if (!ready) {
      // Nothing waits: the next run sends what is newest then.
      w.skipped++;
      return;
    }
    const now = performance.now();
    const out: LiveBatch[] = [];
    const gone: AgentState[] = [];
    for (const [s, sent] of w.agents) {
      if (s.link.closed) {
        gone.push(s);
        continue;
      }
      const rec = s.rec;
      if (!rec || rec === sent.rec || !this.due(w, sent, rec, now)) continue;
      const sample = this.sampleFor(w, sent.rec, rec);
      sent.rec = rec;
      sent.at = now;
      out.push({ agentId: s.id, node: s.link.info.node, mode: s.link.info.mode, samples: [sample] });
    }
    for (const s of gone) this.forget(s);
    if (!out.length) return;
    w.sent++;
    w.samples += out.length;
    try {
      w.sink.send(out);
    } catch (err) {
      // One watcher's failure is its own: the agents and the other watchers go on.
      this.log.error({ err, watcher: w.id }, "a watcher could not take a tick");
    }
  }

  /**
   * Whether `w`'s next sample of an agent is due: what it sampled since the
   * last send covers the watcher's interval (less half a timer run), by the
   * agent's own clock (the samples' intervals), so a sample that completes an
   * interval goes out at the next run whatever the phase of earlier sends;
   * else when a whole interval passed since the last send.
   */
  private due(w: Watcher, sent: Sent, rec: Rec, now: number): boolean {
    const kept = sent.rec;
    return !kept || kept.layout !== rec.layout || rec.ms - kept.ms >= w.dueMs || now - sent.at >= w.intervalMs;
  }

  /** An agent whose session ended (and was not replaced): nobody watches it any more. */
  private forget(s: AgentState): void {
    if (!s.link.closed) return;
    for (const w of s.watchers) w.agents.delete(s);
    s.watchers.clear();
    if (this.agents.get(s.id) === s) this.agents.delete(s.id);
  }

  /** Whether `w` wants interface `name` (verdicts cached). */
  private wants(w: Watcher, name: string): boolean {
    let v = w.verdicts.get(name);
    if (v === undefined) {
      const { include, exclude } = w.patterns;
      v = (include.length === 0 || include.some((g) => globMatches(g, name))) && !exclude.some((g) => globMatches(g, name));
      if (w.verdicts.size >= VERDICTS_MAX) w.verdicts.clear();
      w.verdicts.set(name, v);
    }
    return v;
  }

  /**
   * What `w` gets of an agent whose newest record is `now`, having last sent
   * from `kept`: the newest sample when only it is new (or the chain changed),
   * else the mean since `kept`; with only the interfaces `w` wants. The
   * agent's own objects are passed on when nothing is left out.
   */
  private sampleFor(w: Watcher, kept: Rec | undefined, now: Rec): NodeSample {
    const s = now.sample;
    const ms = kept ? now.ms - kept.ms : 0;
    if (!kept || kept.layout !== now.layout || now.seq - kept.seq === 1 || !(ms > 0)) {
      let all = true;
      for (const i of s.interfaces) if (!this.wants(w, i.name)) all = false;
      return all ? s : { ...s, interfaces: s.interfaces.filter((i) => this.wants(w, i.name)) };
    }
    const d = (k: number): number => (now.sums[k]! - kept.sums[k]!) / ms;
    const interfaces: InterfaceRate[] = [];
    let k = 0;
    for (const i of s.interfaces) {
      if (!this.wants(w, i.name)) {
        k += IFACE_RATES.length;
        continue;
      }
      const r = create(InterfaceRateSchema, { name: i.name, rxBytesTotal: i.rxBytesTotal, txBytesTotal: i.txBytesTotal });
      for (const f of IFACE_RATES) r[f] = d(k++);
      interfaces.push(r);
    }
    let cpu = s.cpu;
    if (cpu) {
      cpu = { ...cpu, perCorePercent: [] };
      for (const f of CPU_FIGURES) cpu[f] = d(k++);
      for (let c = 0; c < s.cpu!.perCorePercent.length; c++) cpu.perCorePercent.push(d(k++));
    }
    return { ...s, intervalMs: ms, interfaces, ...(cpu ? { cpu } : {}) };
  }
}
