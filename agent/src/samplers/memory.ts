/**
 * Node memory from /proc/meminfo. Reader ({@link readMeminfo}) split from the
 * pure parser ({@link parseMeminfo}). The file is in kB (KiB, ×1024).
 */
import { readFileSync } from "node:fs";
import { readUint, sameAscii, scan, skipBlanks, toBuffer } from "./bytes.js";

/** Node memory at one instant, in bytes. */
export interface MemoryInfo {
  /** MemTotal, bytes. */
  totalBytes: number;
  /** MemAvailable (the kernel's estimate of what can be allocated without swapping), bytes. */
  availableBytes: number;
  /** totalBytes − availableBytes, bytes. */
  usedBytes: number;
  /** MemFree (entirely unused), bytes. */
  freeBytes: number;
  /** Buffers, bytes. */
  buffersBytes: number;
  /** Cached (page cache), bytes. */
  cachedBytes: number;
}

const KEYS = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached"] as const;
const found = new Float64Array(KEYS.length);

/**
 * Parse /proc/meminfo (its text, or the bytes a read returned). Undefined
 * without MemTotal or MemFree. Kernels before 3.14 lack MemAvailable; then
 * available is approximated as free + buffers + cached.
 */
export function parseMeminfo(input: string | Uint8Array): MemoryInfo | undefined {
  const b = toBuffer(input);
  found.fill(NaN);
  let left = KEYS.length;
  let start = 0;
  while (start < b.length && left > 0) {
    let end = b.indexOf(10, start);
    if (end < 0) end = b.length;
    const colon = b.indexOf(58, start);
    if (colon > start && colon < end) {
      for (let k = 0; k < KEYS.length; k++) {
        if (Number.isNaN(found[k]!) && sameAscii(b, start, colon, KEYS[k]!) && readUint(b, skipBlanks(b, colon + 1))) {
          found[k] = scan.value * 1024;
          left--;
          break;
        }
      }
    }
    start = end + 1;
  }
  const totalBytes = found[0]!;
  const freeBytes = found[1]!;
  if (Number.isNaN(totalBytes) || Number.isNaN(freeBytes)) return undefined;
  const buffersBytes = Number.isNaN(found[3]!) ? 0 : found[3]!;
  const cachedBytes = Number.isNaN(found[4]!) ? 0 : found[4]!;
  const availableBytes = Number.isNaN(found[2]!) ? Math.min(totalBytes, freeBytes + buffersBytes + cachedBytes) : found[2]!;
  return { totalBytes, availableBytes, usedBytes: totalBytes - availableBytes, freeBytes, buffersBytes, cachedBytes };
}

/** One synchronous read and parse of `${procRoot}/meminfo`; undefined when unreadable. */
export function readMeminfo(procRoot: string): MemoryInfo | undefined {
  try {
    return parseMeminfo(readFileSync(`${procRoot}/meminfo`));
  } catch {
    return undefined;
  }
}
