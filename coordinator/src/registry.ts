/**
 * The registry of live agents. An agent is listed from its registration until
 * its session ends. Agents are named `node/mode` (plus `/pod` for pod agents),
 * and can be looked up by that id or by a unique `node/mode` prefix. A name
 * belongs to one live agent: a second claimant is refused, not renamed.
 *
 * With 15,000 agents nothing here copies or sorts the whole registry per
 * call: ids are kept in natural order ("n2" before "n10") as they come and
 * go (binary search), by node too; `get` is a map lookup, `page` reads a
 * window after a cursor, and `resolve` reads the prefix's range.
 */
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { modes } from "../../common/src/model.js";
import { naturalCompare } from "../../common/src/natural-compare.js";
import type { AgentLink } from "./agent-link.js";
import { peerHost } from "./address-check.js";

/** The id an agent would get: node/mode[/pod]. */
export function baseId(info: AgentInfo): string {
  const mode = modes.toName(info.mode) ?? "unknown";
  return info.pod ? `${info.node}/${mode}/${info.pod}` : `${info.node}/${mode}`;
}

/** How many names and agent processes the registry remembers, to log changes. */
const MEMORY = 10_000;

/** Set `key` as the newest entry of `map`, forgetting the oldest beyond {@link MEMORY}. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MEMORY) map.delete(map.keys().next().value!);
}

/** The address part of a grpc-js peer ("10.0.0.1:5000", "::1:5000"). */
function hostOf(peer: string): string {
  return peerHost(peer) ?? peer;
}

/** The first index of sorted `ids` whose id is not before `id` (`after`: is after it). */
function bound(ids: readonly string[], id: string, after = false): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = naturalCompare(ids[mid]!, id);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Put `id` into sorted `ids` (once). */
function insertSorted(ids: string[], id: string): void {
  const i = bound(ids, id);
  if (ids[i] !== id) ids.splice(i, 0, id);
}

/** Take `id` out of sorted `ids`, if it is there. */
function removeSorted(ids: string[], id: string): void {
  const i = bound(ids, id);
  // The comparator is a total order, so the id is where the search says; the scan only guards the index against a surprise.
  const at = ids[i] === id ? i : ids.indexOf(id);
  if (at >= 0) ids.splice(at, 1);
}

/** Ids named in a message at most; the rest are counted. */
const NAMED_IN_MESSAGES = 10;

/** `ids` for a message: the first {@link NAMED_IN_MESSAGES}, then how many more. */
function someIds(ids: readonly string[]): string {
  const shown = ids.slice(0, NAMED_IN_MESSAGES).join(", ");
  return ids.length > NAMED_IN_MESSAGES ? `${shown} and ${ids.length - NAMED_IN_MESSAGES} more` : shown;
}

/** Which agents {@link Registry.page} and {@link Registry.count} read. */
export interface AgentQuery {
  /** Only this node's agents (read from the node index, not by scanning). */
  node?: string;
  /** Only the agents it accepts. */
  filter?: (link: AgentLink) => boolean;
}

export interface PageQuery extends AgentQuery {
  /** Start after this id (natural order; it need not be registered any more); undefined: from the first. */
  afterId?: string;
  /** At most this many agents (at least 1). */
  limit: number;
}

export interface AgentPage {
  /** In id order (natural: "n2" before "n10"). */
  links: AgentLink[];
  /** Whether more agents match after the last one. */
  more: boolean;
}

export class Registry {
  private readonly links = new Map<string, AgentLink>();
  /** Every registered id, in natural order. */
  private readonly ids: string[] = [];
  /** Each node's registered ids, in natural order. */
  private readonly nodes = new Map<string, string[]>();
  private readonly addedListeners = new Set<(link: AgentLink) => void>();

  /** Call `cb` for every agent that registers from now on; returns the unsubscribe. */
  onAdded(cb: (link: AgentLink) => void): () => void {
    this.addedListeners.add(cb);
    return () => this.addedListeners.delete(cb);
  }

  /**
   * Whether a new session of agent instance `instanceId`, connecting from
   * `peer`, may take the name `id`: yes when nobody holds it, or when its
   * holder is the same instance connecting from the same host (a reconnect;
   * the old session is then replaced). A second live claimant is refused
   * with the holder named: the first keeps the name.
   */
  checkClaim(id: string, instanceId: string, peer: string): void {
    const holder = this.links.get(id);
    if (!holder || holder.closed) return;
    if (holder.instanceId === instanceId && hostOf(holder.peer) === hostOf(peer)) return;
    throw new NetmatrixError(
      "already-exists",
      `agent name "${id}" is held by another live agent, connected from ${hostOf(holder.peer)} since ${new Date(holder.connectedAtMs).toISOString()}`,
      {
        hint:
          "give this agent its own --node (or --pod), or stop the other one; " +
          "a restarted agent gets its name back by itself once the old session is gone (at most a few heartbeats)",
      },
    );
  }

