/**
 * What a lab Service's rules counted, kept when the lab's kube-proxy
 * (LabKubeProxy) removes them: one JSON line per removed rule in
 * DATA_DIR/lab/service-counters.jsonl, so "did this case's traffic go through
 * the Service's DNAT?" is answered after the run from the packet counters the
 * rules reached, however briefly they lived (a case's rules live for one
 * repetition). The file is bounded: past {@link SERVICE_COUNTERS_MAX_BYTES} it
 * becomes `….1` (replacing the older one) and a new one starts.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { kubeTagPrefix, type CountedRule } from "./lab-services-rules.js";

/** The file's name in the lab's directory (DATA_DIR/lab). */
export const SERVICE_COUNTERS_FILE = "service-counters.jsonl";
/** Past this size the file is rotated to `….1`: at most about twice this on disk. */
export const SERVICE_COUNTERS_MAX_BYTES = 10 * 1024 * 1024;

/** The counters file of the lab whose directory (where state.json is) is `labDir`. */
export function serviceCountersFile(labDir: string): string {
  return join(labDir, SERVICE_COUNTERS_FILE);
}

/** One removed rule and what it counted. */
export interface ServiceCounterRecord {
  /** When it was removed (ISO 8601). */
  at: string;
  /** Its comment tag: `${prefix}svc:<runId>:<caseId>` or `${prefix}kube:<namespace>/<name>`. */
  tag: string;
  /** From a `svc:` tag (the coordinator's own lab services). */
  runId?: string;
  caseId?: string;
  /** From a `kube:` tag (the Kubernetes API stand-in's Services): "namespace/name". */
  service?: string;
  /** The node and its network namespace the rule was in. */
  node: string;
  ns: string;
  chain: string;
  /** The rule's target, e.g. DNAT or MASQUERADE. */
  target: string;
  /** The rule as `iptables-save` prints it (`-A CHAIN …`). */
  rule: string;
  packets: number;
  bytes: number;
  /** "ipv6" for an ip6tables rule (an IPv6 Service); absent: iptables. */
  family?: "ipv6";
}

/** What a tag of the lab with `prefix` names: a run's case, or a Kubernetes Service. */
export function describeTag(prefix: string, tag: string): Pick<ServiceCounterRecord, "runId" | "caseId" | "service"> {
  const svc = `${prefix}svc:`;
  if (tag.startsWith(svc)) {
    const [runId, caseId] = tag.slice(svc.length).split(":");
    return runId && caseId ? { runId, caseId } : {};
  }
  const kube = kubeTagPrefix(prefix);
  return tag.startsWith(kube) ? { service: tag.slice(kube.length) } : {};
}

/** The record of `rule` removed from node `node` (namespace `ns`) of the lab with `prefix`. */
export function counterRecord(prefix: string, node: { name: string; ns: string }, rule: CountedRule, at: Date): ServiceCounterRecord {
  const tag = rule.tag ?? "";
  const j = rule.words.indexOf("-j");
  return {
    at: at.toISOString(),
    tag,
    ...describeTag(prefix, tag),
    node: node.name,
    ns: node.ns,
    chain: rule.words[1] ?? "",
    target: j >= 0 ? (rule.words[j + 1] ?? "") : "",
    rule: rule.text,
    packets: rule.packets,
    bytes: rule.bytes,
    ...(rule.family === "ipv6" ? { family: "ipv6" as const } : {}),
  };
}

/**
 * Append `records` to `file` in one write, first rotating it to `file.1`
 * when the write would take it past `maxBytes`.
 */
export function appendCounterRecords(file: string, records: ServiceCounterRecord[], maxBytes = SERVICE_COUNTERS_MAX_BYTES): void {
  if (records.length === 0) return;
  const text = records.map((r) => `${JSON.stringify(r)}\n`).join("");
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // No file yet.
  }
  if (size > 0 && size + Buffer.byteLength(text) > maxBytes) renameSync(file, `${file}.1`);
  appendFileSync(file, text, { mode: 0o644 });
}

/** The records kept in `file` (and its rotated `file.1` first), oldest first; a line cut short by a crash is skipped. */
export function readCounterRecords(file: string): ServiceCounterRecord[] {
  const records: ServiceCounterRecord[] = [];
  for (const f of [`${file}.1`, file]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as ServiceCounterRecord);
      } catch {
        // A torn last line.
      }
    }
  }
  return records;
}
