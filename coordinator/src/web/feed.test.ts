import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { NetworkMode, NodeSampleSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { batchMessage, Feed } from "./feed.js";

const batch = (agentId: string, n: number, interfaces = 20) => ({
  agentId,
  node: agentId.split("/")[0]!,
  mode: NetworkMode.HOST,
  samples: [create(NodeSampleSchema, { wallMs: n, intervalMs: 100, interfaces: Array.from({ length: interfaces }, (_, k) => ({ name: `veth${k}`, rxBps: n, txBps: 2 * n })) })],
});

describe("Feed over a real WebSocket whose browser stopped reading", () => {
  test("the coordinator's queue stays bounded: newest batch per agent, the rest dropped", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    const port = (wss.address() as { port: number }).port;
    const server = new Promise<WebSocket>((r) => wss.once("connection", r));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => client.once("open", r));
    // A stuck browser: its socket stops reading, so the server's send buffer fills.
    (client as unknown as { _socket: { pause(): void } })._socket.pause();
    const ws = await server;
    const feed = new Feed(ws, 64 * 1024);
    for (let i = 1; i <= 20_000; i++) {
      feed.push(batch("a/host", i));
      feed.push(batch("b/host", i));
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(feed.backlog).toBeLessThanOrEqual(2);
    expect(ws.bufferedAmount).toBeLessThan(64 * 1024 + 10_000);
    expect(feed.dropped).toBeGreaterThan(30_000);
    expect(feed.sent + feed.dropped + feed.backlog).toBe(40_000);
    client.terminate();
    await new Promise((r) => wss.close(r));
  });

  test("a browser that stays backed up is cut off once, after the stall bound; one that reads is not", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise((r) => wss.once("listening", r));
    const port = (wss.address() as { port: number }).port;
    const connect = async () => {
      const server = new Promise<WebSocket>((r) => wss.once("connection", r));
      const client = new WebSocket(`ws://127.0.0.1:${port}`);
      await new Promise((r) => client.once("open", r));
      return { client, ws: await server };
    };
    const stuck = await connect();
    const reading = await connect();
    (stuck.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const stalls: string[] = [];
    const feeds = [stuck, reading].map((c, i) => new Feed(c.ws, 16 * 1024, { ms: 500, onStall: (r) => stalls.push(`${i}: ${r}`) }));
    const t0 = performance.now();
    // About 16 MB/s: enough to fill the kernel's socket buffers of the stuck one within the stall bound.
    for (let i = 1; performance.now() - t0 < 2500; i++) {
      for (const f of feeds) for (const a of ["a/host", "b/host"]) f.push(batch(a, i, 500));
      await new Promise((r) => setTimeout(r, 5));
      for (const f of feeds) f.flush();
    }
    expect(stalls).toEqual(["0: the browser took nothing for 1 s"]);
    expect(feeds[1]!.sent).toBeGreaterThan(100);
    stuck.client.terminate();
    reading.client.terminate();
    await new Promise((r) => wss.close(r));
  });

  test("batch JSON carries rates in bits/s per interface", () => {
    const m = JSON.parse(batchMessage(batch("a/host", 5)));
    expect(m).toMatchObject({ type: "batch", agentId: "a/host", mode: "host" });
    expect(m.samples[0].interfaces[0]).toEqual({ name: "veth0", rxBps: 5, txBps: 10, rxPps: 0, txPps: 0 });
  });
});
