/**
 * Where a UDP ladder starts, pure: the same path's TCP result in this run
 * when there is one, else the carrying interfaces' speed (the slower end's,
 * when both agents know it), else 1 Gbit/s.
 */
import type { AgentInfo } from "../../../gen/netmatrix/v1/types_pb.js";

export const LADDER_DEFAULT_START_BPS = 1e9;

export type StartFrom = "tcp" | "nic" | "default";

/** The speed, bits/s, of the interface holding the agent's primary address; undefined when unknown (0: veth, virtual NICs). */
export function nicSpeedBps(info: Pick<AgentInfo, "addresses" | "interfaces">): number | undefined {
  const primary = info.addresses[0];
  const nic = info.interfaces.find((i) => primary !== undefined && i.addresses.some((a) => a === primary || a.split("/")[0] === primary));
  // Bounded: a speed above 1.6 Tbit/s is no NIC's (and an agent's answer is not trusted blindly).
  return nic && nic.speedMbps > 0 && nic.speedMbps <= 1_600_000 ? nic.speedMbps * 1e6 : undefined;
}

export function ladderStart(
  tcpBps: number | undefined,
  client: Pick<AgentInfo, "addresses" | "interfaces">,
  server: Pick<AgentInfo, "addresses" | "interfaces">,
): { bps: number; from: StartFrom } {
  if (tcpBps !== undefined && Number.isFinite(tcpBps) && tcpBps > 0) return { bps: tcpBps, from: "tcp" };
  const speeds = [nicSpeedBps(client), nicSpeedBps(server)].filter((s): s is number => s !== undefined);
  if (speeds.length) return { bps: Math.min(...speeds), from: "nic" };
  return { bps: LADDER_DEFAULT_START_BPS, from: "default" };
}

/** The key of a path for "the same path's TCP result": client and server agents, how the traffic goes, and the direction. */
export function ladderPathKey(c: { client: string; server: string; via: string; direction: string }): string {
  return `${c.client}\u0000${c.server}\u0000${c.via}\u0000${c.direction}`;
}
