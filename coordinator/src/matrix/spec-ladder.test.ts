/**
 * The `udp` key (`udp: ladder` and its detailed form): read, bounded and
 * refused with file:line and the fix; over the wire and back; and the
 * variants it makes (one ladder per UDP combination of a pacing tool,
 * instead of the udpBitrates).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MatrixSpecSchema, UdpLadderSchema } from "../../../gen/netmatrix/v1/matrix_pb.js";
import { parseSpec, specFromObject } from "./spec.js";
import { specDocument, specFromMessage, specMessage } from "./spec-wire.js";
import { variants } from "./variants.js";
import { LADDER_DEFAULTS } from "./spec-ladder.js";
import { expectRefused } from "./spec-testing.js";

const ok = "name: m\nscenarios: [host-host]\n";

describe("udp: ladder", () => {
  test.each<[string, string, unknown]>([
    ["absent: no ladder", ok, undefined],
    ["the short form: the defaults", `${ok}udp: ladder\n`, { lossPercent: 0.1, maxSteps: 8, stepDurationS: 2 }],
    ["the detailed form", `${ok}udp: { ladder: { lossPercent: 0.5, steps: 12, duration: 1 } }\n`, { lossPercent: 0.5, maxSteps: 12, stepDurationS: 1 }],
    ["the detailed form, block style, partly given", `${ok}udp:\n  ladder:\n    steps: 3\n`, { lossPercent: 0.1, maxSteps: 3, stepDurationS: 2 }],
    ["an empty ladder mapping: the defaults", `${ok}udp: { ladder: {} }\n`, LADDER_DEFAULTS],
    ["the bounds", `${ok}udp: { ladder: { lossPercent: 50, steps: 16, duration: 10 } }\n`, { lossPercent: 50, maxSteps: 16, stepDurationS: 10 }],
  ])("%s", (_what, text, want) => {
    expect(parseSpec(text, "spec.yaml").udpLadder).toEqual(want);
  });

  test.each([
    // [what, text, line, path, message, fix]
    [
      "a misspelt mode",
      `${ok}udp: ladderr\n`,
      3,
      "udp",
      'udp "ladderr" is not understood',
      "write `udp: ladder` or `udp: { ladder: { lossPercent: 0.1, steps: 8, duration: 2 } }`",
    ],
    ["a list", `${ok}udp: [ladder]\n`, 3, "udp", 'udp ["ladder"] is not understood', "write `udp: ladder`"],
    ["an unknown key under udp", `${ok}udp: { ladder: {}, rates: 3 }\n`, 3, "udp.rates", 'unknown key "rates" in udp', "use one of: ladder"],
    ["a misspelt key under ladder", `${ok}udp: { ladder: { step: 8 } }\n`, 3, "udp.ladder.step", 'unknown key "step" in udp.ladder', 'did you mean "steps"?'],
    ["ladder a number", `${ok}udp: { ladder: 8 }\n`, 3, "udp.ladder", "udp.ladder 8 is not a mapping", "write `udp: ladder`"],
    ["2 steps", `${ok}udp: { ladder: { steps: 2 } }\n`, 3, "udp.ladder.steps", "udp.ladder.steps 2 is outside 3..16", "use a value in 3..16"],
    ["17 steps", `${ok}udp: { ladder: { steps: 17 } }\n`, 3, "udp.ladder.steps", "udp.ladder.steps 17 is outside 3..16", "use a value in 3..16"],
    ["fractional steps", `${ok}udp: { ladder: { steps: 4.5 } }\n`, 3, "udp.ladder.steps", "udp.ladder.steps must be a whole number, got 4.5", "use a whole number in 3..16"],
    ["0 s steps", `${ok}udp: { ladder: { duration: 0 } }\n`, 3, "udp.ladder.duration", "udp.ladder.duration 0 s is outside 1..10 s", "use a value in 1..10"],
    ["11 s steps", `${ok}udp: { ladder: { duration: 11 } }\n`, 3, "udp.ladder.duration", "udp.ladder.duration 11 s is outside 1..10 s", "use a value in 1..10"],
    [
      "a zero loss threshold",
      `${ok}udp: { ladder: { lossPercent: 0 } }\n`,
      3,
      "udp.ladder.lossPercent",
      "udp.ladder.lossPercent 0 is not a number in 0.001..50 %",
      "use a number in 0.001..50",
    ],
    [
      "a loss threshold as text",
      `${ok}udp: { ladder: { lossPercent: "1%" } }\n`,
      3,
      "udp.ladder.lossPercent",
      'udp.ladder.lossPercent "1%" is not a number',
      "use a number in 0.001..50",
    ],
    ["a loss threshold above 50 %", `${ok}udp:\n  ladder:\n    lossPercent: 60\n`, 5, "udp.ladder.lossPercent", "is not a number in 0.001..50 %", "use a number"],
  ])("%s is refused with its line and the fix", (_what, text, line, path, message, fix) => {
    expectRefused(text, line, path, message, fix);
  });

  test("goes over the wire and back; a spec without it keeps its message and document unchanged", () => {
    const spec = specFromObject({ name: "l", scenarios: ["host-host"], protocols: ["udp"], udp: { ladder: { lossPercent: 0.2, steps: 5, duration: 1 } } });
    const m = specMessage(spec);
    expect(m.udpLadder).toMatchObject({ lossPercent: 0.2, maxSteps: 5, stepDurationS: 1 });
    expect(specFromMessage(fromBinary(MatrixSpecSchema, toBinary(MatrixSpecSchema, m)), "l.yaml")).toEqual(spec);
    expect(specDocument(spec).udp).toEqual({ ladder: { lossPercent: 0.2, steps: 5, duration: 1 } });
    const plain = specFromObject({ name: "p", scenarios: ["host-host"] });
    expect(specMessage(plain).udpLadder).toBeUndefined();
    expect("udp" in specDocument(plain)).toBe(false);
  });

  test("a hostile message's ladder is refused like the YAML's", () => {
    const m = specMessage(specFromObject({ name: "h", scenarios: ["host-host"], udp: "ladder" }));
    m.udpLadder = create(UdpLadderSchema, { lossPercent: 0, maxSteps: 99, stepDurationS: 0 });
    expect(() => specFromMessage(m, "h.yaml")).toThrow(/h\.yaml: 3 problems/);
  });
});

describe("variants with udp: ladder", () => {
  const keys = (o: Record<string, unknown>) =>
    variants(specFromObject({ name: "v", scenarios: ["host-host"], ...o }))
      .filter((v) => !v.skip)
      .map((v) => [v.paramKey, v.bitrateBps, v.ladder?.maxSteps, v.durationS, v.omitS]);

  test.each<[string, Record<string, unknown>, unknown[]]>([
    [
      "one ladder per UDP combination of a pacing tool instead of the bitrates; TCP unchanged",
      { tools: ["iperf3"], protocols: ["tcp", "udp"], udpBitrates: ["100M", "1G"], udp: "ladder", parallel: [1, 2] },
      [
        ["iperf3/tcp/forward/P1/L0", undefined, undefined, 10, 1],
        ["iperf3/tcp/forward/P2/L0", undefined, undefined, 10, 1],
        ["iperf3/udp/forward/P1/L0/ladder", undefined, 8, 16, 0],
        ["iperf3/udp/forward/P2/L0/ladder", undefined, 8, 16, 0],
      ],
    ],
    ["a tool that cannot pace keeps its one UDP case", { tools: ["qperf"], protocols: ["udp"], udp: "ladder" }, [["qperf/udp/forward/P1/L0", undefined, undefined, 10, 0]]],
    [
      "without the key, the bitrates as before",
      { tools: ["iperf3"], protocols: ["udp"], udpBitrates: ["100M", "1G"] },
      [
        ["iperf3/udp/forward/P1/L0/B100M", 1e8, undefined, 10, 1],
        ["iperf3/udp/forward/P1/L0/B1G", 1e9, undefined, 10, 1],
      ],
    ],
  ])("%s", (_what, o, want) => {
    expect(keys(o)).toEqual(want);
  });
});
