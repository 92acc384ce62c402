/**
 * What an agent may say about itself when it registers: every name, list and
 * string in `AgentInfo` bounded in length and character set. The coordinator
 * checks it at the trust boundary (a registration is hostile until checked:
 * a 3.9 MB node name once broke `netmatrix agents` for everyone); the agent
 * and its CLI check their own with the same rules, so an operator's typo is
 * refused at start-up and an agent never sends a registration that cannot
 * succeed.
 *
 * Names follow Kubernetes' rules: node and pod names are DNS-1123 subdomains
 * (≤ 253 characters; upper case is accepted too, for host names outside a
 * cluster); interface names are Linux's (≤ 15 characters, no "/", ":" or
 * whitespace).
 */
import { isIP } from "node:net";
import { NetworkMode, Tool, type AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "./errors.js";
import { fingerprintProblems } from "./fingerprint-limits.js";

export const REGISTRATION_LIMITS = {
  /** Node and pod names: a DNS-1123 subdomain, as Kubernetes. */
  name: 253,
  /** Linux IFNAMSIZ − 1. */
  interfaceName: 15,
  /** Interfaces listed (a node with a veth per pod has a few hundred). */
  interfaces: 1024,
  /** Addresses in `addresses` (the first is the one peers target). */
  addresses: 256,
  /** Addresses of one interface (kube-proxy's IPVS mode puts every ClusterIP on kube-ipvs0; the agent lists the first ones). */
  interfaceAddresses: 256,
  /** Entries in `tools`. */
  tools: 16,
  /** Kernel, CPU model, host name. */
  text: 256,
  /** Tool and agent versions, Debian package names. */
  version: 64,
  /** A tool's path (PATH_MAX). */
  path: 4096,
  /** Why a tool on PATH cannot run, with the fix. */
  problem: 1024,
  /** The agent's instance id. */
  instanceId: 128,
  /** CPUs. */
  cpuCount: 65_536,
  /** Node labels (`--label KEY=VALUE`). */
  labels: 32,
  /** A label key's prefix ("topology.kubernetes.io"): a DNS-1123 subdomain, as Kubernetes. */
  labelPrefix: 253,
  /** A label key's name part and a label value, as Kubernetes. */
  labelName: 63,
} as const;

/** One thing wrong with a registration: the field, what is wrong (with the limit), and the fix. */
export interface RegistrationProblem {
  field: string;
  problem: string;
  fix: string;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
/** Printable ASCII except "/", ":" (Linux refuses them), quotes, "<", ">", "&", "`" and "\" (never needed, always trouble). */
const INTERFACE_NAME = /^[A-Za-z0-9!#$%()*+,.;=?@[\]^_{|}~-]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){0,31}$/i;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+:~_-]*$/;
const PACKAGE = /^[a-z0-9][a-z0-9.+-]*$/;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A short, safe rendering of a value for a message: never the whole of a huge one. */
export function preview(value: string, max = 40): string {
  const shown = JSON.stringify(value.length > max ? value.slice(0, max) : value);
  return value.length > max ? `${shown}… (${value.length} characters)` : shown;
}

/** Why `name` is not a valid node or pod name, or undefined when it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > REGISTRATION_LIMITS.name) return `is ${name.length} characters, above the limit of ${REGISTRATION_LIMITS.name}`;
  if (!DNS1123_SUBDOMAIN.test(name)) return `${preview(name)} is not a DNS-1123 subdomain (letters, digits, "-" and ".", a letter or digit at each end)`;
  return undefined;
}

/** A label key's name part or a non-empty label value: letters, digits, "-", "_" and ".", a letter or digit at each end. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** How to write a label, for fixes. */
export const LABEL_SYNTAX =
  'Kubernetes label syntax: KEY=VALUE, KEY an optional DNS-subdomain prefix and "/" then a name of at most 63 letters, digits, "-", "_" or "." (a letter or digit at each end), e.g. topology.kubernetes.io/zone=eu-west-1a; VALUE empty or like the name';

/** Why `key` is not a Kubernetes label key (e.g. "topology.kubernetes.io/zone", "rack"), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const L = REGISTRATION_LIMITS;
  if (key.length === 0) return "is empty";
  if (key.length > L.labelPrefix + 1 + L.labelName) return `${preview(key)} is ${key.length} characters, above the limit of ${L.labelPrefix + 1 + L.labelName}`;
  const slash = key.indexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > L.labelPrefix || !LABEL_PREFIX.test(prefix))) {
    return `${preview(key)} has a prefix that is not a lower-case DNS subdomain of at most ${L.labelPrefix} characters (before the "/")`;
  }
  if (name.length === 0) return `${preview(key)} has no name after the prefix`;
  if (name.length > L.labelName) return `${preview(key)} has a name of ${name.length} characters, above the limit of ${L.labelName}`;
  if (!LABEL_NAME.test(name)) return `${preview(key)} is not a label key (a name of letters, digits, "-", "_" and ".", a letter or digit at each end, after an optional "prefix/")`;
  return undefined;
}

/** Why `value` is not a Kubernetes label value (empty, or at most 63 letters, digits, "-", "_" and "."), or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > REGISTRATION_LIMITS.labelName) return `${preview(value)} is ${value.length} characters, above the limit of ${REGISTRATION_LIMITS.labelName}`;
  if (value !== "" && !LABEL_NAME.test(value)) return `${preview(value)} is not a label value (letters, digits, "-", "_" and ".", a letter or digit at each end)`;
  return undefined;
}

/** Everything wrong with a set of node labels: too many, or a key or value out of Kubernetes' syntax; each names the label. */
export function labelsProblems(labels: Readonly<Record<string, string>>, fix: string): RegistrationProblem[] {
  const keys = Object.keys(labels);
  if (keys.length > REGISTRATION_LIMITS.labels) {
    return [{ field: "labels", problem: `has ${keys.length} entries, above the limit of ${REGISTRATION_LIMITS.labels}`, fix }];
  }
  const out: RegistrationProblem[] = [];
  for (const key of keys) {
    const kp = labelKeyProblem(key);
    if (kp) out.push({ field: "labels", problem: `key ${kp}`, fix });
    const vp = labelValueProblem(labels[key]!);
    if (vp) out.push({ field: `labels[${preview(key)}]`, problem: `value ${vp}`, fix });
  }
  return out;
}

/**
 * Node labels from `KEY=VALUE` items, each item possibly a comma-separated
 * list (`--label a=1,b=2`, env NETMATRIX_NODE_LABELS="a=1,b=2"; a label value
 * cannot hold a comma). Throws (invalid-argument, naming the label and the
 * fix) on an item without "=", a key given twice, or a label out of
 * Kubernetes' syntax. `source` names where the items came from.
 */
export function parseLabels(items: readonly string[], source: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const fix = `give ${source} as ${LABEL_SYNTAX}`;
  for (const item of items.flatMap((i) => i.split(","))) {
    const text = item.trim();
    if (text === "") continue;
    const eq = text.indexOf("=");
    if (eq < 0) throw new NetmatrixError("invalid-argument", `${source}: ${preview(text)} is not KEY=VALUE`, { hint: fix });
    const key = text.slice(0, eq);
    if (Object.hasOwn(labels, key)) throw new NetmatrixError("invalid-argument", `${source}: label ${preview(key)} is given twice`, { hint: "give each label key once" });
    labels[key] = text.slice(eq + 1);
  }
  const problems = labelsProblems(labels, fix);
  if (problems.length) {
    throw new NetmatrixError("invalid-argument", `${source}: ${problems.map((p) => `${p.problem.startsWith("key ") ? "label" : p.field} ${p.problem}`).join("; ")}`, { hint: fix });
  }
  return labels;
}

/** Why `name` is not a valid Linux interface name (as netmatrix accepts them), or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > REGISTRATION_LIMITS.interfaceName) return `${preview(name)} is ${name.length} characters, above Linux's limit of ${REGISTRATION_LIMITS.interfaceName}`;
  if (name === "." || name === ".." || !INTERFACE_NAME.test(name))
    return `${preview(name)} has characters an interface name cannot have (/, :, whitespace, quotes, <, >, &, \`, \\)`;
  return undefined;
}

/** Why `address` is not a unicast IP address a peer could target, or undefined. */
export function addressProblem(address: string): string | undefined {
  if (address.length > 64 || isIP(address) === 0) return `${preview(address)} is not an IP address`;
  const a = address.toLowerCase();
  if (a === "0.0.0.0" || a === "::" || a.startsWith("0.")) return `${address} is the unspecified address`;
  if (isIP(a) === 6 && /^ff[0-9a-f]{2}:/.test(a)) return `${address} is a multicast address`;
  if (isIP(a) === 4 && Number(a.split(".")[0]) >= 224) return `${address} is a multicast or reserved address`;
  return undefined;
}

function text(field: string, value: string, max: number, out: RegistrationProblem[], fix: string): void {
  if (value.length > max) out.push({ field, problem: `is ${value.length} characters, above the limit of ${max}`, fix });
  else if (CONTROL.test(value)) out.push({ field, problem: `${preview(value)} contains control characters`, fix });
}

function pattern(field: string, value: string, max: number, re: RegExp, what: string, out: RegistrationProblem[], fix: string): void {
  if (value.length > max) out.push({ field, problem: `is ${value.length} characters, above the limit of ${max}`, fix });
  else if (value !== "" && !re.test(value)) out.push({ field, problem: `${preview(value)} is not ${what}`, fix });
}

const UPGRADE = "run a netmatrix agent of the coordinator's version (it builds this field itself)";

/**
 * Everything wrong with a registration (empty when it is acceptable). Stops
 * listing at 20 problems: a hostile registration gets an answer of bounded size.
 */
export function registrationProblems(info: AgentInfo, instanceId: string): RegistrationProblem[] {
  const out: RegistrationProblem[] = [];
  const L = REGISTRATION_LIMITS;
  const nodeProblem = nameProblem(info.node);
  if (nodeProblem) out.push({ field: "node", problem: nodeProblem, fix: "give the agent a Kubernetes-style node name with --node (env NETMATRIX_NODE), e.g. --node node-1" });
  if (info.pod !== "") {
    const podProblem = nameProblem(info.pod);
    if (podProblem) out.push({ field: "pod", problem: podProblem, fix: "give --pod (env NETMATRIX_POD) the pod's own name" });
  }
  if (info.mode === NetworkMode.UNSPECIFIED || NetworkMode[info.mode] === undefined) {
    out.push({ field: "mode", problem: `${info.mode} is not a known network mode`, fix: "start the agent with --mode host, pod or external" });
  }
  if (instanceId.length === 0 || instanceId.length > L.instanceId || !INSTANCE_ID.test(instanceId)) {
    out.push({ field: "instance_id", problem: `${preview(instanceId)} is not 1–${L.instanceId} characters of letters, digits, ".", "_", ":" and "-"`, fix: UPGRADE });
  }
  if (info.addresses.length === 0) {
    out.push({ field: "addresses", problem: "is empty: peers would have no address to reach this agent on", fix: "start the agent with --address IP (env NETMATRIX_ADDRESS)" });
  } else if (info.addresses.length > L.addresses) {
    out.push({ field: "addresses", problem: `has ${info.addresses.length} entries, above the limit of ${L.addresses}`, fix: UPGRADE });
  } else {
    const primary = addressProblem(info.addresses[0]!);
    if (primary) out.push({ field: "addresses[0]", problem: primary, fix: "start the agent with --address set to the unicast IP address peers reach it on" });
    info.addresses.slice(1).forEach((a, i) => {
      if (a.length > 64 || isIP(a) === 0) out.push({ field: `addresses[${i + 1}]`, problem: `${preview(a)} is not an IP address`, fix: UPGRADE });
    });
  }
  if (info.interfaces.length > L.interfaces) {
    out.push({ field: "interfaces", problem: `has ${info.interfaces.length} entries, above the limit of ${L.interfaces}`, fix: UPGRADE });
  } else {
    info.interfaces.forEach((iface, i) => {
      const field = `interfaces[${i}]`;
      const np = interfaceNameProblem(iface.name);
      if (np) out.push({ field: `${field}.name`, problem: np, fix: "rename the interface (ip link set OLD name NEW), or run an agent that skips it" });
      if (iface.addresses.length > L.interfaceAddresses) {
        out.push({ field: `${field}.addresses`, problem: `has ${iface.addresses.length} entries, above the limit of ${L.interfaceAddresses}`, fix: UPGRADE });
      } else {
        iface.addresses.forEach((a, j) => {
          if (a.length > 64 || isIP(a) === 0) out.push({ field: `${field}.addresses[${j}]`, problem: `${preview(a)} is not an IP address`, fix: UPGRADE });
        });
      }
      if (iface.mac !== "" && !MAC.test(iface.mac)) out.push({ field: `${field}.mac`, problem: `${preview(iface.mac)} is not a hardware address`, fix: UPGRADE });
    });
  }
  if (info.tools.length > L.tools) {
    out.push({ field: "tools", problem: `has ${info.tools.length} entries, above the limit of ${L.tools}`, fix: UPGRADE });
  } else {
    const seen = new Set<number>();
    info.tools.forEach((t, i) => {
      const field = `tools[${i}]`;
      if (t.tool === Tool.UNSPECIFIED || Tool[t.tool] === undefined) out.push({ field: `${field}.tool`, problem: `${t.tool} is not a known tool`, fix: UPGRADE });
      else if (seen.has(t.tool)) out.push({ field: `${field}.tool`, problem: `${Tool[t.tool]} is listed twice`, fix: UPGRADE });
      seen.add(t.tool);
      pattern(`${field}.version`, t.version, L.version, VERSION, "a version", out, UPGRADE);
      text(`${field}.path`, t.path, L.path, out, UPGRADE);
      pattern(`${field}.package`, t.package, L.version, PACKAGE, "a Debian package name", out, UPGRADE);
      text(`${field}.problem`, t.problem, L.problem, out, UPGRADE);
    });
  }
  text("kernel", info.kernel, L.text, out, UPGRADE);
  text("cpu_model", info.cpuModel, L.text, out, UPGRADE);
  text("hostname", info.hostname, L.text, out, UPGRADE);
  pattern("agent_version", info.agentVersion, L.version, VERSION, "a version", out, UPGRADE);
  out.push(...labelsProblems(info.labels, `start the agent with --label KEY=VALUE (env NETMATRIX_NODE_LABELS) in ${LABEL_SYNTAX}`));
  if (info.cpuCount > L.cpuCount) out.push({ field: "cpu_count", problem: `${info.cpuCount} is above the limit of ${L.cpuCount}`, fix: UPGRADE });
  if (info.portMin < 1 || info.portMax > 65_535 || info.portMin > info.portMax) {
    out.push({
      field: "port_min/port_max",
      problem: `${info.portMin}–${info.portMax} is not a port range within 1–65535`,
      fix: "start the agent with --port-range MIN-MAX (env NETMATRIX_PORT_RANGE), e.g. 20000-20999",
    });
  }
  if (info.fingerprint) for (const p of fingerprintProblems(info.fingerprint)) out.push({ field: `fingerprint.${p.field}`, problem: p.problem, fix: UPGRADE });
  return out.slice(0, 20);
}

/** The error a refused registration gets: every field named, with its limit and fix. */
export function registrationError(problems: RegistrationProblem[]): NetmatrixError {
  const message = `registration refused: ${problems.map((p) => `${p.field} ${p.problem}`).join("; ")}`;
  const hint = [...new Set(problems.map((p) => p.fix))].join("; ");
  return new NetmatrixError("invalid-argument", message, { hint });
}
