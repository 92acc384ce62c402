/**
 * Why two runs' cases did not match, and why matched cases have no verdict,
 * in words a user can act on: "matched 26 of 60 cases; 34 only in A and 34
 * only in B differ only in their node pairs (A: node-1→node-2, B:
 * node-2→node-1): …give both specs the same `seed`". Each unmatched case is
 * put down to the first of: its test ran in the other run on other node
 * pairs (pairs), its scenario is not in the other run (scenario), its tool is
 * not in the other run's scenario (tool), else its parameters differ
 * (parameters); the most common cause leads, with the likeliest reason from
 * the two specs and node sets. Pure.
 */
import type { GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { matrixSpecDocument, type MatrixSpecDocument } from "../../common/src/matrix-spec.js";
import type { CaseComparison, CaseIdentity } from "./compare-types.js";

/** What the notes need to know of one run. */
export interface MatchSide {
  name: string;
  status: string;
  /** Distinct cases of the run. */
  cases: number;
  /** The spec with the YAML's keys; undefined when the run came without one. */
  spec: Partial<MatrixSpecDocument> | undefined;
  /** The nodes the run covered. */
  nodes: readonly string[];
}

/** One run as the notes see it: `cases` distinct cases over `nodes`. */
export function matchSide(resp: GetRunResponse, cases: number, nodes: readonly string[]): MatchSide {
  return { name: resp.info?.name ?? "", status: resp.info?.status ?? "", cases, spec: resp.spec ? matrixSpecDocument(resp.spec) : undefined, nodes };
}

type Cause = "pairs" | "scenario" | "tool" | "parameters";

/** Pairs listed per side before "…". */
const SHOWN = 4;

/** The match key without the node pair: what both runs must agree on besides the pair. */
function testKey(c: CaseIdentity): string {
  return c.matchKey.slice(0, c.matchKey.lastIndexOf("/"));
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Up to SHOWN items, then how many in all. */
function listed(items: readonly string[]): string {
  return items.length <= SHOWN ? items.join(", ") : `${items.slice(0, SHOWN).join(", ")}, … (${items.length} in all)`;
}

/** `pairs:` as written in a spec, for messages. */
function showPairs(p: MatrixSpecDocument["pairs"] | undefined): string {
  if (p === undefined) return "all (unset)";
  return typeof p === "string" ? p : JSON.stringify(p).replace(/"/g, "").replace(/[:,]/g, "$& ");
}

/** Why `x` (a case of one run) has no match in `other` (the other run's cases, matched or not). */
function causeOf(x: CaseIdentity, other: { tests: Set<string>; scenarios: Set<string>; tools: Set<string> }): Cause {
  if (other.tests.has(testKey(x))) return "pairs";
  if (!other.scenarios.has(x.scenario)) return "scenario";
  if (!other.tools.has(`${x.scenario}/${x.tool}`)) return "tool";
  return "parameters";
}

function indexOf(cases: readonly CaseIdentity[]): { tests: Set<string>; scenarios: Set<string>; tools: Set<string> } {
  return {
    tests: new Set(cases.map(testKey)),
    scenarios: new Set(cases.map((c) => c.scenario)),
    tools: new Set(cases.map((c) => `${c.scenario}/${c.tool}`)),
  };
}

/** The likeliest reason two runs measured the same tests on different node pairs, and its fix. */
function pairsReason(a: MatchSide, b: MatchSide): string {
  const pa = a.spec?.pairs;
  const pb = b.spec?.pairs;
  // A sample or a cover: drawn from the node names (and labels) and the seed.
  const sample = typeof pa === "object" && ("sample" in pa || "cover" in pa);
  const onlyA = a.nodes.filter((n) => !b.nodes.includes(n));
  const onlyB = b.nodes.filter((n) => !a.nodes.includes(n));
  if (a.spec && b.spec && JSON.stringify(pa) !== JSON.stringify(pb)) {
    return `the specs select different pairs (A: pairs: ${showPairs(pa)}, B: pairs: ${showPairs(pb)}) — give both the same \`pairs\``;
  }
  if (onlyA.length || onlyB.length) {
    const where = [onlyA.length ? `${listed(onlyA)} only in A` : "", onlyB.length ? `${listed(onlyB)} only in B` : ""].filter(Boolean).join("; ");
    return `the runs ran on different nodes (${where})${sample ? ", and a sample is drawn from the node names" : ""} — compare runs on clusters with the same node names`;
  }
  if (sample && a.spec?.seed !== undefined && b.spec?.seed !== undefined && a.spec.seed !== b.spec.seed) {
    return `the runs sampled different node pairs: their specs' seeds differ (A: seed ${a.spec.seed}, B: seed ${b.spec.seed}) — give both specs the same \`seed\``;
  }
  if (sample) {
    return (
      "the runs sampled different node pairs, although their seeds and nodes agree: a run recorded before netmatrix drew the sample from `seed` " +
      `drew it from the spec's name (A: "${a.name}", B: "${b.name}") — run both again with the same \`seed\``
    );
  }
  const unfinished = [a.status !== "finished" ? `A is ${a.status}` : "", b.status !== "finished" ? `B is ${b.status}` : ""].filter(Boolean);
  if (unfinished.length) return `one run did not finish (${unfinished.join(", ")}) — \`netmatrix run --resume RUN_ID\` measures the rest`;
  return "one run did not measure those pairs (an agent missing on a node, or cases refused and run with --allow-partial) — see each run's refused cases";
}

function scenarioReason(a: MatchSide, b: MatchSide, onlyA: readonly string[], onlyB: readonly string[]): string {
  const where = [onlyA.length ? `${listed(onlyA)} only in A` : "", onlyB.length ? `${listed(onlyB)} only in B` : ""].filter(Boolean).join("; ");
  const listedA = a.spec?.scenarios;
  const listedB = b.spec?.scenarios;
  if (listedA && listedB && JSON.stringify([...listedA].sort()) !== JSON.stringify([...listedB].sort())) {
    return `are of scenarios one run does not have (${where}): the specs list different scenarios — give both the same \`scenarios\``;
  }
  return `are of scenarios one run does not have (${where}): that run could not plan them (no service provider or external agent, run with --allow-partial) — run both where every scenario can run`;
}

/**
 * Notes on how well the cases of A and B matched (none when every case of
 * both matched), leading with the most common cause of the unmatched ones.
 */
export function matchingNotes(a: MatchSide, b: MatchSide, matched: readonly CaseComparison[], onlyInA: readonly CaseIdentity[], onlyInB: readonly CaseIdentity[]): string[] {
  if (onlyInA.length === 0 && onlyInB.length === 0) return [];
  const allA = indexOf([...matched, ...onlyInA]);
  const allB = indexOf([...matched, ...onlyInB]);
  const byCause = new Map<Cause, { a: CaseIdentity[]; b: CaseIdentity[] }>();
  const put = (side: "a" | "b", c: CaseIdentity, cause: Cause): void => {
    const e = byCause.get(cause) ?? { a: [], b: [] };
    byCause.set(cause, e);
    e[side].push(c);
  };
  for (const c of onlyInA) put("a", c, causeOf(c, allB));
  for (const c of onlyInB) put("b", c, causeOf(c, allA));

  const counts = (e: { a: CaseIdentity[]; b: CaseIdentity[] }): string =>
    e.a.length && e.b.length ? `${e.a.length} only in A and ${e.b.length} only in B` : e.a.length ? `${e.a.length} only in A` : `${e.b.length} only in B`;
  const clause = (cause: Cause, e: { a: CaseIdentity[]; b: CaseIdentity[] }): string => {
    switch (cause) {
      case "pairs": {
        const pairs = (list: CaseIdentity[]): string => listed([...new Set(list.map((c) => `${c.clientNode}→${c.serverNode}`))].sort());
        const shown = [e.a.length ? `A: ${pairs(e.a)}` : "", e.b.length ? `B: ${pairs(e.b)}` : ""].filter(Boolean).join(", ");
        return `${counts(e)} differ only in their node pairs (${shown}): ${pairsReason(a, b)}`;
      }
      case "scenario":
        return `${counts(e)} ${scenarioReason(a, b, [...new Set(e.a.map((c) => c.scenario))], [...new Set(e.b.map((c) => c.scenario))])}`;
      case "tool": {
        const tools = (list: CaseIdentity[]): string[] => [...new Set(list.map((c) => `${c.tool} in ${c.scenario}`))];
        const where = [e.a.length ? `${listed(tools(e.a))} only in A` : "", e.b.length ? `${listed(tools(e.b))} only in B` : ""].filter(Boolean).join("; ");
        const differ = a.spec?.tools && b.spec?.tools && JSON.stringify([...a.spec.tools].sort()) !== JSON.stringify([...b.spec.tools].sort());
        return `${counts(e)} use a tool the other run did not run in that scenario (${where}): ${differ ? "the specs list different tools — give both the same `tools`" : "it was missing or refused on some agents of one run — see each run's refused cases"}`;
      }
      case "parameters": {
        const tests = (list: CaseIdentity[]): string => listed([...new Set(list.map((c) => `${c.scenario} ${c.test}`))]);
        const shown = [e.a.length ? `A: ${tests(e.a)}` : "", e.b.length ? `B: ${tests(e.b)}` : ""].filter(Boolean).join("; ");
        return `${counts(e)} differ in their test parameters (protocol, direction, streams, length or bitrate; ${shown}) — give both specs the same protocols, directions, parallel, lengths and udpBitrates`;
      }
    }
  };
  const ranked = [...byCause].sort(([, x], [, y]) => y.a.length + y.b.length - (x.a.length + x.b.length));
  const total = a.cases === b.cases ? `${a.cases}` : `A's ${a.cases} and B's ${b.cases}`;
  const [first, ...rest] = ranked.map(([cause, e]) => clause(cause, e));
  return [`matched ${matched.length} of ${total} cases; ${first}${rest.map((r) => `; also ${r}`).join("")}.`];
}

/**
 * A note when matched cases have metrics without a verdict for want of
 * repetitions ("not tested (n<2)"), saying what each run ran and the fix.
 */
export function untestedNote(a: MatchSide, b: MatchSide, matched: readonly CaseComparison[]): string[] {
  const metrics = matched.flatMap((c) => c.metrics);
  const untested = metrics.filter((m) => m.verdict === "not tested (n<2)");
  if (untested.length === 0) return [];
  const head = `${untested.length} of ${plural(metrics.length, "comparison")} ${untested.length === 1 ? "has" : "have"} no verdict ("not tested (n<2)"): Welch's t-test needs at least 2 measured repetitions of a case in each run`;
  const ra = a.spec?.repetitions;
  const rb = b.spec?.repetitions;
  const few = [
    ra !== undefined && ra < 2 ? `A ran ${plural(ra, "repetition")} per case` : "",
    rb !== undefined && rb < 2 ? `B ran ${plural(rb, "repetition")} per case` : "",
  ].filter(Boolean);
  if (few.length) return [`${head}; ${few.join(", ")} — run both with \`--repetitions 3\` (or \`repetitions: 3\` in the spec; 3 or more to see a change).`];
  if (ra !== undefined && rb !== undefined)
    return [
      `${head}; both specs ask for at least 2, so repetitions failed or were not run — see the notes of those cases, and \`netmatrix run --resume RUN_ID\` for a run that did not finish.`,
    ];
  return [`${head} — run both with \`--repetitions 3\`.`];
}
