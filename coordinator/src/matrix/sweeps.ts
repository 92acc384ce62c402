/**
 * What `sweep` means for the spec keys that take it: `lengths: sweep`, the
 * message sizes of perf-tests' MSS sweep (64 B … 64 KiB, powers of two), and
 * `mss: sweep`, TCP maximum segment sizes from the IPv4 minimum to a 9000-byte
 * jumbo frame's. Sizes a path cannot carry are still asked for: the kernel
 * caps an MSS at the path's, and UDP lengths above a datagram's 65507 bytes
 * are skipped by the planner with the reason.
 */

/** `lengths: sweep`: 64, 128, …, 65536 bytes. */
export const LENGTH_SWEEP_BYTES: readonly number[] = Array.from({ length: 11 }, (_, i) => 64 * 2 ** i);

/**
 * `mss: sweep`, bytes: 536 (the IPv4 default MSS), 1220 (IPv6's minimum MTU
 * 1280 − 60), 1460 (a 1500-byte Ethernet MTU − 40), 2960 and 4460 (3000- and
 * 4500-byte MTUs), 8960 (a 9000-byte jumbo frame − 40).
 */
export const MSS_SWEEP_BYTES: readonly number[] = [536, 1220, 1460, 2960, 4460, 8960];
