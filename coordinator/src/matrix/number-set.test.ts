import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { NumberSet } from "./number-set.js";

describe("NumberSet", () => {
  test.each([
    [
      [0, 1, 2],
      [3, 4],
    ],
    [[0], [1]],
    [
      [2 ** 40 + 7, 2 ** 52, 123456789012],
      [2 ** 40, 2 ** 52 - 1],
    ],
  ])("holds %j, not %j", (inside, outside) => {
    const s = new NumberSet(inside.length);
    for (const v of inside) s.add(v);
    for (const v of inside) s.add(v); // adding again is a no-op
    expect(s.size).toBe(inside.length);
    for (const v of inside) expect(s.has(v)).toBe(true);
    for (const v of outside) expect(s.has(v)).toBe(false);
  });

  test("refuses more than its capacity", () => {
    const s = new NumberSet(2);
    s.add(1);
    s.add(2);
    expect(() => s.add(3)).toThrow(RangeError);
  });

  test("agrees with Set<number>", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 2 ** 31 })), (adds, probes) => {
        const s = new NumberSet(adds.length);
        const ref = new Set<number>();
        for (const v of adds) {
          s.add(v);
          ref.add(v);
        }
        expect(s.size).toBe(ref.size);
        for (const v of [...adds, ...probes]) expect(s.has(v)).toBe(ref.has(v));
      }),
    );
  });
});
