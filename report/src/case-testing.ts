/** For the report tests (not built into dist): the identity of a plain case, spread under each test's own fields. */

/** iperf3 TCP forward from node n1 to node n2, one stream, the tools' defaults for everything else. */
export const PLAIN_CASE = {
  via: "direct",
  clientNode: "n1",
  serverNode: "n2",
  tool: "iperf3",
  protocol: "tcp",
  direction: "forward",
  parallel: 1,
  bitrateBps: 0,
  lengthBytes: 0,
  windowBytes: 0,
  mss: 0,
} as const;
