/**
 * Free ports for tool servers, chosen inside the agent's allowed range. A port
 * counts as free when no socket holds it in any state (a server that binds
 * without SO_REUSEADDR fails on a TIME_WAIT one) and both a TCP listener and a
 * UDP socket can bind it.
 */
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { portsInUse } from "../../common/src/listen-probe.js";

/** An inclusive port range, e.g. 20000–20999. */
export interface PortRange {
  min: number;
  max: number;
}

/** Parse "MIN-MAX" into a range; throws a sentence naming the fix when malformed. */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (!m || min < 1 || max > 65535 || min > max) {
    throw new Error(`invalid port range "${text}": use MIN-MAX within 1-65535, e.g. 20000-20999`);
  }
  return { min, max };
}

function canBindTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "::", ipv6Only: false, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket({ type: "udp6", ipv6Only: false });
    sock.once("error", () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, "::", () => sock.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports in `range`, starting the search at a random
 * offset so concurrent servers rarely collide. Undefined when none are free.
 */
export async function findFreePorts(range: PortRange, count: number, avoid: Set<number> = new Set()): Promise<number | undefined> {
  const span = range.max - range.min + 1 - (count - 1);
  if (span <= 0) return undefined;
  const start = Math.floor(Math.random() * span);
  const held = portsInUse();
  for (let i = 0; i < span; i++) {
    const first = range.min + ((start + i) % span);
    let ok = true;
    for (let p = first; p < first + count && ok; p++) {
      ok = !avoid.has(p) && !held.has(p) && (await canBindTcp(p)) && (await canBindUdp(p));
    }
    if (ok) return first;
  }
  return undefined;
}
