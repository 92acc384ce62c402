/**
 * Bounds on what an agent will generate. An agent is a traffic generator, so
 * it accepts only typed specs inside these limits, whoever asks.
 */
import { Direction, Protocol, Tool, type TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { driverOfWire } from "./index.js";

/** Inclusive bounds, in the units their names state. */
export const LIMITS = {
  durationS: { min: 1, max: 3600 },
  parallel: { min: 1, max: 128 },
  /** 100 Gbit/s */
  bitrateBps: { min: 0, max: 100e9 },
  /** UDP datagram payload can't exceed 65507 bytes; TCP buffers up to 16 MiB. */
  lengthBytesUdp: { min: 0, max: 65507 },
  lengthBytesTcp: { min: 0, max: 16 * 1024 * 1024 },
  windowBytes: { min: 0, max: 256 * 1024 * 1024 },
  mss: { min: 0, max: 65535 },
  omitS: { min: 0, max: 60 },
  pingCount: { min: 0, max: 100_000 },
  /** 0 = default 200 ms; ping below 200 ms needs root, below 2 ms is a flood. */
  pingIntervalMs: { min: 0, max: 60_000 },
  repetitions: { min: 1, max: 1000 },
} as const;

/** Every way `spec` breaks the limits, as sentences naming the field and the allowed range; empty when fine. */
export function specProblems(spec: TestSpec): string[] {
  const p: string[] = [];
  const check = (name: string, value: number, b: { min: number; max: number }, unit = ""): void => {
    if (!Number.isFinite(value) || value < b.min || value > b.max) {
      p.push(`${name} ${value}${unit} is outside ${b.min}..${b.max}${unit}`);
    }
  };
  const driver = driverOfWire(spec.tool);
  if (spec.tool === Tool.UNSPECIFIED) p.push("tool is not set");
  else if (!driver) p.push(`tool ${spec.tool} is unknown`);
  if (spec.protocol === Protocol.UNSPECIFIED && driver?.capabilities.transport !== "icmp") p.push("protocol is not set");
  if (spec.direction === Direction.UNSPECIFIED) p.push("direction is not set");
  check("duration", spec.durationS, LIMITS.durationS, " s");
  check("parallel", spec.parallel === 0 ? 1 : spec.parallel, LIMITS.parallel);
  check("bitrate", spec.bitrateBps, LIMITS.bitrateBps, " bit/s");
  check("length", spec.lengthBytes, spec.protocol === Protocol.UDP ? LIMITS.lengthBytesUdp : LIMITS.lengthBytesTcp, " B");
  check("window", spec.windowBytes, LIMITS.windowBytes, " B");
  check("mss", spec.mss, LIMITS.mss, " B");
  check("omit", spec.omitS, LIMITS.omitS, " s");
  if (spec.omitS >= spec.durationS && spec.omitS > 0) p.push(`omit ${spec.omitS} s must be shorter than duration ${spec.durationS} s`);
  check("ping count", spec.pingCount, LIMITS.pingCount);
  check("ping interval", spec.pingIntervalMs, LIMITS.pingIntervalMs, " ms");
  if (spec.pingIntervalMs !== 0 && spec.pingIntervalMs < 200) p.push(`ping interval ${spec.pingIntervalMs} ms is below 200 ms (needs root and floods); use 200 or more`);
  return p;
}
