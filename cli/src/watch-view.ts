/**
 * The state behind `netmatrix watch` and its rendering: one row per
 * node/interface with current rx/tx rates, a bar, peaks and totals since the
 * watch began, sorted by rate (like iftop/bmon). A node's NICs appear once:
 * its host agent and its pod agents all read the node's NIC counters (the
 * chart's /host/proc/1/net/dev), so their readings of one interface are
 * folded into one row fed by one agent. Pure; the command feeds it.
 */
import type { WatchEvent } from "../../gen/netmatrix/v1/control_pb.js";
import type { InterfaceRate, NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import { modes } from "../../common/src/model.js";
import { formatBitrate } from "../../common/src/format.js";

export interface InterfaceRow {
  /** The agent whose samples the row shows. */
  agentId: string;
  /** Every agent that reads this very interface (a node's host and pod agents), sorted. */
  agents: string[];
  node: string;
  mode: string;
  interface: string;
  /** Latest interval, bits/s and packets/s. */
  rxBps: number;
  txBps: number;
  rxPps: number;
  txPps: number;
  /** Highest interval rate seen since the watch began, bits/s. */
  peakRxBps: number;
  peakTxBps: number;
  /** Bytes moved since the watch began (from the rates). */
  rxBytes: number;
  txBytes: number;
  /** Cumulative counters since boot, bytes. */
  rxBytesTotal: number;
  txBytesTotal: number;
  /** Wall clock of the latest sample, ms since the epoch. */
  updatedMs: number;
}

/** Bytes two readings of one counter may differ by besides the traffic between them (a few packets). */
const COUNTER_SLACK_BYTES = 16 * 1024;

/**
 * Whether a reading `i` (taken at `s`) is of the same interface as `r`: the
 * same node and name and, since counters since boot cannot be equal by
 * chance, totals that differ by no more than the traffic that can pass
 * between the two readings. A pod agent that reads its own namespace's eth0
 * (no host /proc) has other totals, and keeps a row of its own.
 */
function sameInterface(r: InterfaceRow, i: InterfaceRate, s: NodeSample): boolean {
  const seconds = (Math.abs(s.wallMs - r.updatedMs) + s.intervalMs) / 1000;
  const close = (a: number, b: number, bps: number): boolean => Math.abs(a - b) <= (bps / 8) * seconds + COUNTER_SLACK_BYTES;
  return close(r.rxBytesTotal, i.rxBytesTotal, Math.max(r.rxBps, i.rxBps)) && close(r.txBytesTotal, i.txBytesTotal, Math.max(r.txBps, i.txBps));
}

export class WatchState {
  private readonly rows: InterfaceRow[] = [];
  /** agent + interface → the row its readings go to. */
  private readonly byAgent = new Map<string, InterfaceRow>();
  /** node + interface → its rows (one, unless pod agents read namespaces of their own): no scan of every row. */
  private readonly byInterface = new Map<string, InterfaceRow[]>();
  private readonly cpu = new Map<string, number>();

  /** Fold one event in: one agent's samples, or (batched) several agents'. */
  add(e: WatchEvent): void {
    this.addAgent(e);
    for (const a of e.agents) this.addAgent(a);
  }

  private addAgent(e: Pick<WatchEvent, "agentId" | "node" | "mode" | "samples">): void {
    const mode = modes.toName(e.mode) ?? "unknown";
    for (const s of e.samples) {
      if (s.cpu) this.cpu.set(e.node, s.cpu.totalPercent);
      for (const i of s.interfaces) {
        const key = `${e.agentId}\u0000${i.name}`;
        let r = this.byAgent.get(key);
        if (!r) {
          const ifaceKey = `${e.node}\u0000${i.name}`;
          let same = this.byInterface.get(ifaceKey);
          if (!same) this.byInterface.set(ifaceKey, (same = []));
          r = same.find((x) => sameInterface(x, i, s));
          if (r) r.agents = [...r.agents, e.agentId].sort();
          else {
            r = {
              agentId: e.agentId,
              agents: [e.agentId],
              node: e.node,
              mode,
              interface: i.name,
              rxBps: 0,
              txBps: 0,
              rxPps: 0,
              txPps: 0,
              peakRxBps: 0,
              peakTxBps: 0,
              rxBytes: 0,
              txBytes: 0,
              rxBytesTotal: i.rxBytesTotal,
              txBytesTotal: i.txBytesTotal,
              updatedMs: s.wallMs,
            };
            this.rows.push(r);
            same.push(r);
          }
          this.byAgent.set(key, r);
        }
        // One agent feeds a row, so its bytes and peaks are counted once: the first one, a host agent
        // over a pod agent, or whoever reports when that one has been silent for three intervals.
        const stale = s.wallMs - r.updatedMs > 3 * Math.max(s.intervalMs, 1000);
        if (r.agentId !== e.agentId && !stale && !(mode === "host" && r.mode !== "host")) continue;
        r.agentId = e.agentId;
        r.mode = mode;
        r.rxBps = i.rxBps;
        r.txBps = i.txBps;
        r.rxPps = i.rxPps;
        r.txPps = i.txPps;
        r.peakRxBps = Math.max(r.peakRxBps, i.rxBps);
        r.peakTxBps = Math.max(r.peakTxBps, i.txBps);
        r.rxBytes += (i.rxBps / 8) * (s.intervalMs / 1000);
        r.txBytes += (i.txBps / 8) * (s.intervalMs / 1000);
        r.rxBytesTotal = i.rxBytesTotal;
        r.txBytesTotal = i.txBytesTotal;
        r.updatedMs = s.wallMs;
      }
    }
  }

  /** Rows sorted by current rx + tx, highest first. */
  snapshot(): InterfaceRow[] {
    return [...this.rows].sort((a, b) => b.rxBps + b.txBps - (a.rxBps + a.txBps) || rowName(a).localeCompare(rowName(b)) || a.interface.localeCompare(b.interface));
  }

  /** Latest CPU % of each node. */
  nodeCpu(): Map<string, number> {
    return this.cpu;
  }
}

function bytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function bar(value: number, max: number, width: number): string {
  const n = max > 0 ? Math.round((value / max) * width) : 0;
  return "#".repeat(Math.min(width, n)).padEnd(width, " ");
}

/**
 * What a row is called: the node, for the node's NICs (read by its host
 * agent, or by several agents); the agent, for a namespace only it reads
 * (a pod agent without the host's /proc).
 */
export function rowName(r: InterfaceRow): string {
  return r.mode === "host" || r.agents.length > 1 ? r.node : r.agentId;
}

/**
 * The screen: a header line and one line per interface, fitting `columns`.
 * `live`: it refreshes until q is pressed (the title says so); a one-off
 * snapshot does not.
 */
export function renderWatch(rows: InterfaceRow[], opts: { columns: number; intervalMs: number; title: string; live: boolean }): string {
  const max = Math.max(0, ...rows.map((r) => Math.max(r.rxBps, r.txBps)));
  const head = ["NODE/AGENT", "IFACE", "RX", "TX", "", "PEAK RX", "PEAK TX", "TOTAL RX", "TOTAL TX"];
  const barWidth = Math.max(6, Math.min(30, opts.columns - 110));
  const lines = rows.map((r) => [
    rowName(r),
    r.interface,
    formatBitrate(r.rxBps),
    formatBitrate(r.txBps),
    bar(Math.max(r.rxBps, r.txBps), max, barWidth),
    formatBitrate(r.peakRxBps),
    formatBitrate(r.peakTxBps),
    bytes(r.rxBytes),
    bytes(r.txBytes),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]): string => cells.map((x, c) => (c >= 2 && c !== 4 ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join("  ");
  const out = [`${opts.title}  (every ${opts.intervalMs / 1000} s${opts.live ? ", q to quit" : ""})`, fmt(head), ...lines.map(fmt)];
  if (!rows.length) out.push("waiting for samples…");
  return out.map((l) => l.slice(0, opts.columns)).join("\n");
}
