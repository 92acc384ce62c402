/**
 * The import boundaries the build enforces (`npm run lint:deps`), README
 * "Layout":
 *
 *   gen ← common ← tools ← { agent, coordinator, lab, report } ← cli
 *
 * A folder imports only from its own layer's folder and the layers below it:
 * nothing imports upward, nor sideways between agent, coordinator, lab and
 * report (so the report imports neither the coordinator nor the CLI, the lab
 * nothing from the agent or the coordinator: it implements the coordinator's
 * service-provider interface from common/). No import cycle anywhere, type-only
 * imports included. An import that does not resolve is an error too, so a
 * typo cannot hide a dependency from these rules.
 *
 * Tests: a `*.test.ts` file obeys its folder's rules, with two additions:
 * the test harness (test/harness/) and the lab's namespace helpers
 * (lab/src/netns.ts), with which a unit test builds real veth paths instead
 * of mocking them. test/ (end-to-end) and bench/ sit above everything and may
 * import anything. Every file may read package.json; tests may read the JSON
 * schemas under docs/ (the contract they validate against).
 */

/** Every layer: its folder and the folders it may import from (its own included). */
const LAYERS = {
  gen: { path: "^gen/", may: ["gen"] },
  common: { path: "^common/src/", may: ["gen", "common"] },
  tools: { path: "^tools/src/", may: ["gen", "common", "tools"] },
  agent: { path: "^agent/src/", may: ["gen", "common", "tools", "agent"] },
  coordinator: { path: "^coordinator/src/", may: ["gen", "common", "tools", "coordinator"] },
  lab: { path: "^lab/src/", may: ["gen", "common", "tools", "lab"] },
  report: { path: "^report/src/", may: ["gen", "common", "tools", "report"] },
  cli: { path: "^cli/src/", may: ["gen", "common", "tools", "agent", "coordinator", "lab", "report", "cli"] },
};

const TEST_FILE = "\\.test\\.ts$";
/** What any file may import besides its layers: npm packages, Node's modules, the package manifest. */
const ALWAYS = ["^node_modules/", "^package\\.json$"];
/** What a test file may import besides its folder's layers. */
const FOR_TESTS = ["^test/harness/", "^lab/src/netns\\.ts$", "^docs/[^/]+\\.schema\\.json$"];

const either = (paths) => `(${paths.join("|")})`;

const layerRules = Object.entries(LAYERS).flatMap(([name, layer]) => {
  const allowed = layer.may.map((l) => LAYERS[l].path);
  return [
    {
      name: `layer-${name}`,
      severity: "error",
      comment: `${name} may import only from ${layer.may.join(", ")} (see the header of .dependency-cruiser.cjs and README "Layout").`,
      from: { path: layer.path, pathNot: TEST_FILE },
      to: { dependencyTypesNot: ["core"], pathNot: either([...allowed, ...ALWAYS]) },
    },
    {
      name: `layer-${name}-tests`,
      severity: "error",
      comment: `a test in ${name} may import what ${name} may, plus the test harness, the lab's netns helpers and the docs' JSON schemas.`,
      from: { path: `${layer.path}.*${TEST_FILE}` },
      to: { dependencyTypesNot: ["core"], pathNot: either([...allowed, ...ALWAYS, ...FOR_TESTS]) },
    },
  ];
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle (type-only imports included): move what both files need into a third file below them.",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that does not resolve (a typo, a missing package): these rules cannot see where it points.",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "shipped-not-to-harness",
      severity: "error",
      comment: "Code that ships (every layer's non-test files) never imports the test harness, the end-to-end tests or the benchmarks.",
      from: { path: either(Object.values(LAYERS).map((l) => l.path)), pathNot: TEST_FILE },
      to: { path: "^(test|bench)/" },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|dist-dev|node_modules)/" },
    // `import type` counts: a type-only import upward is still an upward dependency, and a type-only cycle still a cycle.
    tsPreCompilationDeps: true,
    moduleSystems: ["es6", "cjs"],
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
  },
};
