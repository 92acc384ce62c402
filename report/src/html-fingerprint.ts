/**
 * The report's environment fingerprints: a table per node (its host agent's
 * fingerprint) and one of its interfaces, every value that differs from
 * another node's value of the same fact marked (class "fp-differs"). Empty
 * for runs whose agents sent no fingerprint. Pure.
 */
import type { AgentStatus } from "../../gen/netmatrix/v1/control_pb.js";
import { encapsulationName, fingerprintFacts, kubeProxyModeName, nodeFingerprints } from "./fingerprint.js";
import { esc } from "./html-util.js";
import { naturalCompare } from "../../common/src/natural-compare.js";

const CSS = `.fp-node { margin: .6em 0 1.2em; } .fp-node td.fp-differs, .fp-node span.fp-differs { background: #fff3bf; font-weight: 600; }
.fp-node .evidence { color: #555; font-size: .9em; }`;

/** The fingerprint section, or "" when no agent sent one. */
export function fingerprintHtml(agents: readonly AgentStatus[]): string {
  const nodes = nodeFingerprints(agents);
  if (nodes.size === 0) return "";
  // Every value each fact has across the nodes: a fact with more than one differs.
  const values = new Map<string, Set<string>>();
  const see = (key: string, value: string): void => void values.set(key, (values.get(key) ?? new Set()).add(value));
  for (const { fingerprint: fp } of nodes.values()) {
    for (const f of fingerprintFacts(fp)) see(f.key, f.value);
    for (const i of fp.interfaces) {
      see(`${i.name} driver`, i.driver);
      see(`${i.name} speed`, String(i.speedMbps));
      see(`${i.name} queues`, `${i.rxQueues}/${i.txQueues}`);
    }
  }
  const differs = (key: string): boolean => (values.get(key)?.size ?? 0) > 1;
  const cell = (key: string, text: string, cls = ""): string => `<td class="${[cls, differs(key) ? "fp-differs" : ""].filter(Boolean).join(" ")}">${esc(text)}</td>`;

  const tables = [...nodes].map(([node, { agent, fingerprint: fp }]) => {
    const facts = fingerprintFacts(fp).filter((f) => f.iface === undefined);
    const evidence: Record<string, string[]> = {
      encapsulation: fp.encapsulationEvidence,
      "kube-proxy mode": fp.kubeProxyEvidence,
    };
    const rows = facts.map((f) => `<tr><th>${esc(f.key)}</th>${cell(f.key, f.value)}<td class="evidence">${esc((evidence[f.key] ?? []).join("; "))}</td></tr>`).join("");
    const ifaces = [...fp.interfaces]
      .sort((a, b) => naturalCompare(a.name, b.name))
      .map((i) => {
        const offloads = Object.entries(i.offloads)
          .sort((a, b) => a[0].localeCompare(b[0]))
          .map(([n, on]) => {
            const key = `${i.name} ${n}`;
            return differs(key) ? `<span class="fp-differs">${esc(`${n} ${on ? "on" : "off"}`)}</span>` : esc(`${n} ${on ? "on" : "off"}`);
          })
          .join(", ");
        return `<tr><td>${esc(i.name)}</td><td>${esc(i.kind || "-")}</td>${cell(`${i.name} driver`, i.driver || "-")}${cell(`${i.name} MTU`, String(i.mtu || "-"), "num")}${cell(`${i.name} speed`, i.speedMbps ? String(i.speedMbps) : "-", "num")}${cell(`${i.name} queues`, `${i.rxQueues}/${i.txQueues}`, "num")}<td>${offloads || "-"}</td></tr>`;
      })
      .join("");
    return `<div class="fp-node" data-node="${esc(node)}" data-encapsulation="${esc(encapsulationName(fp.encapsulation))}" data-kube-proxy="${esc(kubeProxyModeName(fp.kubeProxyMode))}">
<h3>${esc(node)} <small>(from ${esc(agent)}, taken in ${fp.collectMs} ms)</small></h3>
<table class="grid"><tbody>${rows}</tbody></table>
<table class="grid"><thead><tr><th>interface</th><th>kind</th><th>driver</th><th>MTU</th><th>Mbit/s</th><th>rx/tx queues</th><th>offloads (ethtool -k)</th></tr></thead><tbody>${ifaces}</tbody></table>
${fp.notes.length ? `<ul class="evidence">${fp.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
</div>`;
  });
  return `<section id="fingerprints">
<style>${CSS}</style>
<h2>Environment fingerprints</h2>
<p class="note">What each node's agent saw when it registered. Values that differ between nodes are highlighted: an MTU, an offload, a kernel or a CPU governor moves the numbers.</p>
${tables.join("\n")}
</section>`;
}
