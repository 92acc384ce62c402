/**
 * Deterministic, dependency-free hashing for the planner: short stable case
 * ids and a seeded random stream for `pairs: { sample: N }`. Not
 * cryptographic; stable across runs, platforms and Node versions. Pure.
 */

/** Murmur3's 32-bit finaliser: spreads every input bit over the output. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Two independent 32-bit lanes over the UTF-16 code units of `text`: an
 * FNV-1a lane and a second multiplicative lane with its own offset, both
 * finalised with `mix32`.
 */
export function hash64(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x6a09e667;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [mix32(a ^ text.length), mix32(b + Math.imul(a, 0x9e3779b1))];
}

/** Lane 1 of the hash of a two-part text, from the parts' hash64 lanes (order matters). */
export function joinLane1(prefix: number, suffix: number): number {
  return mix32((prefix ^ Math.imul(suffix, 0xcc9e2d51)) + 0x27d4eb2f);
}

/** Lane 2 of the hash of a two-part text, from the parts' hash64 lanes (order matters). */
export function joinLane2(prefix: number, suffix: number): number {
  return mix32(Math.imul(prefix + 0x165667b1, 0x1b873593) ^ suffix);
}

let HEX4: string[] | undefined;

/** 12 hex digits (48 bits) from two lanes: all of lane 1, the top 16 bits of lane 2. */
export function hex12(lane1: number, lane2: number): string {
  // A table of the 65536 four-digit groups: three lookups instead of two number→string conversions per id.
  const t = (HEX4 ??= Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, "0")));
  return t[lane1 >>> 16]! + t[lane1 & 0xffff]! + t[lane2 >>> 16]!;
}

/** The 48 bits of `hex12` as a number, for cheap collision checks. */
export function bits48(lane1: number, lane2: number): number {
  return lane1 * 65536 + (lane2 >>> 16);
}

/**
 * A case's id from its key "<parameters>/<client node>→<server node>": the
 * parameter part (up to and including the last "/") and each node name are
 * hashed separately and joined, so the planner hashes every node name once
 * instead of every key. 12 hex digits.
 */
export function caseId(key: string): string {
  const cut = key.lastIndexOf("/") + 1;
  const arrow = key.indexOf("→", cut);
  const [p1, p2] = hash64(key.slice(0, cut));
  const [c1, c2] = hash64(key.slice(cut, arrow));
  const [s1, s2] = hash64(key.slice(arrow + 1));
  return hex12(joinLane1(p1, joinLane1(c1, s1)), joinLane2(p2, joinLane2(c2, s2)));
}

/** `hexChars` (1–16) lowercase hex digits of hash64(text): the same text always gives the same id. */
export function fingerprint(text: string, hexChars = 12): string {
  const [a, b] = hash64(text);
  return (a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")).slice(0, hexChars);
}

/**
 * A seeded stream of uniform integers (xorshift32 over a state derived from
 * `seed`). Same seed, same sequence.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: string) {
    this.state = hash64(seed)[0] || 0x9e3779b9;
  }

  /** The next 32 random bits as an unsigned integer. */
  next32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** A uniform integer in [0, n) for n up to 2^53 (two draws, 53 bits of resolution). */
  below(n: number): number {
    const hi = this.next32() >>> 5; // 27 bits
    const lo = this.next32() >>> 6; // 26 bits
    const u = (hi * 67108864 + lo) / 9007199254740992; // [0, 1)
    return Math.floor(u * n);
  }
}
