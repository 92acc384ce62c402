/**
 * fast-check arbitraries of NodeSample init objects (for `create(NodeSampleSchema, …)`),
 * shared by the byte-exact encoder tests (common/src/proto-wire.test.ts,
 * coordinator/src/watch-wire.test.ts): the values that trip encoders up
 * (+0 and -0, NaN, infinities, varint boundaries, non-ASCII and long strings)
 * among random ones, and any field possibly absent.
 */
import fc from "fast-check";

export const dbl = fc.oneof(fc.constantFrom(0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 1e12, 2 ** 53), fc.double());
export const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
export const str = fc.oneof(fc.constantFrom("", "eth0", "vethé", "网卡", "a".repeat(200)), fc.string({ unit: "grapheme", maxLength: 20 }));

const rate = fc.record(
  {
    name: str,
    rxBps: dbl,
    txBps: dbl,
    rxPps: dbl,
    txPps: dbl,
    rxDropsPerS: dbl,
    txDropsPerS: dbl,
    rxErrorsPerS: dbl,
    txErrorsPerS: dbl,
    rxBytesTotal: dbl,
    txBytesTotal: dbl,
  },
  { requiredKeys: [] },
);

/** A NodeSample init with up to `interfaces` interfaces and `cores` per-core percentages. */
export function nodeSample({ interfaces = 5, cores = 20 }: { interfaces?: number; cores?: number } = {}) {
  const cpu = fc.record(
    {
      totalPercent: dbl,
      userPercent: dbl,
      systemPercent: dbl,
      softirqPercent: dbl,
      irqPercent: dbl,
      iowaitPercent: dbl,
      stealPercent: dbl,
      perCorePercent: fc.array(dbl, { maxLength: cores }),
      procsRunning: u32,
    },
    { requiredKeys: [] },
  );
  return fc.record(
    {
      wallMs: dbl,
      intervalMs: dbl,
      interfaces: fc.array(rate, { maxLength: interfaces }),
      cpu,
      memory: fc.record({ totalBytes: dbl, availableBytes: dbl, usedBytes: dbl }, { requiredKeys: [] }),
      processes: fc.array(fc.record({ pid: u32, name: str, cpuPercent: dbl, rssBytes: dbl, role: str }, { requiredKeys: [] }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );
}
