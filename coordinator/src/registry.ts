/**
 * The registry of live agents. An agent is listed from its registration until
 * its session ends. Agents are named `node/mode` (plus `/pod` for pod agents),
 * and can be looked up by that id or by a unique `node/mode` prefix.
 */
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { modes } from "../../common/src/model.js";
import type { AgentLink } from "./agent-link.js";

/** The id an agent would get: node/mode[/pod]. */
export function baseId(info: AgentInfo): string {
  const mode = modes.toName(info.mode) ?? "unknown";
  return info.pod ? `${info.node}/${mode}/${info.pod}` : `${info.node}/${mode}`;
}

export class Registry {
  private readonly links = new Map<string, AgentLink>();
  private readonly addedListeners = new Set<(link: AgentLink) => void>();

  /** Call `cb` for every agent that registers from now on; returns the unsubscribe. */
  onAdded(cb: (link: AgentLink) => void): () => void {
    this.addedListeners.add(cb);
    return () => this.addedListeners.delete(cb);
  }

  /** An unused id for `info`; a re-registering instance gets its old id back. */
  idFor(info: AgentInfo, instanceId: string): string {
    const base = baseId(info);
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}#${n}`;
      const existing = this.links.get(id);
      if (!existing || existing.instanceId === instanceId) return id;
    }
  }

  /** Add `link`, replacing a previous session of the same agent instance. */
  add(link: AgentLink): AgentLink | undefined {
    const previous = this.links.get(link.id);
    this.links.set(link.id, link);
    for (const cb of this.addedListeners) cb(link);
    return previous;
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
