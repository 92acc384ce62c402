/**
 * The coordinator's side of agent sessions (authenticated before they get
 * here, by the auth interceptor): wait for the registration, check it
 * (bounded names and lists, the declared address against where the session
 * comes from, a name nobody else holds; else refused with the field and the
 * fix), list the agent, route its messages, drop it when the stream ends.
 */
import type { Logger } from "pino";
import type { AgentMessage, AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { registrationError, registrationProblems } from "../../common/src/registration.js";
import { addressTrust, checkDeclaredAddress, type AddressCheck, type AddressTrust } from "./address-check.js";
import { AgentLink } from "./agent-link.js";
import { baseId, type Registry } from "./registry.js";

/** How long a new session may take to register, milliseconds. */
const REGISTER_TIMEOUT_MS = 10_000;

export interface AgentServiceDeps {
  registry: Registry;
  log: Logger;
  heartbeatIntervalMs: number;
  /** Declared addresses believed without seeing the agent connect from them (--trust-declared-addresses); default none. */
  trust?: AddressTrust;
}

export function agentServiceHandlers(deps: AgentServiceDeps): ServiceImpl<typeof AgentService> {
  const { registry, log } = deps;
  const trust = deps.trust ?? addressTrust([]);
  return {
    session(call): void {
      const peer = call.getPeer();
      let link: AgentLink | undefined;
      /** A refused registration ends the session; anything after it is ignored. */
      let refused = false;
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
        // Whatever an agent sends, a throw here ends its session with a status, never the coordinator.
        try {
          onData(m);
        } catch (err) {
          log.warn({ peer, agentId: link?.id, err }, "agent session message refused");
          call.emit("error", toServiceError(err));
        }
      });
      const onData = (m: AgentMessage): void => {
        if (link) return link.onMessage(m);
        if (refused || m.msg.case !== "register") return;
        clearTimeout(timer);
        const { info, instanceId } = m.msg.value;
        let id: string | undefined;
        let addressCheck: AddressCheck;
        try {
          // Bounded and well-formed first (names, lists, strings), then where it comes from, then whose name it is.
          if (!info) throw new NetmatrixError("invalid-argument", "registration refused: it carries no agent info", { hint: "run a netmatrix agent of the coordinator's version" });
          const problems = registrationProblems(info, instanceId);
          if (problems.length) throw registrationError(problems);
          addressCheck = checkDeclaredAddress(info, peer, trust);
          id = baseId(info);
          registry.checkClaim(id, instanceId, peer);
        } catch (err) {
          refused = true;
          const e = NetmatrixError.from(err);
          log.warn({ peer, agentId: id, code: e.code, reason: e.message, hint: e.hint }, "registration refused");
          call.emit("error", toServiceError(e));
          return;
        }
        link = new AgentLink(id, instanceId, info, peer, call);
        link.addressCheck = addressCheck;
        const { previous, changes } = registry.add(link);
        if (previous) {
          previous.onClosed("replaced by a new session of the same agent");
          previous.end();
        }
        for (const change of changes) log.warn({ agentId: id, peer }, change);
        log.info({ agentId: id, peer, address: info.addresses[0], addressCheck, behindNat: info.behindNat }, "agent registered");
        if (addressCheck !== "peer") {
          log.warn(
            { agentId: id, peer, address: info.addresses[0] },
            addressCheck === "trusted"
              ? "agent's declared address is not where it connects from; believed (--trust-declared-addresses)"
              : "agent is behind NAT: its address is unverified, so it is only ever a client",
          );
        }
        link.send({ case: "registered", value: { agentId: id, heartbeatIntervalMs: deps.heartbeatIntervalMs } });
      };
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
