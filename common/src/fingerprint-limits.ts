/**
 * What an agent's environment fingerprint (AgentInfo.fingerprint) may hold:
 * every list and string bounded. The agent builds its fingerprint within
 * these limits; the coordinator refuses a registration whose fingerprint is
 * outside them (a hostile agent must not fill the run's inventory.json).
 */
import { Encapsulation, KubeProxyMode, type Fingerprint } from "../../gen/netmatrix/v1/fingerprint_pb.js";

export const FINGERPRINT_LIMITS = {
  /** Interfaces listed (the agent keeps the first ones by name). */
  interfaces: 64,
  /** Kernel release, CPU model, governor; each evidence and note line. */
  text: 256,
  /** A driver or link kind name. */
  name: 64,
  /** Offload flags per interface, and the length of a flag's name. */
  offloads: 32,
  offloadName: 64,
  /** Evidence lines (encapsulation, kube-proxy) and notes. */
  lines: 16,
  /** RX/TX queues of one interface (Linux allows 4096 per device by default). */
  queues: 65_536,
  /** CPUs. */
  cpuCount: 65_536,
  /** Interface MTU (loopback's is 65536) and link speed, Mbit/s (1.6 Tbit/s). */
  mtu: 262_144,
  speedMbps: 1_600_000,
} as const;

/** One problem: the field and what is wrong with it (the same shape as a registration problem, without the fix). */
export interface FingerprintProblem {
  field: string;
  problem: string;
}

const OFFLOAD_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Linux interface names: no "/", ":", whitespace or control characters. */
// eslint-disable-next-line no-control-regex
const IFACE = /^[^/:\s\x00-\x1f\x7f]{1,15}$/;
/** One line of text without control characters. */
// eslint-disable-next-line no-control-regex
const TEXT = /^[^\x00-\x1f\x7f]*$/;

function text(field: string, value: string, max: number, out: FingerprintProblem[]): void {
  if (value.length > max) out.push({ field, problem: `is ${value.length} characters, above the limit of ${max}` });
  else if (!TEXT.test(value)) out.push({ field, problem: "holds control characters" });
}

function lines(field: string, values: readonly string[], out: FingerprintProblem[]): void {
  const L = FINGERPRINT_LIMITS;
  if (values.length > L.lines) out.push({ field, problem: `has ${values.length} entries, above the limit of ${L.lines}` });
  else values.forEach((v, i) => text(`${field}[${i}]`, v, L.text, out));
}

function count(field: string, value: number, max: number, out: FingerprintProblem[]): void {
  if (value > max) out.push({ field, problem: `${value} is above the limit of ${max}` });
}

/** Everything wrong with `fp` (empty when it is acceptable); at most `max` problems, so a hostile one gets a bounded answer. */
export function fingerprintProblems(fp: Fingerprint, max = 20): FingerprintProblem[] {
  const L = FINGERPRINT_LIMITS;
  const out: FingerprintProblem[] = [];
  text("kernel", fp.kernel, L.text, out);
  text("cpu_model", fp.cpuModel, L.text, out);
  text("governor", fp.governor, L.name, out);
  count("cpu_count", fp.cpuCount, L.cpuCount, out);
  if (Encapsulation[fp.encapsulation] === undefined) out.push({ field: "encapsulation", problem: `${fp.encapsulation} is not a known encapsulation` });
  if (KubeProxyMode[fp.kubeProxyMode] === undefined) out.push({ field: "kube_proxy_mode", problem: `${fp.kubeProxyMode} is not a known kube-proxy mode` });
  lines("encapsulation_evidence", fp.encapsulationEvidence, out);
  lines("kube_proxy_evidence", fp.kubeProxyEvidence, out);
  lines("notes", fp.notes, out);
  if (fp.interfaces.length > L.interfaces) {
    out.push({ field: "interfaces", problem: `has ${fp.interfaces.length} entries, above the limit of ${L.interfaces}` });
  } else {
    fp.interfaces.forEach((iface, i) => {
      const f = `interfaces[${i}]`;
      if (!IFACE.test(iface.name)) out.push({ field: `${f}.name`, problem: `${JSON.stringify(iface.name.slice(0, 40))} is not a Linux interface name` });
      text(`${f}.driver`, iface.driver, L.name, out);
      text(`${f}.kind`, iface.kind, L.name, out);
      count(`${f}.mtu`, iface.mtu, L.mtu, out);
      count(`${f}.speed_mbps`, iface.speedMbps, L.speedMbps, out);
      count(`${f}.rx_queues`, iface.rxQueues, L.queues, out);
      count(`${f}.tx_queues`, iface.txQueues, L.queues, out);
      const names = Object.keys(iface.offloads);
      if (names.length > L.offloads) out.push({ field: `${f}.offloads`, problem: `has ${names.length} entries, above the limit of ${L.offloads}` });
      else
        for (const n of names) {
          if (n.length > L.offloadName || !OFFLOAD_NAME.test(n)) out.push({ field: `${f}.offloads`, problem: `${JSON.stringify(n.slice(0, 40))} is not an ethtool feature name` });
        }
    });
  }
  return out.slice(0, max);
}

/** `s` cut to `max` characters, control characters replaced by spaces: how the agent keeps its own strings within the limits. */
export function clipText(s: string, max: number = FINGERPRINT_LIMITS.text): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, " ");
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
