/**
 * Pure parsers of `ip -d link show` (or `ip -d addr show`, the same with addresses) and `ip route show`, and what they say
 * about the pod network's encapsulation: a tunnel link that is up (VXLAN,
 * Geneve, IPIP, WireGuard), with the routes that go through it.
 */
import { Encapsulation } from "../../../gen/netmatrix/v1/fingerprint_pb.js";

export interface Link {
  name: string;
  /** The link kind ("veth", "bridge", "vxlan", "macvlan"); "" for a plain device. */
  kind: string;
  mtu: number;
  up: boolean;
  /** The kind's detail line up to the generic attributes ("vxlan id 1 local 198.18.9.2 dev eth0 … dstport 8472"). */
  detail: string;
  rxQueues: number;
  txQueues: number;
  /** It has an address of scope global (from `ip -d addr show`). */
  global: boolean;
}

export interface Route {
  dst: string;
  dev: string;
  line: string;
}

/** "3: eth0@veth-peer: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 …". */
const HEAD = /^\d+: ([^:@\s]+)(?:@\S+)?: <([^>]*)> mtu (\d+)/;
/** Where the generic attributes begin on a detail line. */
const GENERIC = /\s(?:addrgenmode|numtxqueues|gso_max_size)\s.*$/;
/** First words of detail lines that are not a kind. */
const NOT_KIND = /^(?:link\/|altname$|alias$|prop$|addrgenmode$|numtxqueues$|inet6?$|valid_lft$|[a-z]+_slave$)/;

/** The links of `ip -d link show` or `ip -d addr show`. */
export function parseIpLinks(text: string): Link[] {
  const out: Link[] = [];
  let cur: Link | undefined;
  for (const line of text.split("\n")) {
    const head = HEAD.exec(line);
    if (head) {
      cur = { name: head[1]!, kind: "", mtu: Number(head[3]), up: head[2]!.split(",").includes("UP"), detail: "", rxQueues: 0, txQueues: 0, global: false };
      out.push(cur);
      continue;
    }
    if (!cur || !/^\s/.test(line)) continue;
    if (/^\s+inet6? \S+ .*\bscope global\b/.test(line)) cur.global = true;
    const tx = /\bnumtxqueues (\d+)/.exec(line);
    const rx = /\bnumrxqueues (\d+)/.exec(line);
    if (tx) cur.txQueues = Number(tx[1]);
    if (rx) cur.rxQueues = Number(rx[1]);
    const words = line.trim().split(/\s+/);
    if (cur.kind === "" && !line.trimStart().startsWith("link/") && words[0] && !NOT_KIND.test(words[0])) {
      cur.kind = words[0];
      cur.detail = line.trim().replace(GENERIC, "").trim();
    }
  }
  return out;
}

/** The routes of `ip route show` (destination, device, the line). */
export function parseRoutes(text: string): Route[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => ({ dst: line.split(/\s+/)[0]!, dev: /\bdev (\S+)/.exec(line)?.[1] ?? "", line }));
}

/** Link kinds that carry pod traffic in a tunnel, in the order one is chosen when several are up (WireGuard wraps the others). */
const TUNNELS: [string, Encapsulation][] = [
  ["wireguard", Encapsulation.WIREGUARD],
  ["vxlan", Encapsulation.VXLAN],
  ["geneve", Encapsulation.GENEVE],
  ["ipip", Encapsulation.IPIP],
];

/**
 * The encapsulation the links and routes show, with the evidence: every
 * tunnel link that is up, and the routes through it. A tunnel link that is
 * down (the `tunl0` the ipip module creates in every namespace) does not count.
 */
export function encapsulationOf(links: readonly Link[], routes: readonly Route[]): { encapsulation: Encapsulation; evidence: string[] } {
  const evidence: string[] = [];
  let found: Encapsulation | undefined;
  for (const [kind, encapsulation] of TUNNELS) {
    for (const l of links.filter((x) => x.kind === kind && x.up)) {
      found ??= encapsulation;
      const via = routes.filter((r) => r.dev === l.name);
      evidence.push(`${l.name}: ${l.detail || kind}, mtu ${l.mtu}${via.length ? `; ${via.length} route(s), e.g. ${via[0]!.line}` : ""}`);
    }
  }
  if (found !== undefined) return { encapsulation: found, evidence };
  const down = links.filter((l) => TUNNELS.some(([k]) => k === l.kind)).map((l) => `${l.name} (${l.kind})`);
  return {
    encapsulation: Encapsulation.NONE,
    evidence: [`no VXLAN, Geneve, IPIP or WireGuard link is up${down.length ? ` (down: ${down.join(", ")})` : ""}; ${routes.length} route(s)`],
  };
}
