/**
 * iptables nat rules for lab services, the way kube-proxy's iptables mode
 * writes them: DNAT in PREROUTING (traffic from pods and the underlay) and
 * OUTPUT (the node's own processes), MASQUERADE in POSTROUTING. Every rule
 * carries a comment tag `${prefix}svc:<runId>:<caseId>` (`${prefix}kube:<namespace>/<name>`
 * for the Services of the lab's Kubernetes API stand-in) so a service's rules
 * can be found and deleted exactly. Pure builders plus list/delete by tag;
 * a deletion returns what the deleted rules counted (lab-services-counters.ts
 * keeps it). IPv6 services (a `--ipv6` lab) are the same rules in ip6tables:
 * `/128` matches and `[addr]:port` DNAT targets; a rule's family picks the binary.
 */
import { NetmatrixError } from "../../common/src/errors.js";
import { inNs, tryInNs } from "./topology-run.js";

export type NatChain = "PREROUTING" | "OUTPUT" | "POSTROUTING";
export type L4 = "tcp" | "udp";
/** The address family of a rule: ipv4 (iptables) or ipv6 (ip6tables). */
export type RuleFamily = "ipv4" | "ipv6";

/** The families whose nat tables a lab's rules live in: IPv4 always, IPv6 too in a dual-stack lab. */
export function labFamilies(ipv6: boolean): RuleFamily[] {
  return ipv6 ? ["ipv4", "ipv6"] : ["ipv4"];
}

/** The iptables binary of `family` (and its -save, as `${bin}-save`). */
export function iptablesBin(family: RuleFamily = "ipv4"): "iptables" | "ip6tables" {
  return family === "ipv6" ? "ip6tables" : "iptables";
}

/** One rule of the nat table: its chain and the match/target arguments (comment included). */
export interface NatRule {
  chain: NatChain;
  args: string[];
  /** Absent: ipv4 (iptables). */
  family?: RuleFamily;
}

/** A port the service exposes and the backend port it maps to. */
export interface PortMap {
  service: number;
  backend: number;
}

const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** The comment tagging every rule of one service. runId and caseId: 1..64 of [A-Za-z0-9._-]. */
export function serviceTag(prefix: string, runId: string, caseId: string): string {
  for (const [what, v] of [
    ["runId", runId],
    ["caseId", caseId],
  ] as const) {
    if (!ID_RE.test(v)) throw new NetmatrixError("invalid-argument", `${what} ${JSON.stringify(v)} must be 1..64 characters of [A-Za-z0-9._-]`);
  }
  return `${prefix}svc:${runId}:${caseId}`;
}

const KUBE_NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

/** The tag prefix of every rule the lab's Kubernetes API stand-in (kube-api.ts) programs. */
export function kubeTagPrefix(prefix: string): string {
  return `${prefix}kube:`;
}

/** The comment tagging every rule of the Kubernetes Service `namespace`/`name` (names the API server accepted: at most 63 of [a-z0-9.-]). */
export function kubeServiceTag(prefix: string, namespace: string, name: string): string {
  for (const [what, v] of [
    ["namespace", namespace],
    ["name", name],
  ] as const) {
    if (!KUBE_NAME_RE.test(v)) throw new NetmatrixError("invalid-argument", `Service ${what} ${JSON.stringify(v)} must be 1..63 characters of [a-z0-9.-]`);
  }
  return `${kubeTagPrefix(prefix)}${namespace}/${name}`;
}

function comment(tag: string): string[] {
  return ["-m", "comment", "--comment", tag];
}

/** `family`'s marker on a rule: nothing for ipv4 (the rules stay as before families). */
function fam(family: RuleFamily): Pick<NatRule, "family"> {
  return family === "ipv6" ? { family } : {};
}

/** DNAT `dst`:service → backend:backend port, in PREROUTING and OUTPUT (ipv6: `dst/128`, `[backend]:port`). */
export function dnatRules(dst: string, backend: string, ports: PortMap[], protos: L4[], tag: string, family: RuleFamily = "ipv4"): NatRule[] {
  const rules: NatRule[] = [];
  const v6 = family === "ipv6";
  for (const proto of protos) {
    for (const p of ports) {
      const to = v6 ? `[${backend}]:${p.backend}` : `${backend}:${p.backend}`;
      const args = ["-d", `${dst}/${v6 ? 128 : 32}`, "-p", proto, "-m", proto, "--dport", String(p.service), ...comment(tag), "-j", "DNAT", "--to-destination", to];
      rules.push({ chain: "PREROUTING", args, ...fam(family) }, { chain: "OUTPUT", args, ...fam(family) });
    }
  }
  return rules;
}

/**
 * MASQUERADE connections DNATed from `dst`:service (optionally only those
 * leaving through `outIf`), so the backend's replies come back through this
 * node, whose conntrack undoes both translations.
 */
