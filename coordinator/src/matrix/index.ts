/**
 * The matrix: spec (what to test) → planner (which agents, which cases) →
 * scheduler (which cases together, in what order) → stats (what the
 * repetitions say). Pure: reading a spec file is the CLI's (cli/src/spec-file.ts).
 */
export { combinations, parseSpec, specFromObject, SPEC_BOUNDS, SPEC_DEFAULTS, SPEC_KEYS, type MatrixSpec, type PairSelection, type Thresholds } from "./spec.js";
export { NO_LOCATION, SpecError, formatPath, type Locator, type SpecPath, type SpecPosition } from "./spec-error.js";
export { requestedSpec, specDocument, specFromJson, specFromMessage, specMessage } from "./spec-wire.js";
export { SCENARIOS, SCENARIO_SHAPES, isScenario, type Placement, type ScenarioName, type ScenarioShape, type ServiceKind, type Via } from "../../../common/src/scenarios.js";
export { formatBitrateBps, formatSizeBytes, parseBitrateBps, parseSizeBytes } from "../../../common/src/units.js";
export {
  allPairs,
  coverPairs,
  groupByLabel,
  nodeLabels,
  pairNames,
  ringPairs,
  samplePairs,
  selectNodes,
  stratifiedSample,
  type LabelGroups,
  type NodeLabels,
  type NodeSelection,
  type OrderedPairs,
  type SelectOptions,
} from "./pairs.js";
export { MAX_DATAGRAM_BYTES, paramKey, variants, type CaseProtocol, type Variant } from "./variants.js";
export { plan, type Plan, type PlannedCase, type PlannerAgent, type PlannerOptions, type Refusal } from "./planner.js";
export { pack, packPairs, roundsLowerBound, schedule, scheduleSteps, type Round, type SchedulableCase, type ScheduledRun, type ScheduleOptions } from "./scheduler.js";
export {
  CAP_BOUNDS,
  CASE_OVERHEAD_MS,
  checkDuration,
  checkPlanSize,
  DEFAULT_MATRIX_CAPS,
  drawnPairs,
  effectiveCaps,
  planSize,
  type CapSource,
  type EffectiveCaps,
  type MatrixCaps,
  type PlanSize,
} from "./size.js";
export { runSteps, runStepsAsync, type Steps } from "./steps.js";
export { CaseIds, PlanStream, planStream, type PlanTotals, type StreamRound } from "./stream.js";
export { describe, flags, ratio, type FlagContext, type Summary } from "../../../common/src/stats.js";
export { caseId, fingerprint } from "./hash.js";
export { naturalCompare } from "../../../common/src/natural-compare.js";
