/**
 * An impostor coordinator for TLS tests: it serves the agent service behind
 * TLS with a certificate of the test's choosing (the coordinator's own
 * listener, so exactly what a real one does) and records the authorization
 * header of every call that reaches it — what an impostor would learn. Every
 * call is then refused, so no agent ever gets a command from it.
 */
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { implement, type ServiceImpl } from "../../common/src/grpc-adapter.js";
import { loadServerTls } from "../../common/src/tls.js";
import { listenGrpc } from "../../coordinator/src/listen.js";

export interface FakeCoordinator {
  port: number;
  /** The authorization header of every call received, in order ("" when there was none). */
  tokens: string[];
  close(): void;
}

export async function startFakeCoordinator(cert: { cert: string; key: string }, listen = "127.0.0.1:0"): Promise<FakeCoordinator> {
  const tokens: string[] = [];
  const server = new grpc.Server();
  const refuse = () => Promise.reject(new NetmatrixError("unavailable", "an impostor"));
  const handlers = Object.fromEntries(AgentService.methods.map((m) => [m.localName, refuse]));
  const binding = implement(AgentService, handlers as unknown as ServiceImpl<typeof AgentService>, {
    interceptors: [(ctx) => void tokens.push(String(ctx.metadata.get("authorization")[0] ?? ""))],
  });
  server.addService(binding.definition, binding.implementation);
  const listener = await listenGrpc(server, listen, loadServerTls(cert), { services: [AgentService] }, pino({ level: "silent" }));
  return {
    port: listener.port,
    tokens,
    close: () => {
      listener.close();
      server.forceShutdown();
    },
  };
}
