/**
 * bench:truth, the ladder's part — does the UDP rate ladder find the link?
 *
 * On one veth path between two namespaces with a tbf on each side (1 Gbit by
 * default), run a matrix of one iperf3 UDP ladder per direction through
 * netmatrix and compare the rate found with the tbf rate × payload/wire
 * (payload: iperf3's own datagram length, from its figures). Exports
 * `truthLadder` for `npm run bench:truth`; runnable alone (as root):
 *
 *   node dist-dev/bench/truth-ladder.js [--rate 1gbit] [--steps 8] [--step-duration 2]
 */
import { isMain } from "./is-main.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { canUseNamespaces, rateLimit } from "../lab/src/netns.js";
import { parseBitrateBps } from "../common/src/units.js";
import { createPair } from "../test/harness/pair.js";
import { testSlot } from "../test/harness/slot.js";
import { datagramBytesOf, udpGoodputBps } from "../test/harness/udp-theory.js";

export interface LadderTruthRow {
  path: string;
  /** tbf rate, bits/s. */
  rateBps: number;
  datagramBytes: number;
  /** tbf rate × payload/wire, bits/s. */
  theoryBps: number;
  /** The ladder's found offered rate; null when no step kept loss under the threshold. */
  foundBps: number | null;
  receivedBps: number | null;
  lossPercent: number | null;
  steps: number;
  maxSteps: number;
  /** found / theory; null when nothing was found. */
  ratio: number | null;
  /** What made the lowest bad step above the found rate bad: its sender fell short of the offered rate (CPU), or loss; none without a bad step. */
  limitedBy: "sender" | "loss" | "none";
  stopReason: string;
}

/** Why the ladder stopped climbing: the lowest step asked above the found rate, its sender short (> 2 %) of it, or lossy. */
function limitedBy(l: LadderJson): LadderTruthRow["limitedBy"] {
  const above = l.steps.filter((s) => s.offeredBps > (l.foundOfferedBps ?? 0)).sort((a, b) => a.offeredBps - b.offeredBps)[0];
  if (!above) return "none";
  return above.sentBps !== null && above.sentBps < above.offeredBps * 0.98 ? "sender" : "loss";
}

export async function truthLadder(opts: { rate?: string; steps?: number; stepDurationS?: number } = {}): Promise<LadderTruthRow[]> {
  const rate = opts.rate ?? "1gbit";
  const rateBps = parseBitrateBps(rate);
  if (rateBps === undefined) throw new Error(`--rate ${rate} is not a tc rate such as 1gbit or 500mbit`);
  const slot = testSlot();
  const pair = await createPair({ prefix: slot.prefix("btlad"), block: slot.block, rate });
  const dir = mkdtempSync(join(tmpdir(), "nm-truth-ladder-"));
  try {
    await rateLimit(pair.nsB, "eth0", rate);
    const file = join(dir, "ladder.yaml");
    const ladder = `{ ladder: { steps: ${opts.steps ?? 8}, duration: ${opts.stepDurationS ?? 2} } }`;
    writeFileSync(file, ["name: truth-ladder", "scenarios: [host-host]", "tools: [iperf3]", "protocols: [udp]", "repetitions: 1", `udp: ${ladder}`, ""].join("\n"));
    const res = await pair.cli(["run", "--spec", file, "--output", "json"]);
    if (res.code !== 0) throw new Error(`netmatrix run failed (exit ${res.code}): ${res.stderr}`);
    const doc = JSON.parse(res.stdout) as {
      cases: { clientNode: string; serverNode: string; ladders?: (LadderJson | null)[]; repetitions: { measurement: Record<string, number> | null }[] }[];
    };
    return doc.cases.map((c) => {
      const l = c.ladders?.[0];
      if (!l) throw new Error(`case ${c.clientNode} → ${c.serverNode} has no ladder`);
      const datagram = datagramBytesOf(c.repetitions[0]?.measurement);
      if (datagram === undefined) throw new Error(`case ${c.clientNode} → ${c.serverNode}: no datagram figures in its repetition`);
      const theory = udpGoodputBps(rateBps, datagram);
      return {
        path: `${c.clientNode} → ${c.serverNode}`,
        rateBps,
        datagramBytes: datagram,
        theoryBps: theory,
        foundBps: l.foundOfferedBps,
        receivedBps: l.foundReceivedBps,
        lossPercent: l.foundLossPercent,
        steps: l.steps.length,
        maxSteps: l.maxSteps,
        ratio: l.foundOfferedBps === null ? null : l.foundOfferedBps / theory,
        limitedBy: limitedBy(l),
        stopReason: l.stopReason,
      };
    });
  } finally {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface LadderJson {
  foundOfferedBps: number | null;
  foundReceivedBps: number | null;
  foundLossPercent: number | null;
  maxSteps: number;
  stopReason: string;
  steps: { offeredBps: number; sentBps: number | null; good: boolean }[];
}

/** A row as one line: what the ladder found against tbf rate × payload/wire, and what limited it. */
export function ladderLine(r: LadderTruthRow): string {
  const mbit = (v: number | null) => (v === null ? "none" : `${(v / 1e6).toFixed(1)} Mbit/s`);
  return `${r.path}: ladder found ${mbit(r.foundBps)} (received ${mbit(r.receivedBps)}, loss ${r.lossPercent?.toFixed(3) ?? "-"} %) in ${r.steps}/${r.maxSteps} steps; tbf ${mbit(r.rateBps)} × ${r.datagramBytes}/${r.datagramBytes + 42} = ${mbit(r.theoryBps)}; ratio ${r.ratio?.toFixed(4) ?? "-"}; limited by ${r.limitedBy} (${r.stopReason})`;
}

if (isMain(import.meta.url)) {
  if (!canUseNamespaces()) {
    console.error("the ladder benchmark needs root (it builds two network namespaces joined by a veth pair).");
    process.exit(2);
  }
  const { values } = parseArgs({
    options: { rate: { type: "string", default: "1gbit" }, steps: { type: "string", default: "8" }, "step-duration": { type: "string", default: "2" } },
  });
  const rows = await truthLadder({ rate: values.rate, steps: Number(values.steps), stepDurationS: Number(values["step-duration"]) });
  for (const r of rows) console.log(ladderLine(r));
}
