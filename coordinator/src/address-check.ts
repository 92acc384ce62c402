/**
 * Where traffic may go. An agent's declared address (`addresses[0]`) is where
 * other agents' tools will connect, so the coordinator believes it only when
 * it can see it: the agent's session must come from that address ("peer").
 * Otherwise the address is believed only when the operator said so on the
 * coordinator (`--trust-declared-addresses`: the lab, NAT) — "trusted" — or
 * the agent is kept as a client only — "unverified" (it said `--behind-nat`:
 * an external VM behind NAT or a port-forward). Anything else is refused.
 *
 * Before a client runs, {@link targetProblem} checks its target: the server
 * agent's own checked address (or the service the coordinator's own provider
 * put in front of it) and a port inside the server's declared range.
 */
import { BlockList, isIP } from "node:net";
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { familyAddress } from "../../common/src/addresses.js";
import type { FamilyName } from "../../common/src/model.js";

/** How an agent's declared address was checked. */
export type AddressCheck = "peer" | "trusted" | "unverified";

/** Which declared addresses the coordinator believes without seeing them. */
export interface AddressTrust {
  /** Whether `address` is trusted. */
  covers(address: string): boolean;
  /** For logs: "none", "all", or the list. */
  readonly description: string;
}

/** The address part of a grpc-js peer ("127.0.0.1:5000", "::1:5000", "::ffff:10.0.0.1:5000"), canonical; undefined when not an IP. */
export function peerHost(peer: string): string | undefined {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(peer);
  const host = m ? m[1]! : peer;
  return isIP(host) ? canonical(host) : undefined;
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 compressed and lower case. */
export function canonical(address: string): string {
  const v = isIP(address);
  if (v === 4) return address;
  if (v !== 6) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

export function isLoopback(address: string): boolean {
  const a = canonical(address);
  return a === "::1" || (isIP(a) === 4 && a.startsWith("127."));
}

/**
 * The trust of `--trust-declared-addresses`: undefined or [] trusts nothing
 * (the default), "all" everything, else IP addresses and CIDRs. Throws
 * naming a malformed entry.
 */
export function addressTrust(entries: readonly string[] | undefined): AddressTrust {
  const list = (entries ?? [])
    .flatMap((e) => e.split(","))
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (list.length === 0) return { covers: () => false, description: "none" };
  if (list.includes("all")) return { covers: () => true, description: "all" };
  const blocks = new BlockList();
  for (const entry of list) {
    const [addr, bits, extra] = entry.split("/");
    const v = isIP(addr ?? "");
    const prefix = bits === undefined ? (v === 4 ? 32 : 128) : Number(bits);
    if (v === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (v === 4 ? 32 : 128) || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new NetmatrixError("invalid-argument", `--trust-declared-addresses: "${entry}" is not an IP address or CIDR`, {
        hint: 'give "all", or a comma-separated list such as 198.18.0.0/15,203.0.113.7',
      });
    }
    blocks.addSubnet(canonical(addr!), prefix, v === 4 ? "ipv4" : "ipv6");
  }
  return {
    covers: (address) => {
      const a = canonical(address);
      const v = isIP(a);
      return v !== 0 && blocks.check(a, v === 4 ? "ipv4" : "ipv6");
    },
    description: list.join(","),
  };
}

/**
 * How `info`'s declared address checks against the session's `peer`; throws
 * a permission-denied NetmatrixError naming both addresses and the ways out.
 */
export function checkDeclaredAddress(info: AgentInfo, peer: string, trust: AddressTrust): AddressCheck {
  const declared = canonical(info.addresses[0] ?? "");
  const seen = peerHost(peer);
  if (seen !== undefined && declared === seen) return "peer";
  if (trust.covers(declared)) return "trusted";
  if (info.behindNat) return "unverified";
  throw new NetmatrixError("permission-denied", `registration refused: the agent declares address ${declared} but connects from ${seen ?? peer}`, {
    hint:
      `start the agent with --address ${seen ?? "IP-IT-CONNECTS-FROM"} (the address the coordinator sees it connect from); ` +
      "if NAT or a port-forward is between them, add --behind-nat to the agent (it is then only ever a client), " +
      `or start the coordinator with --trust-declared-addresses ${declared} to believe this address`,
  });
}

/**
 * The address of `info` a client targets over `family`: IPv4, the declared
 * (checked) primary; IPv6, its first registered IPv6 address that is neither
 * link-local nor IPv4-mapped (common/src/addresses.ts; the primary when that
 * is IPv6). Believed as far as the primary is (an agent whose primary is
 * unverified is no server at all: {@link serverProblem}).
 */
export function targetAddress(info: Pick<AgentInfo, "addresses">, family: FamilyName): string | undefined {
  return familyAddress(info.addresses, family);
}

/** What the coordinator knows of an agent that may be a target. */
export interface TargetAgent {
  readonly id: string;
  readonly info: AgentInfo;
  readonly addressCheck: AddressCheck;
  readonly closed: boolean;
}

/**
 * Why `server` may not be a target for `client` at all (before any server is
 * started), or undefined. A loopback address means "this machine" to the
 * client, so it is a target only for a client that is itself on the
 * coordinator's machine.
 */
export function serverProblem(client: TargetAgent, server: TargetAgent): NetmatrixError | undefined {
  const address = server.info.addresses[0] ?? "";
  if (server.addressCheck === "unverified") {
    return new NetmatrixError("permission-denied", `agent ${server.id} cannot be a server: its address ${address} is unverified (it registered --behind-nat)`, {
      hint: `use it as the client only, or start the coordinator with --trust-declared-addresses ${address} if that address really reaches it`,
    });
  }
  if (isLoopback(address) && !(client.addressCheck === "peer" && isLoopback(client.info.addresses[0] ?? ""))) {
    return new NetmatrixError("permission-denied", `agent ${server.id}'s address ${address} is loopback, which would point ${client.id} at its own machine`, {
      hint: "give agents on other machines their real --address",
    });
  }
  return undefined;
}

/** Why `port` (and `dataPort`, 0 = unused) of `server`'s tool server is outside its declared range, or undefined. */
export function portProblem(server: TargetAgent, port: number, dataPort: number): NetmatrixError | undefined {
  const { portMin, portMax } = server.info;
  const bad = [port, ...(dataPort === 0 ? [] : [dataPort])].find((p) => !Number.isInteger(p) || p < portMin || p > portMax || p < 1);
  if (bad === undefined) return undefined;
  return new NetmatrixError("permission-denied", `agent ${server.id} answered port ${bad}, outside its declared range ${portMin}–${portMax}`, {
    hint: "its tool servers must listen inside its --port-range; a server answering otherwise is not a netmatrix agent to trust",
  });
}

/**
 * Why the client may not connect to `target`:`port` (`dataPort`) for a case
 * against `server`, or undefined: the target is `server`'s own address (it
 * still connected) with ports in its range (none for a tool without a server),
 * or exactly the service the coordinator's provider created for this case.
 */
export function targetProblem(
  client: TargetAgent,
  server: TargetAgent,
  to: { target: string; port: number; dataPort: number; needsServer: boolean },
  service?: { address: string; port: number; dataPort: number },
): NetmatrixError | undefined {
  const problem = serverProblem(client, server);
  if (problem) return problem;
  // Gone before its client started: no agent is there any more (agent-gone, not a refusal).
  if (server.closed) return new NetmatrixError("unavailable", `agent ${server.id} left before the client started; its address is no target any more`);
  if (service) {
    if (to.target === service.address && to.port === service.port && to.dataPort === service.dataPort) return undefined;
    return new NetmatrixError("permission-denied", `target ${to.target}:${to.port} is not the service created for this case (${service.address}:${service.port})`);
  }
  const family = isIP(to.target) === 6 ? "ipv6" : "ipv4";
  if (canonical(to.target) !== canonical(targetAddress(server.info, family) ?? "")) {
    return new NetmatrixError("permission-denied", `target ${to.target} is not the registered ${family === "ipv6" ? "IPv6 " : ""}address of agent ${server.id}`);
  }
  if (!to.needsServer) return to.port === 0 && to.dataPort === 0 ? undefined : new NetmatrixError("permission-denied", `a tool without a server needs no port, got ${to.port}`);
  return portProblem(server, to.port, to.dataPort);
}
