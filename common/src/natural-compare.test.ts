import { describe, expect, test } from "vitest";
import { naturalCompare } from "./natural-compare.js";

describe("naturalCompare", () => {
  test.each([
    [
      ["n10", "n2", "n1"],
      ["n1", "n2", "n10"],
    ],
    [
      ["node-b", "node-a", "node-10", "node-9"],
      ["node-9", "node-10", "node-a", "node-b"],
    ],
    [
      ["a1b2", "a1b10", "a1"],
      ["a1", "a1b2", "a1b10"],
    ],
    [
      ["n01", "n1", "n001"],
      ["n001", "n01", "n1"],
    ],
  ])("%j sorts to %j", (input, sorted) => {
    expect([...input].sort(naturalCompare)).toEqual(sorted);
  });
});
