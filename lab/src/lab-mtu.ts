/**
 * `netmatrix lab up|run --mtu`: the lab's MTUs as written on the command
 * line — `9000` (the nodes' underlay, the pods' network following it, less
 * VXLAN's 50-byte header for vxlan), or `node=9000,pod=8950` (either or both).
 * Each in {@link MTU_BOUNDS}; whether the pod MTU fits the node's is the
 * plan's check (planTopology), which knows the CNI. Pure.
 */
import { NetmatrixError } from "../../common/src/errors.js";
import { MTU_BOUNDS } from "./topology-plan.js";

/** What `--mtu` sets: the underlay's MTU (`mtu`) and the pod network's (`podMtu`); absent = the default. */
export interface LabMtu {
  mtu?: number;
  podMtu?: number;
}

const FORMS = "write e.g. `--mtu 9000` (nodes and pods), or `--mtu node=9000,pod=8950`";

function bytes(what: string, text: string): number {
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n)) throw new NetmatrixError("invalid-argument", `--mtu: ${what} MTU "${text}" is not a whole number of bytes; ${FORMS}`);
  if (n < MTU_BOUNDS.min || n > MTU_BOUNDS.max) {
    throw new NetmatrixError(
      "invalid-argument",
      `--mtu: ${what} MTU ${n} is outside ${MTU_BOUNDS.min}..${MTU_BOUNDS.max} bytes; use a value in that range (1500 Ethernet, 9000 or 9001 jumbo frames)`,
    );
  }
  return n;
}

/** `--mtu`'s value, read and bounded; throws naming the problem and the forms it takes. */
export function parseLabMtu(text: string): LabMtu {
  const t = text.trim();
  if (!t.includes("=")) return { mtu: bytes("node", t) };
  const out: LabMtu = {};
  for (const part of t.split(",")) {
    const m = /^\s*(node|pod)\s*=\s*(\S*)\s*$/.exec(part);
    if (!m) throw new NetmatrixError("invalid-argument", `--mtu: "${part.trim()}" is not node=BYTES or pod=BYTES; ${FORMS}`);
    const key = m[1] === "node" ? "mtu" : "podMtu";
    if (out[key] !== undefined) throw new NetmatrixError("invalid-argument", `--mtu: ${m[1]} is given twice; give each of node= and pod= once`);
    out[key] = bytes(m[1]!, m[2]!);
  }
  return out;
}
