/**
 * `npm run demo`: two nodes in network namespaces joined by a veth with a
 * 1 Gbit token bucket, a coordinator and an agent per node (real processes),
 * then every tool through the real CLI; prints the tables and removes
 * everything it created, also on Ctrl-C or failure.
 */
import { canUseNamespaces } from "./netns.js";
import { createPair, type Pair } from "./pair.js";

const CASES: [string, string[]][] = [
  ["iperf3 TCP, node-a → node-b", ["--tool", "iperf3", "--duration", "3"]],
  ["iperf3 TCP reverse, 4 streams", ["--tool", "iperf3", "--duration", "3", "--parallel", "4", "--reverse"]],
  ["iperf3 UDP at 500 Mbit/s", ["--tool", "iperf3", "--protocol", "udp", "--bitrate", "500M", "--duration", "3"]],
  ["iperf2 TCP, 8 streams", ["--tool", "iperf2", "--duration", "3", "--parallel", "8"]],
  ["iperf2 UDP at 300 Mbit/s (loss from the server side)", ["--tool", "iperf2", "--protocol", "udp", "--bitrate", "300M", "--duration", "3"]],
  ["qperf tcp_bw + tcp_lat", ["--tool", "qperf", "--duration", "2"]],
  ["ping, 10 echoes", ["--tool", "ping", "--count", "10"]],
];

async function main(): Promise<number> {
  if (!canUseNamespaces()) {
    console.error("npm run demo needs root: it builds two network namespaces joined by a veth pair (sudo npm run demo).");
    return 2;
  }
  console.log("building two nodes (namespaces nm-demo-a, nm-demo-b; 198.18.0.1 ↔ 198.18.0.2, tbf 1gbit on node-a) …");
  let pair: Pair | undefined;
  const cleanup = async (): Promise<void> => {
    await pair?.close();
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    pair = await createPair({ prefix: "nm-demo-", rate: "1gbit" });
    const agents = await pair.cli(["agents"]);
    console.log(agents.stdout);
    let failed = 0;
    for (const [title, args] of CASES) {
      console.log(`\n## ${title}`);
      const res = await pair.cli(["run", "--client", "node-a", "--server", "node-b", ...args]);
      console.log(res.stdout.trimEnd());
      if (res.code !== 0) {
        failed++;
        console.log(res.stderr.trimEnd());
      }
    }
    console.log(`\n${CASES.length - failed} of ${CASES.length} cases measured; theory for TCP over 1 Gbit: 956.4 Mbit/s (1e9 × 1448/1514).`);
    return failed ? 1 : 0;
  } finally {
    await cleanup();
    console.log("removed namespaces and processes.");
  }
}

process.exitCode = await main();
