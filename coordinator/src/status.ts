/** The public view of a registered agent. */
import { create } from "@bufbuild/protobuf";
import { AgentStatusSchema, type AgentStatus } from "../../gen/netmatrix/v1/control_pb.js";
import type { AgentLink } from "./agent-link.js";

export function agentStatus(link: AgentLink, busy = false): AgentStatus {
  return create(AgentStatusSchema, {
    agentId: link.id,
    info: link.info,
    connectedAtMs: link.connectedAtMs,
    lastSeenAgoMs: performance.now() - link.lastSeen,
    peer: link.peer,
    busy,
    addressCheck: link.addressCheck,
    ...(link.load ? { load: link.load } : {}),
  });
}
