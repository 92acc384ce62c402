/**
 * The state behind `netmatrix watch` and its rendering: one row per
 * node/interface with current rx/tx rates, a bar, peaks and totals since the
 * watch began, sorted by rate (like iftop/bmon). Pure; the command feeds it.
 */
import type { WatchEvent } from "../../gen/netmatrix/v1/control_pb.js";
import { modes } from "../../common/src/model.js";
import { formatBitrate } from "../../common/src/format.js";

export interface InterfaceRow {
  agentId: string;
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

export class WatchState {
  private readonly rows = new Map<string, InterfaceRow>();
  private readonly cpu = new Map<string, number>();

  /** Fold one event (a batch of one agent's samples) in. */
  add(e: WatchEvent): void {
    for (const s of e.samples) {
      if (s.cpu) this.cpu.set(e.node, s.cpu.totalPercent);
      for (const i of s.interfaces) {
        const key = `${e.agentId}\u0000${i.name}`;
        let r = this.rows.get(key);
        if (!r) {
          r = {
            agentId: e.agentId,
            node: e.node,
            mode: modes.toName(e.mode) ?? "unknown",
            interface: i.name,
            rxBps: 0,
            txBps: 0,
            rxPps: 0,
            txPps: 0,
            peakRxBps: 0,
            peakTxBps: 0,
            rxBytes: 0,
            txBytes: 0,
            rxBytesTotal: 0,
            txBytesTotal: 0,
            updatedMs: 0,
          };
          this.rows.set(key, r);
        }
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
    return [...this.rows.values()].sort((a, b) => b.rxBps + b.txBps - (a.rxBps + a.txBps) || a.agentId.localeCompare(b.agentId) || a.interface.localeCompare(b.interface));
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

/** The screen: a header line and one line per interface, fitting `columns`. */
export function renderWatch(rows: InterfaceRow[], opts: { columns: number; intervalMs: number; title: string }): string {
  const max = Math.max(0, ...rows.map((r) => Math.max(r.rxBps, r.txBps)));
  const head = ["NODE/AGENT", "IFACE", "RX", "TX", "", "PEAK RX", "PEAK TX", "TOTAL RX", "TOTAL TX"];
  const barWidth = Math.max(6, Math.min(30, opts.columns - 110));
  const lines = rows.map((r) => [
    r.agentId,
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
  const out = [`${opts.title}  (every ${opts.intervalMs / 1000} s, q to quit)`, fmt(head), ...lines.map(fmt)];
  if (!rows.length) out.push("waiting for samples…");
  return out.map((l) => l.slice(0, opts.columns)).join("\n");
}
