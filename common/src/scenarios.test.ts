import { describe, expect, test } from "vitest";
import { SCENARIOS, SCENARIO_SHAPES, isScenario } from "./scenarios.js";

describe("scenario catalog", () => {
  test.each(SCENARIOS.map((s) => [s]))("%s: shape is consistent", (name) => {
    const s = SCENARIO_SHAPES[name];
    expect(s.name).toBe(name);
    expect(isScenario(name)).toBe(true);
    // A Service path always names the kind of Service it needs, a direct one never does.
    expect(s.via === "direct").toBe(s.serviceKind === undefined);
    expect(s.placement === "external").toBe(s.clientMode === "external");
    if (s.placement === "same") expect(s.clientMode).toBe(s.serverMode);
  });

  test.each([["pod-pod"], ["Host-Host"], [""], [3]])("%j is not a scenario", (name) => {
    expect(isScenario(name)).toBe(false);
  });
});
