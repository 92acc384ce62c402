import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { loadSpecFile } from "./load.js";
import { SpecError } from "./spec-error.js";

describe("loadSpecFile", () => {
  test("reads and validates specs/default.yaml", async () => {
    const path = fileURLToPath(new URL("../../../specs/default.yaml", import.meta.url));
    const spec = await loadSpecFile(path);
    expect(spec.name).toBe("default");
    expect(spec.scenarios).toHaveLength(5);
  });

  test("a missing file is a SpecError naming the path", async () => {
    const err = await loadSpecFile("/nonexistent/netmatrix-spec.yaml").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecError);
    expect((err as SpecError).message).toBe(
      "/nonexistent/netmatrix-spec.yaml: cannot read the matrix spec (no such file); check the path; specs/default.yaml is the shipped example",
    );
  });
});
