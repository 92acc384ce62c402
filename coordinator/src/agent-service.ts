/**
 * The coordinator's side of agent sessions (authenticated before they get
 * here, by the auth interceptor): wait for the registration, list the agent,
 * route its messages, drop it when the stream ends.
 */
import type { Logger } from "pino";
import type { AgentMessage, AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { AgentLink } from "./agent-link.js";
import type { Registry } from "./registry.js";

/** How long a new session may take to register, milliseconds. */
const REGISTER_TIMEOUT_MS = 10_000;

export interface AgentServiceDeps {
  registry: Registry;
  log: Logger;
  heartbeatIntervalMs: number;
}

export function agentServiceHandlers(deps: AgentServiceDeps): ServiceImpl<typeof AgentService> {
  const { registry, log } = deps;
  return {
    session(call): void {
      const peer = call.getPeer();
      let link: AgentLink | undefined;
      const timer = setTimeout(() => {
        call.emit("error", toServiceError(new NetmatrixError("deadline-exceeded", "no registration received")));
      }, REGISTER_TIMEOUT_MS);
      const finish = (reason: string): void => {
        clearTimeout(timer);
        if (!link || link.closed) return;
        link.onClosed(reason);
        registry.remove(link);
        log.info({ agentId: link.id, reason }, "agent left");
      };
      call.on("data", (m: AgentMessage) => {
        if (link) return link.onMessage(m);
        if (m.msg.case !== "register" || !m.msg.value.info) return;
        clearTimeout(timer);
        const { info, instanceId } = m.msg.value;
        const id = registry.idFor(info, instanceId);
        link = new AgentLink(id, instanceId, info, peer, call);
        const previous = registry.add(link);
        if (previous) {
          previous.onClosed("replaced by a new session of the same agent");
          previous.end();
        }
        log.info({ agentId: id, peer, address: info.addresses[0] }, "agent registered");
        link.send({ case: "registered", value: { agentId: id, heartbeatIntervalMs: deps.heartbeatIntervalMs } });
      });
      call.on("end", () => {
        finish("session closed by the agent");
        call.end();
      });
      call.on("error", (err: Error) => finish(`session error: ${err.message}`));
      call.on("cancelled", () => finish("session cancelled"));
      call.on("close", () => finish("session closed"));
    },
  };
}
