/**
 * The CLI's side of a coordinator under simulated load (test/harness/sim.ts):
 * a Watch subscriber that measures how late samples arrive, and ListAgents
 * paged through, timed. Both talk to the real coordinator through the typed
 * client seam, as the CLI does.
 *
 * Lag is the receive time less the sample's own `wall_ms` (the simulated
 * agent's wall clock when it took the sample and wrote its batch; the
 * simulator runs on the same machine, so on the same clock). Both forms of
 * WatchEvent are read: one agent per event (`agent_id`, `samples`) and the
 * batched form (`agents`, many agents per event).
 */
import { create } from "@bufbuild/protobuf";
import type { ClientReadableStream } from "@grpc/grpc-js";
import { ControlService, ListAgentsRequestSchema, type AgentStatus, type WatchEvent } from "../../gen/netmatrix/v1/control_pb.js";
import type { NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import type { Client } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";

export interface WatchProbeOptions {
  /** Node glob; "" = every node. */
  node: string;
  intervalMs: number;
  /** Ask for the batched form (WatchRequest.batched). */
  batched: boolean;
  /** Check that every agent's interface byte totals never go backwards (memory: one entry per agent and interface). */
  checkCounters?: boolean;
}

export interface WatchProbe {
  /** Agent ids a sample arrived from since the start. */
  readonly seen: ReadonlySet<string>;
  /** Events and samples received since the start. */
  readonly events: number;
  readonly samples: number;
  /** Largest WatchEvent.skipped_ticks seen (ticks the coordinator skipped because this stream was backed up). */
  readonly skippedTicks: number;
  /** Samples whose byte totals went backwards (with checkCounters). */
  readonly counterRegressions: number;
  /** Lags (ms) of the samples received since the last {@link resetWindow} (or the start). */
  lags(): number[];
  /**
   * The part of those lags spent before the coordinator sent the event:
   * WatchEvent.sent_at_ms less the sample's wall_ms (the simulator's send,
   * the coordinator's ingestion and its watch hub); empty when the
   * coordinator does not set sent_at_ms.
   */
  hubLags(): number[];
  /** Per event since the last reset: receive time less WatchEvent.sent_at_ms (the coordinator's write, HTTP/2 and this process); empty without sent_at_ms. */
  transits(): number[];
  /** Events received since the last reset, and the largest event's sample count. */
  windowEvents(): { events: number; samples: number; largestEvent: number };
  /** Start a new window of lags. */
  resetWindow(): void;
  /** Resolves with ms since the probe started when samples from `n` distinct agents have arrived; rejects after `timeoutMs` saying how many did. */
  whenSeen(n: number, timeoutMs: number): Promise<number>;
  /** Why the stream ended, if it did. */
  readonly endedWith: string | undefined;
  close(): void;
}

/** Subscribe to live samples and measure them. */
export function watchProbe(client: Client<typeof ControlService>, o: WatchProbeOptions): WatchProbe {
  const t0 = performance.now();
  const call: ClientReadableStream<WatchEvent> = client.watch({ node: o.node, intervalMs: o.intervalMs, batched: o.batched });
  const seen = new Set<string>();
  const last = new Map<string, number>();
  let events = 0;
  let samples = 0;
  let skippedTicks = 0;
  let counterRegressions = 0;
  let lags: number[] = [];
  let hubLags: number[] = [];
  let transits: number[] = [];
  let win = { events: 0, samples: 0, largestEvent: 0 };
  let endedWith: string | undefined;
  const waiters = new Set<() => void>();

  const take = (agentId: string, list: readonly NodeSample[], now: number, sentAtMs: number): number => {
    if (!seen.has(agentId)) seen.add(agentId);
    for (const s of list) {
      lags.push(now - s.wallMs);
      if (sentAtMs > 0) hubLags.push(sentAtMs - s.wallMs);
      if (!o.checkCounters) continue;
      for (const f of s.interfaces) {
        const key = `${agentId}\u0000${f.name}`;
        const prev = last.get(key);
        if (prev !== undefined && f.rxBytesTotal < prev) counterRegressions++;
        last.set(key, f.rxBytesTotal);
      }
    }
    return list.length;
  };

  call.on("data", (ev: WatchEvent) => {
    const now = Date.now();
    let n = 0;
    if (ev.agents.length) for (const a of ev.agents) n += take(a.agentId, a.samples, now, ev.sentAtMs);
    else if (ev.agentId) n += take(ev.agentId, ev.samples, now, ev.sentAtMs);
    if (ev.sentAtMs > 0) transits.push(now - ev.sentAtMs);
    events++;
    samples += n;
    win.events++;
    win.samples += n;
    win.largestEvent = Math.max(win.largestEvent, n);
    skippedTicks = Math.max(skippedTicks, ev.skippedTicks);
    for (const w of [...waiters]) w();
  });
  call.on("error", (err) => (endedWith = fromServiceError(err).message));
  call.on("status", (s: { code: number; details: string }) => (endedWith ??= `status ${s.code} ${s.details}`));

  return {
    seen,
    get events() {
      return events;
    },
    get samples() {
      return samples;
    },
    get skippedTicks() {
      return skippedTicks;
    },
    get counterRegressions() {
      return counterRegressions;
    },
    get endedWith() {
      return endedWith;
    },
    lags: () => lags,
    hubLags: () => hubLags,
    transits: () => transits,
    windowEvents: () => win,
    resetWindow() {
      lags = [];
      hubLags = [];
      transits = [];
      win = { events: 0, samples: 0, largestEvent: 0 };
    },
    whenSeen(n, timeoutMs) {
      return new Promise<number>((resolve, reject) => {
        const check = (): void => {
          if (seen.size < n) return;
          waiters.delete(check);
          clearTimeout(t);
          resolve(performance.now() - t0);
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `watch ${o.node || "(all nodes)"}: samples from ${seen.size} of ${n} agents within ${Math.round(timeoutMs / 1000)} s${endedWith ? ` (stream ended: ${endedWith})` : ""}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => call.cancel(),
  };
}

/** The value at quantile `q` (0..1) of `v` (nearest rank); NaN when empty. */
export function quantile(v: readonly number[], q: number): number {
  if (!v.length) return NaN;
  const s = Float64Array.from(v).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export interface AgentPages {
  agents: AgentStatus[];
  pages: number;
  /** Time to the first page, and to the last, ms. */
  firstPageMs: number;
  totalMs: number;
  /** ListAgentsResponse.total_matching of the first page (0 from a coordinator that does not page). */
  totalMatching: number;
}

/** Every agent, page by page (`pageSize` each; a coordinator that does not page answers all at once). */
export async function listAgentPages(client: Client<typeof ControlService>, pageSize: number, opts: { maxPages?: number; timeoutMs?: number } = {}): Promise<AgentPages> {
  const t0 = performance.now();
  const agents: AgentStatus[] = [];
  let token = "";
  let pages = 0;
  let firstPageMs = 0;
  let totalMatching = 0;
  do {
    const res = await client.listAgents(create(ListAgentsRequestSchema, { pageSize, pageToken: token }), opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
    if (pages++ === 0) {
      firstPageMs = performance.now() - t0;
      totalMatching = res.totalMatching;
    }
    agents.push(...res.agents);
    token = res.nextPageToken;
  } while (token && pages < (opts.maxPages ?? Infinity));
  return { agents, pages, firstPageMs, totalMs: performance.now() - t0, totalMatching };
}
