/**
 * Live samples, fanned out: a watcher (the CLI's `watch`, a browser) names
 * nodes and interfaces; the hub asks every matching agent, present and
 * future, to stream samples and hands each batch to that watcher. When the
 * watcher leaves, its streams stop; agents sample nothing nobody watches.
 */
import type { Logger } from "pino";
import type { InterfaceFilter, NetworkMode, NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import type { AgentLink } from "./agent-link.js";
import type { Registry } from "./registry.js";

export interface WatchFilter {
  /** Node name glob ("*" wildcards); empty = all nodes. */
  node?: string;
  filter?: InterfaceFilter;
  intervalMs: number;
}

/** One batch of samples from one agent. */
export interface LiveBatch {
  agentId: string;
  node: string;
  mode: NetworkMode;
  samples: NodeSample[];
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

interface Watcher {
  id: number;
  node: string;
  filter: WatchFilter;
  onBatch: (b: LiveBatch) => void;
  links: Set<AgentLink>;
}

export class WatchHub {
  /** Active watchers, and which one each stream id belongs to. */
  private readonly active = new Set<Watcher>();
  private readonly byStream = new Map<string, Watcher>();
  private next = 0;

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {
    registry.onAdded((link) => {
      this.route(link);
      for (const w of this.active) this.attach(w, link);
    });
  }

  /** Route a link's sample batches to the watcher whose stream they belong to. */
  private route(link: AgentLink): void {
    link.onSamples = (l, batch) => {
      const w = this.byStream.get(batch.streamId);
      if (!w) return;
      try {
        w.onBatch({ agentId: l.id, node: l.info.node, mode: l.info.mode, samples: batch.samples });
      } catch (err) {
        // One watcher's failure is its own: the agent's session and the other watchers go on.
        this.log.error({ err, watcher: w.id, agentId: l.id }, "a watcher could not take a batch");
      }
    };
  }

  private streamId(w: Watcher, link: AgentLink): string {
    return `w${w.id}:${link.id}`;
  }

  private attach(w: Watcher, link: AgentLink): void {
    if (w.node && !globMatches(w.node, link.info.node)) return;
    const streamId = this.streamId(w, link);
    this.byStream.set(streamId, w);
    w.links.add(link);
    link.send({ case: "startStream", value: { streamId, intervalMs: w.filter.intervalMs, ...(w.filter.filter ? { filter: w.filter.filter } : {}) } });
  }

  /** Start watching; returns the function that stops it. */
  watch(filter: WatchFilter, onBatch: (b: LiveBatch) => void): () => void {
    const w: Watcher = { id: ++this.next, node: filter.node ?? "", filter, onBatch, links: new Set() };
    this.active.add(w);
    for (const link of this.registry.list()) {
      if (!link.onSamples) this.route(link);
      this.attach(w, link);
    }
    this.log.debug({ watcher: w.id, agents: w.links.size }, "watch started");
    return () => {
      this.active.delete(w);
      for (const link of w.links) {
        const streamId = this.streamId(w, link);
        this.byStream.delete(streamId);
        link.send({ case: "stopStream", value: { streamId } });
      }
      w.links.clear();
      this.log.debug({ watcher: w.id }, "watch stopped");
    };
  }
}
