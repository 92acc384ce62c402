import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { NetworkMode, NodeSampleSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { Feed, tickMessage } from "./feed.js";

const batch = (agentId: string, n: number, interfaces = 20) => ({
  agentId,
  node: agentId.split("/")[0]!,
  mode: NetworkMode.HOST,
  samples: [create(NodeSampleSchema, { wallMs: n, intervalMs: 100, interfaces: Array.from({ length: interfaces }, (_, k) => ({ name: `veth${k}`, rxBps: n, txBps: 2 * n })) })],
});

async function socketPair() {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as { port: number }).port;
  const connect = async () => {
    const server = new Promise<WebSocket>((r) => wss.once("connection", r));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => client.once("open", r));
    return { client, ws: await server };
  };
  return { wss, connect };
}

/** A browser that stops reading: its socket is paused, so the server's send buffer fills. */
const pause = (client: WebSocket) => (client as unknown as { _socket: { pause(): void } })._socket.pause();

describe("Feed over a real WebSocket whose browser stopped reading", () => {
  test("nothing queues in the coordinator: once the socket backs up, ticks are skipped, not buffered", async () => {
    const { wss, connect } = await socketPair();
    const { client, ws } = await connect();
    pause(client);
    const feed = new Feed(ws, 64 * 1024);
    let skipped = 0;
    let biggest = 0;
    for (let i = 1; i <= 20_000; i++) {
      // What the hub does every tick: ask, then send the whole tick or skip it.
      const tick = [batch("a/host", i), batch("b/host", i)];
      if (feed.ready()) {
        feed.send(tick);
        biggest = Math.max(biggest, tickMessage(tick).length);
      } else skipped++;
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    // Held for the stuck browser: the bound plus the one tick that crossed it.
    expect(ws.bufferedAmount).toBeLessThanOrEqual(64 * 1024 + biggest);
    expect(skipped).toBeGreaterThan(15_000);
    expect(feed.sent + skipped).toBe(20_000);
    client.terminate();
    await new Promise((r) => wss.close(r));
  });

  test("a browser that stays backed up is cut off once, after the stall bound; one that reads is not", async () => {
    const { wss, connect } = await socketPair();
    const stuck = await connect();
    const reading = await connect();
    pause(stuck.client);
    const stalls: string[] = [];
    const feeds = [stuck, reading].map((c, i) => new Feed(c.ws, 16 * 1024, { ms: 500, onStall: (r) => stalls.push(`${i}: ${r}`) }));
    const t0 = performance.now();
    // About 16 MB/s: enough to fill the kernel's socket buffers of the stuck one within the stall bound.
    for (let i = 1; performance.now() - t0 < 2500; i++) {
      for (const f of feeds) if (f.ready()) f.send([batch("a/host", i, 500), batch("b/host", i, 500)]);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(stalls).toEqual(["0: the browser took nothing for 1 s"]);
    expect(feeds[0]!.isStalled).toBe(true);
    expect(feeds[0]!.ready()).toBe(false);
    expect(feeds[1]!.sent).toBeGreaterThan(100);
    stuck.client.terminate();
    reading.client.terminate();
    await new Promise((r) => wss.close(r));
  });

  test("a browser that reads nothing is cut off even while its socket has room (it answers no ping); one that reads is not", async () => {
    const { wss, connect } = await socketPair();
    const stuck = await connect();
    const reading = await connect();
    pause(stuck.client);
    const stalls: string[] = [];
    const feeds = [stuck, reading].map((c, i) => new Feed(c.ws, 64 * 1024, { ms: 500, onStall: (r) => stalls.push(`${i}: ${r}`) }));
    // Small ticks: the kernel's buffers take them all, so the socket never backs up.
    for (let i = 1; i <= 20; i++) {
      for (const f of feeds) {
        if (f.ready()) f.send([batch("a/host", i, 2)]);
        f.checkStall();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stuck.ws.bufferedAmount).toBeLessThan(64 * 1024);
    expect(stalls).toEqual(["0: the browser took nothing for 1 s"]);
    expect(feeds[1]!.sent).toBe(20);
    stuck.client.terminate();
    reading.client.terminate();
    await new Promise((r) => wss.close(r));
  });

  test("a tick's JSON carries every agent, rates in bits/s per interface, and when it was sent", () => {
    const m = JSON.parse(tickMessage([batch("a/host", 5), batch("b/host", 6)], 1234));
    expect(m).toMatchObject({ type: "tick", sentAtMs: 1234 });
    expect(m.agents.map((a: { agentId: string }) => a.agentId)).toEqual(["a/host", "b/host"]);
    expect(m.agents[0]).toMatchObject({ agentId: "a/host", node: "a", mode: "host" });
    expect(m.agents[1].samples[0].interfaces[0]).toEqual({ name: "veth0", rxBps: 6, txBps: 12, rxPps: 0, txPps: 0 });
  });
});
