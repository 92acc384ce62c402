import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { describe, expect, test } from "vitest";
import { isListening, parseProcNetPorts, portsInUse } from "./listen-probe.js";
import { timeWaitPort } from "../../test/harness/time-wait.js";

// Captured from /proc/net/tcp on this machine (iperf3 -s -p 5201 listening, one established ssh).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1451 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41233 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A2C4 0100007F:1451 01 00000000:00000000 00:00000000 00000000     0        0 41300 1 0000000000000000 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:4E21 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 51 1 0000000000000000 100 0 0 10 0
`;

describe("parseProcNetPorts", () => {
  test.each([
    ["v4 listen", TCP, "0A", [5201]],
    ["v4 established", TCP, "01", [41668]],
    ["v6 listen", TCP6, "0A", [20001]],
    ["v4 any state", TCP, undefined, [5201, 41668]],
    ["garbage", "x\n\n  nonsense here", "0A", []],
  ])("%s", (_name, text, state, want) => {
    expect([...parseProcNetPorts(text, state)]).toEqual(want);
  });
});

describe("isListening (real sockets)", () => {
  test("tcp: false before listen, true while listening, false after close", async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    expect(isListening(port, "tcp")).toBe(true);
    await new Promise<void>((r) => srv.close(() => r()));
    expect(isListening(port, "tcp")).toBe(false);
  });
  test("udp: true while bound", async () => {
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const port = sock.address().port;
    expect(isListening(port, "udp")).toBe(true);
    expect(isListening(port, "tcp")).toBe(false);
    await new Promise<void>((r) => sock.close(() => r()));
  });
});

describe("portsInUse (real sockets)", () => {
  test("a port left in TIME_WAIT by the server's close is in use, though nothing listens on it", async () => {
    const port = await timeWaitPort();
    expect(isListening(port, "tcp")).toBe(false);
    expect(portsInUse().has(port)).toBe(true);
  });
});
