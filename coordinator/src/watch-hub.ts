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

/** A glob with `*` wildcards as a RegExp (anchored). */
export function globRegExp(glob: string): RegExp {
  const body = glob
    .split("*")
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

interface Watcher {
  id: number;
  nodeRe: RegExp | undefined;
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
      w.onBatch({ agentId: l.id, node: l.info.node, mode: l.info.mode, samples: batch.samples });
    };
  }

  private streamId(w: Watcher, link: AgentLink): string {
    return `w${w.id}:${link.id}`;
  }

  private attach(w: Watcher, link: AgentLink): void {
    if (w.nodeRe && !w.nodeRe.test(link.info.node)) return;
    const streamId = this.streamId(w, link);
    this.byStream.set(streamId, w);
    w.links.add(link);
    link.send({ case: "startStream", value: { streamId, intervalMs: w.filter.intervalMs, ...(w.filter.filter ? { filter: w.filter.filter } : {}) } });
  }

  /** Start watching; returns the function that stops it. */
  watch(filter: WatchFilter, onBatch: (b: LiveBatch) => void): () => void {
    const w: Watcher = { id: ++this.next, nodeRe: filter.node ? globRegExp(filter.node) : undefined, filter, onBatch, links: new Set() };
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
