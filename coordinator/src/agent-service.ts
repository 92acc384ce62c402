/**
 * The coordinator's side of agent sessions (authenticated before they get
 * here, by the auth interceptor): wait for the registration, check it
 * (bounded names and lists, the declared address against where the session
 * comes from, a name nobody else holds; else refused with the field and the
 * fix), list the agent, route its messages, drop it when the stream ends.
 * Sessions beyond the registration rate are refused at once with their turn
 * (RESOURCE_EXHAUSTED and a retry-after the agent honours).
 */
import type { Logger } from "pino";
import type { AgentMessage, AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { setRetryAfter } from "../../common/src/retry-after.js";
import { registrationError, registrationProblems } from "../../common/src/registration.js";
import { addressTrust, checkDeclaredAddress, type AddressCheck, type AddressTrust } from "./address-check.js";
import { AgentLink } from "./agent-link.js";
import type { RegistrationLimiter } from "./registration-limiter.js";
import { baseId, type Registry } from "./registry.js";

/** How long a new session may take to register, milliseconds. */
const REGISTER_TIMEOUT_MS = 10_000;

export interface AgentServiceDeps {
  registry: Registry;
  log: Logger;
  heartbeatIntervalMs: number;
  /** Declared addresses believed without seeing the agent connect from them (--trust-declared-addresses); default none. */
  trust?: AddressTrust;
  /** How many sessions are admitted a second; default: all. */
  registrations?: RegistrationLimiter;
}

/** Refused sessions are summed up in the log once per this many ms (one line each would be 10,000 lines after a restart). */
const REFUSALS_LOGGED_EVERY_MS = 5_000;

export function agentServiceHandlers(deps: AgentServiceDeps): ServiceImpl<typeof AgentService> {
  const { registry, log } = deps;
  const trust = deps.trust ?? addressTrust([]);
  let refusedSinceLog = 0;
  let refusalLog: NodeJS.Timeout | undefined;
  /** Refuse this session for now, with its turn: the agent comes back then (see RegistrationLimiter). */
  const refuseForNow = (call: Parameters<ServiceImpl<typeof AgentService>["session"]>[0], retryAfterMs: number, limiter: RegistrationLimiter): void => {
    const { ratePerS, burst } = limiter.limits;
    const e = new NetmatrixError(
      "resource-exhausted",
      `the coordinator is admitting agents at ${ratePerS} a second (${burst} at once) and has more dialling in now: come back in ${(retryAfterMs / 1000).toFixed(1)} s`,
      { hint: "nothing to fix: the agent comes back by itself at its turn; a coordinator for many agents may take more with --registration-rate" },
    );
    const se = toServiceError(e);
    setRetryAfter(se.metadata!, retryAfterMs);
    call.emit("error", se);
    log.debug({ peer: call.getPeer(), retryAfterMs }, "agent session refused for now: registration rate");
    refusedSinceLog++;
    refusalLog ??= setTimeout(() => {
      log.warn(
        { refused: refusedSinceLog, ratePerS, burst, lastRetryAfterMs: retryAfterMs },
        `${refusedSinceLog} agent sessions refused in the last ${REFUSALS_LOGGED_EVERY_MS / 1000} s beyond ${ratePerS} registrations a second (${burst} at once); each comes back at its turn`,
      );
      refusedSinceLog = 0;
      refusalLog = undefined;
    }, REFUSALS_LOGGED_EVERY_MS).unref();
  };
  return {
    session(call): void {
      // Beyond the registration rate (a whole cluster dialling in after a restart): refused before anything is read.
      const admission = deps.registrations?.admit();
      if (admission && !admission.admitted) return refuseForNow(call, admission.retryAfterMs, deps.registrations!);
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