export function masqueradeRules(dst: string, ports: PortMap[], protos: L4[], tag: string, outIf?: string, family: RuleFamily = "ipv4"): NatRule[] {
  const rules: NatRule[] = [];
  for (const proto of protos) {
    for (const p of ports) {
      const args = [...(outIf ? ["-o", outIf] : []), "-p", proto, "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdst", dst, "--ctorigdstport", String(p.service)];
      rules.push({ chain: "POSTROUTING", args: [...args, ...comment(tag), "-j", "MASQUERADE"], ...fam(family) });
    }
  }
  return rules;
}

/** Split one `iptables -S` line into argv words, honouring double quotes. */
export function splitRuleLine(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  return words;
}

/** The comment tag of a parsed rule, if any. */
function tagOf(words: string[]): string | undefined {
  const i = words.indexOf("--comment");
  return i >= 0 ? words[i + 1] : undefined;
}

/** Rules (as `-A CHAIN …` words) of `family`'s nat table in `ns` whose tag satisfies `match`. */
export async function listTagged(ns: string, match: (tag: string) => boolean, family: RuleFamily = "ipv4"): Promise<string[][]> {
  const out = await inNs(ns, [iptablesBin(family), "-w", "-t", "nat", "-S"]);
  const rules: string[][] = [];
  for (const line of out.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const words = splitRuleLine(line);
    const tag = tagOf(words);
    if (tag !== undefined && match(tag)) rules.push(words);
  }
  return rules;
}

/** The argv appending `rule` to its family's nat table. Pure. */
export function addRuleArgv(rule: NatRule): string[] {
  return [iptablesBin(rule.family), "-w", "-t", "nat", "-A", rule.chain, ...rule.args];
}

/** Append `rules` to the nat table (of each rule's family) in `ns`. */
export async function addRules(ns: string, rules: NatRule[]): Promise<void> {
  for (const r of rules) await inNs(ns, addRuleArgv(r));
}

/** A rule of the nat table with the counters iptables kept for it. */
export interface CountedRule {
  /** The rule as `-A CHAIN …` words (what `iptables -D` takes after the `-A`). */
  words: string[];
  /** The rule as iptables-save printed it, less the counters. */
  text: string;
  /** Its comment tag, if any. */
  tag: string | undefined;
  packets: number;
  bytes: number;
  /** Absent: ipv4 (iptables). */
  family?: RuleFamily;
}

/**
 * The rules of `table` in `iptables-save -c` output with their exact
 * counters: `[PACKETS:BYTES] -A CHAIN …` lines of the `*TABLE` section
 * (chain policies and other tables are skipped). Pure.
 */
export function parseSaveCounters(out: string, table = "nat"): CountedRule[] {
  const rules: CountedRule[] = [];
  let current: string | undefined;
  for (const raw of out.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) current = line.slice(1);
    else if (line === "COMMIT") current = undefined;
    if (current !== table) continue;
    const m = /^\[(\d+):(\d+)\]\s+(-A\s.*)$/.exec(line);
    if (!m) continue;
    const words = splitRuleLine(m[3]!);
    rules.push({ words, text: m[3]!, tag: tagOf(words), packets: Number(m[1]), bytes: Number(m[2]) });
  }
  return rules;
}

/** Rules of `family`'s nat table in `ns` whose tag satisfies `match`, with their counters: one `iptables-save -c` (`ip6tables-save -c`) call. */
export async function listCounted(ns: string, match: (tag: string) => boolean, family: RuleFamily = "ipv4"): Promise<CountedRule[]> {
  const out = await inNs(ns, [`${iptablesBin(family)}-save`, "-c", "-t", "nat"]);
  return parseSaveCounters(out)
    .filter((r) => r.tag !== undefined && match(r.tag))
    .map((r) => ({ ...r, ...fam(family) }));
}

/** What {@link deleteTagged} did: the tags whose rules went, and the rules it deleted with their last counters. */
export interface DeletedRules {
  tags: Set<string>;
  removed: CountedRule[];
}

/**
 * Delete every nat rule in `ns` whose tag satisfies `match`; returns the tags
 * whose rules were deleted and the rules this call deleted, with the counters
 * read (in one `iptables-save -c`) just before: what a rule counted after that
 * read and before its deletion is not in them. Rules vanishing meanwhile are
 * not an error (and not in `removed`: whoever deleted them has them).
 */
export async function deleteTagged(ns: string, match: (tag: string) => boolean, families: RuleFamily[] = ["ipv4"]): Promise<DeletedRules> {
  const gone: DeletedRules = { tags: new Set(), removed: [] };
  for (const family of families) {
    const bin = iptablesBin(family);
    for (const rule of await listCounted(ns, match, family)) {
      const res = await tryInNs(ns, [bin, "-w", "-t", "nat", "-D", ...rule.words.slice(1)]);
      if (!res.ok && !/does not exist|bad rule|no chain/i.test(res.error))
        throw new NetmatrixError("internal", `[${ns}] ${bin} -D ${rule.words.slice(1).join(" ")} failed: ${res.error}`);
      gone.tags.add(rule.tag!);
      if (res.ok) gone.removed.push(rule);
    }
  }
  return gone;
}
