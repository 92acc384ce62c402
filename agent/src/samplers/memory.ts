/**
 * Node memory from /proc/meminfo. Reader ({@link readMeminfo}) split from the
 * pure parser ({@link parseMeminfo}). The file is in kB (KiB, ×1024).
 */
import { readFileSync } from "node:fs";

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

/** The value of `Key:   123 kB` in bytes, or undefined when the key is absent. */
function kbField(text: string, key: string): number | undefined {
  let at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`);
  if (at < 0) return undefined;
  if (at > 0) at++;
  let i = at + key.length;
  const len = text.length;
  while (i < len && text.charCodeAt(i) === 32) i++;
  let n = 0;
  let digits = 0;
  for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? undefined : n * 1024;
}

/**
 * Parse /proc/meminfo. Undefined without MemTotal or MemFree. Kernels before
 * 3.14 lack MemAvailable; then available is approximated as
 * free + buffers + cached.
 */
export function parseMeminfo(text: string): MemoryInfo | undefined {
  const totalBytes = kbField(text, "MemTotal:");
  const freeBytes = kbField(text, "MemFree:");
  if (totalBytes === undefined || freeBytes === undefined) return undefined;
  const buffersBytes = kbField(text, "Buffers:") ?? 0;
  const cachedBytes = kbField(text, "Cached:") ?? 0;
  const availableBytes = kbField(text, "MemAvailable:") ?? Math.min(totalBytes, freeBytes + buffersBytes + cachedBytes);
  return { totalBytes, availableBytes, usedBytes: totalBytes - availableBytes, freeBytes, buffersBytes, cachedBytes };
}

/** One synchronous read and parse of `${procRoot}/meminfo`; undefined when unreadable. */
export function readMeminfo(procRoot: string): MemoryInfo | undefined {
  try {
    return parseMeminfo(readFileSync(`${procRoot}/meminfo`, "utf8"));
  } catch {
    return undefined;
  }
}
