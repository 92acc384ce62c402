/**
 * The agent's static inventory, gathered once per registration: interfaces
 * (MTU, speed, addresses) from sysfs, kernel and CPU. Nothing here is on a hot
 * path; systeminformation is used only for the CPU's marketing name.
 */
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import si from "systeminformation";
import { create } from "@bufbuild/protobuf";
import { NetInterfaceSchema, type NetInterface } from "../../gen/netmatrix/v1/types_pb.js";
import { interfaceNameProblem, REGISTRATION_LIMITS } from "../../common/src/registration.js";
import { addressFamily } from "../../common/src/addresses.js";

/** A non-negative integer read from a sysfs file, or 0 (veth has no speed; reading it fails). */
function sysfsInt(path: string): number {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

function sysfsText(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

/** Interfaces of this network namespace with MTU, link speed (Mbit/s, 0 = unknown) and addresses. */
export function listInterfaces(sysClassNet = "/sys/class/net"): NetInterface[] {
  const byName = os.networkInterfaces();
  let names: string[];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    names = Object.keys(byName);
  }
  return names.sort().map((name) =>
    create(NetInterfaceSchema, {
      name,
      mtu: sysfsInt(`${sysClassNet}/${name}/mtu`),
      speedMbps: sysfsInt(`${sysClassNet}/${name}/speed`),
      addresses: (byName[name] ?? []).map((a) => a.address),
      mac: sysfsText(`${sysClassNet}/${name}/address`),
    }),
  );
}

/**
 * The address peers should use: the one given, else the first non-loopback
 * IPv4, else the first non-link-local IPv6, else 127.0.0.1.
 */
export function primaryAddress(interfaces: NetInterface[], given?: string): string {
  if (given) return given;
  const all = interfaces.filter((i) => i.name !== "lo").flatMap((i) => i.addresses);
  return all.find((a) => a.includes(".")) ?? all.find((a) => !a.startsWith("fe80")) ?? "127.0.0.1";
}

/**
 * The addresses registered after the primary (`addresses[0]`, what
 * coordinators before families target): every family the agent has — the
 * pod's IPs first (status.podIPs: which IPv6 address is the pod's), then the
 * interfaces' — without loopback, IPv6 link-local and duplicates, at most `max`.
 */
export function otherAddresses(primary: string, podIps: readonly string[], interfaces: readonly NetInterface[], max: number): string[] {
  const all = [...podIps, ...interfaces.flatMap((i) => (i.name === "lo" ? [] : i.addresses))];
  return [...new Set(all)].filter((a) => a !== primary && addressFamily(a) !== undefined).slice(0, max);
}

/** Kernel, CPU model and count, hostname. */
export async function kernelAndCpu(): Promise<{ kernel: string; cpuModel: string; cpuCount: number; hostname: string }> {
  const cpus = os.cpus();
  let cpuModel = cpus[0]?.model.trim() ?? "unknown";
  try {
    const c = await si.cpu();
    if (c.brand) cpuModel = `${c.manufacturer} ${c.brand}`.trim();
  } catch {
    // keep node's view
  }
  return { kernel: `${os.type()} ${os.release()}`, cpuModel, cpuCount: cpus.length, hostname: os.hostname() };
}

/**
 * The interfaces as the coordinator accepts them (common/src/registration.ts):
 * an interface whose name it would refuse is left out, lists beyond the limits
 * are cut (kube-proxy's IPVS mode puts every ClusterIP on kube-ipvs0), each
 * said in `notes` for the log; the inventory is informational, and an agent
 * that registers without them beats one that can never register.
 */
export function boundInterfaces(interfaces: NetInterface[]): { interfaces: NetInterface[]; notes: string[] } {
  const L = REGISTRATION_LIMITS;
  const notes: string[] = [];
  const kept: NetInterface[] = [];
  for (const iface of interfaces) {
    const problem = interfaceNameProblem(iface.name);
    if (problem) {
      notes.push(`interface ${problem}: left out of the registration`);
      continue;
    }
    if (kept.length === L.interfaces) {
      notes.push(`more than ${L.interfaces} interfaces: registering the first ${L.interfaces}`);
      break;
    }
    const addresses = iface.addresses.filter((a) => a.length <= 64);
    if (addresses.length > L.interfaceAddresses) notes.push(`interface ${iface.name} has ${addresses.length} addresses: registering the first ${L.interfaceAddresses}`);
    kept.push({ ...iface, addresses: addresses.slice(0, L.interfaceAddresses) });
  }
  return { interfaces: kept, notes };
}
