/**
 * bench:truth — do the numbers check themselves?
 *
 * 1. On one veth path limited by tbf to 1 Gbit/s, each throughput tool's
 *    median TCP figure through netmatrix against theory, 1e9 × 1448/1514
 *    (bars: iperf3 and iperf2 within 1 %, qperf within 3 %).
 * 2. On the same kind of path, the UDP rate ladder's found rate against the
 *    tbf rate × payload/wire.
 * 3. The lab (host-gw, --ipv6, 1 Gbit NICs): IPv4 against IPv6 iperf3 TCP
 *    throughput and ping RTT side by side, IPv6 against 1e9 × 1428/1514.
 *
 * Needs root (network namespaces). Misses are printed, never an exit code.
 *
 *   npm run bench:truth -- [--runs 3] [--duration 3] [--skip tools,ladder,ipv6]
 */
import { parseArgs } from "node:util";
import { canUseNamespaces } from "../lab/src/netns.js";
import { ipv6TruthTable, truthIpv6 } from "./truth-ipv6.js";
import { ladderLine, truthLadder } from "./truth-ladder.js";
import { rowLine, truthTools } from "./truth-tools.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    duration: { type: "string", default: "3" },
    skip: { type: "string", default: "" },
  },
});
if (!canUseNamespaces()) {
  console.error("bench:truth needs root: it builds network namespaces (a veth pair, and a lab).");
  process.exit(2);
}
const skip = new Set(values.skip.split(",").filter(Boolean));
const duration = Number(values.duration);

if (!skip.has("tools")) {
  console.log("1. each tool's median TCP throughput through netmatrix on a veth with a 1gbit tbf, against 1e9 × 1448/1514:");
  for (const r of await truthTools({ runs: Number(values.runs), durationS: duration, rate: "1gbit" })) console.log(`   ${rowLine(r)}`);
}
if (!skip.has("ladder")) {
  console.log("\n2. the UDP rate ladder on a veth with a 1gbit tbf (iperf3, loss < 0.1 %):");
  for (const r of await truthLadder({ rate: "1gbit" })) console.log(`   ${ladderLine(r)}`);
}
if (!skip.has("ipv6")) {
  console.log("\n3. the lab (host-gw --ipv6, 1 Gbit NICs): IPv4 against IPv6, iperf3 TCP and ping:");
  console.log(ipv6TruthTable(await truthIpv6({ durationS: Math.min(duration, 5), repetitions: 2 })));
}