  /**
   * Add `link` (after {@link checkClaim}), replacing a previous session of the
   * same agent instance (`previous`). `changes` says, for the log, what
   * changed since this name or this agent process was last seen: a name now
   * held by another process or at another address, a process under a new
   * name or address.
   */
  add(link: AgentLink): { previous: AgentLink | undefined; changes: string[] } {
    const previous = this.links.get(link.id);
    if (previous) this.unindex(previous);
    this.links.set(link.id, link);
    insertSorted(this.ids, link.id);
    let onNode = this.nodes.get(link.info.node);
    if (!onNode) this.nodes.set(link.info.node, (onNode = []));
    insertSorted(onNode, link.id);
    const changes = this.remember(link);
    for (const cb of this.addedListeners) cb(link);
    return { previous, changes };
  }

  private readonly byName = new Map<string, { instanceId: string; address: string }>();
  private readonly byInstance = new Map<string, { id: string; address: string }>();

  private remember(link: AgentLink): string[] {
    const address = link.info.addresses[0] ?? "";
    const changes: string[] = [];
    const name = this.byName.get(link.id);
    if (name && name.instanceId !== link.instanceId) changes.push(`name ${link.id} was last held by another agent process at ${name.address}; now at ${address}`);
    else if (name && name.address !== address) changes.push(`agent ${link.id} changed its address from ${name.address} to ${address}`);
    const inst = this.byInstance.get(link.instanceId);
    if (inst && inst.id !== link.id) changes.push(`the agent process registered as ${inst.id} (${inst.address}) now registers as ${link.id} (${address})`);
    remember(this.byName, link.id, { instanceId: link.instanceId, address });
    remember(this.byInstance, link.instanceId, { id: link.id, address });
    return changes;
  }

  /** Remove `link` if it is still the registered session for its id. */
  remove(link: AgentLink): void {
    if (this.links.get(link.id) !== link) return;
    this.links.delete(link.id);
    this.unindex(link);
  }

  /** Take `link`'s id out of the indexes (the map is the caller's). */
  private unindex(link: AgentLink): void {
    removeSorted(this.ids, link.id);
    const onNode = this.nodes.get(link.info.node);
    if (!onNode) return;
    removeSorted(onNode, link.id);
    if (!onNode.length) this.nodes.delete(link.info.node);
  }

  /** How many agents are registered. */
  get size(): number {
    return this.links.size;
  }

  /** The agent registered as `id` exactly, or undefined. */
  get(id: string): AgentLink | undefined {
    return this.links.get(id);
  }

  /** The agents of node `node`, in id order. */
  byNode(node: string): AgentLink[] {
    return (this.nodes.get(node) ?? []).map((id) => this.links.get(id)!);
  }

  /** Every agent, in id order (natural: "n2" before "n10"); a copy, not sorted per call. For whole-registry work; per-agent lookups use {@link get}. */
  list(): AgentLink[] {
    return this.ids.map((id) => this.links.get(id)!);
  }

  /** The ids `query` reads, in order. */
  private source(query: AgentQuery): readonly string[] {
    return query.node === undefined ? this.ids : (this.nodes.get(query.node) ?? []);
  }

  /**
   * At most `limit` agents after `afterId` that `query` accepts, in id order,
   * and whether more follow: reads from the cursor on, never the whole
   * registry unless the filter rejects most of it. Paging with the last id
   * of each page as the next cursor lists every agent registered throughout
   * exactly once, whatever registers or leaves in between.
   */
  page(query: PageQuery): AgentPage {
    const ids = this.source(query);
    const limit = Math.max(1, Math.floor(query.limit));
    const links: AgentLink[] = [];
    for (let i = query.afterId === undefined ? 0 : bound(ids, query.afterId, true); i < ids.length; i++) {
      const link = this.links.get(ids[i]!)!;
      if (query.filter && !query.filter(link)) continue;
      if (links.length === limit) return { links, more: true };
      links.push(link);
    }
    return { links, more: false };
  }

  /** How many agents `query` accepts (without a filter, without reading them). */
  count(query: AgentQuery = {}): number {
    const ids = this.source(query);
    const filter = query.filter;
    if (!filter) return ids.length;
    let n = 0;
    for (const id of ids) if (filter(this.links.get(id)!)) n++;
    return n;
  }

  /** The ids that start with `prefix`, in order: the prefix's range of the sorted ids. */
  private withPrefix(prefix: string): string[] {
    const found: string[] = [];
    for (let i = bound(this.ids, prefix); i < this.ids.length && this.ids[i]!.startsWith(prefix); i++) found.push(this.ids[i]!);
    return found;
  }

  /** The agent named `name` (an id, or a unique prefix such as `node-a/pod`). */
  resolve(name: string): AgentLink {
    const exact = this.links.get(name);
    if (exact) return exact;
    const matches = [...this.withPrefix(`${name}/`), ...this.withPrefix(`${name}#`)];
    if (matches.length === 1) return this.links.get(matches[0]!)!;
    if (matches.length > 1) {
      throw new NetmatrixError("invalid-argument", `agent name "${name}" is ambiguous: ${someIds(matches)}`, {
        hint: "name one of them by its full id",
      });
    }
    throw new NetmatrixError("not-found", `no agent "${name}" is connected`, {
      hint: this.ids.length
        ? `connected agents: ${someIds(this.ids)}${this.ids.length > NAMED_IN_MESSAGES ? " (`netmatrix agents` lists them all)" : ""}`
        : "no agent is connected; start one with `netmatrix agent`",
    });
  }
}
