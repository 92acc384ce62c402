/**
 * The registry of live agents. An agent is listed from its registration until
 * its session ends. Agents are named `node/mode` (plus `/pod` for pod agents),
 * and can be looked up by that id or by a unique `node/mode` prefix. A name
 * belongs to one live agent: a second claimant is refused, not renamed.
 */
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { modes } from "../../common/src/model.js";
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

export class Registry {
  private readonly links = new Map<string, AgentLink>();
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
    this.links.set(link.id, link);
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
    if (this.links.get(link.id) === link) this.links.delete(link.id);
  }

  list(): AgentLink[] {
    return [...this.links.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The agent named `name` (an id, or a unique prefix such as `node-a/pod`). */
  resolve(name: string): AgentLink {
    const exact = this.links.get(name);
    if (exact) return exact;
    const matches = this.list().filter((l) => l.id.startsWith(`${name}/`) || l.id.startsWith(`${name}#`));
    if (matches.length === 1) return matches[0]!;
    const known = this.list().map((l) => l.id);
    if (matches.length > 1) {
      throw new NetmatrixError("invalid-argument", `agent name "${name}" is ambiguous: ${matches.map((m) => m.id).join(", ")}`, {
        hint: "name one of them by its full id",
      });
    }
    throw new NetmatrixError("not-found", `no agent "${name}" is connected`, {
      hint: known.length ? `connected agents: ${known.join(", ")}` : "no agent is connected; start one with `netmatrix agent`",
    });
  }
}
