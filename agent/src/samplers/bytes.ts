/**
 * Byte-level helpers shared by the procfs parsers. The parsers work on the
 * raw bytes a read returns (no decoded copy of the whole file per tick) and
 * accept text too, for tests and one-off use.
 */

/** The file as bytes: a Buffer view of a Uint8Array (no copy), or a string encoded as UTF-8. */
export function toBuffer(input: string | Uint8Array): Buffer {
  if (typeof input === "string") return Buffer.from(input, "utf8");
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** ' ', '\t', '\r' or '\n'. */
export function isSpace(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** True when b[from, to) is exactly the ASCII string `s` (never true for non-ASCII bytes). */
export function sameAscii(b: Uint8Array, from: number, to: number, s: string): boolean {
  if (s.length !== to - from) return false;
  for (let i = 0; i < s.length; i++) {
    const c = b[from + i]!;
    if (c > 127 || c !== s.charCodeAt(i)) return false;
  }
  return true;
}

/** Result of the last {@link readUint} (one shared object, so parsing allocates nothing). */
export const scan = {
  /** The value; exact up to 15 digits, rounded above. */
  value: 0,
  /** How many digits. */
  digits: 0,
  /** Index after the last digit. */
  end: 0,
};

/** Parse an unsigned decimal at b[at] into {@link scan}; false when b[at] is not a digit. */
export function readUint(b: Uint8Array, at: number): boolean {
  let i = at;
  let n = 0;
  let c = b[i];
  while (c !== undefined && c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = b[++i];
  }
  scan.value = n;
  scan.digits = i - at;
  scan.end = i;
  return i > at;
}

/** Index of the first non-blank (space or tab) byte at or after `at`. */
export function skipBlanks(b: Uint8Array, at: number): number {
  let i = at;
  for (let c = b[i]; c === 32 || c === 9; c = b[++i]);
  return i;
}
