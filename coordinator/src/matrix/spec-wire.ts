/**
 * The matrix spec on the wire and on disk: a validated spec as the
 * `MatrixSpec` message the CLI sends, and back through the one validator
 * (spec.ts `specFromObject`) wherever a message or a stored spec.json comes
 * in — the coordinator's trust boundary and a run directory. Pure.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { MatrixSpecSchema, type MatrixSpec as MatrixSpecMessage, type PairSelectionSchema } from "../../../gen/netmatrix/v1/matrix_pb.js";
import type { RunMatrixRequest } from "../../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { matrixSpecDocument, type MatrixSpecDocument } from "../../../common/src/matrix-spec.js";
import { directions, families, httpModes, protocols } from "../../../common/src/model.js";
import { VERSION } from "../../../common/src/version.js";
import { tools } from "../../../tools/src/index.js";
import { specFromObject } from "./spec.js";
import { SpecError } from "./spec-error.js";
import type { MatrixSpec, PairSelection } from "./spec-types.js";

function pairsMessage(p: PairSelection): MessageInitShape<typeof PairSelectionSchema> {
  switch (p.kind) {
    case "all":
      return { selection: { case: "all", value: {} } };
    case "ring":
      return { selection: { case: "ring", value: {} } };
    case "sample":
      return { selection: { case: "sample", value: { count: p.count, by: p.by ?? "" } } };
    case "nodes":
      return { selection: { case: "nodes", value: { nodes: [...p.nodes] } } };
    case "cover":
      return { selection: { case: "cover", value: { k: p.k, by: p.by ?? "" } } };
  }
}

/** The message of a validated spec: every field set, nothing left to a default. */
export function specMessage(spec: MatrixSpec): MatrixSpecMessage {
  return create(MatrixSpecSchema, {
    name: spec.name,
    scenarios: [...spec.scenarios],
    tools: spec.tools.map((t) => tools.toEnum(t)),
    protocols: spec.protocols.map((p) => protocols.toEnum(p, "protocol")),
    directions: spec.directions.map((d) => directions.toEnum(d, "direction")),
    parallel: [...spec.parallel],
    lengthsBytes: [...spec.lengthsBytes],
    udpBitratesBps: [...spec.udpBitratesBps],
    durationS: spec.durationS,
    omitS: spec.omitS,
    repetitions: spec.repetitions,
    pairs: pairsMessage(spec.pairs),
    concurrency: spec.concurrency,
    thresholds: { ...spec.thresholds },
    seed: spec.seed,
    connections: [...spec.connections],
    bodiesBytes: [...spec.bodiesBytes],
    httpModes: spec.httpModes.map((m) => httpModes.toEnum(m, "HTTP mode")),
    messageRatesPerS: [...spec.messageRatesPerS],
    mssBytes: [...spec.mssBytes],
    ...(spec.crosscheck === false ? {} : { crosscheck: spec.crosscheck === true ? { all: true } : { scenarios: [...spec.crosscheck] } }),
    ...(spec.udpLadder ? { udpLadder: { lossPercent: spec.udpLadder.lossPercent, maxSteps: spec.udpLadder.maxSteps, stepDurationS: spec.udpLadder.stepDurationS } } : {}),
    families: spec.families.map((f) => families.toEnum(f, "address family")),
  });
}

/** The document (YAML keys) of a validated spec: what a run directory's spec.json holds. */
export function specDocument(spec: MatrixSpec): MatrixSpecDocument {
  return matrixSpecDocument(specMessage(spec));
}

/**
 * Validate a spec message (from the network: hostile until checked) with the
 * validator the CLI ran on the YAML, so a value out of bounds gets the CLI's
 * message (without a line: a message has none). `source` names it in messages.
 */
export function specFromMessage(message: MatrixSpecMessage, source: string): MatrixSpec {
  return specFromObject(matrixSpecDocument(message), source);
}

/**
 * Read and validate a stored spec.json (a run directory's; runs recorded
 * before the typed spec wrote the same YAML-keyed JSON). `source` names the
 * file in messages.
 */
export function specFromJson(text: string, source: string): MatrixSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SpecError(source, undefined, [], `not valid JSON: ${(err as Error).message}`, "restore the run's spec.json from spec.yaml, or start a new run");
  }
  return specFromObject(raw, source);
}

/**
 * The spec a `RunMatrix` request asks for, validated. A request carrying the
 * spec only as the reserved `spec_json` string comes from a CLI older than the
 * typed spec: it is refused, naming the fix, never parsed.
 */
export function requestedSpec(req: Pick<RunMatrixRequest, "spec" | "specJson" | "specSource">): MatrixSpec {
  // The name messages give the spec: the client's, when it is a plausible file name.
  const source = /^[^\p{Cc}]{1,256}$/u.test(req.specSource) ? req.specSource : "spec";
  if (req.spec) return specFromMessage(req.spec, source);
  if (req.specJson) {
    throw new NetmatrixError(
      "invalid-argument",
      "the request carries the matrix spec only as spec_json, which this coordinator no longer reads (the CLI is older than the coordinator)",
      {
        hint: `upgrade the netmatrix CLI to the coordinator's version (${VERSION}): it sends the spec typed`,
      },
    );
  }
  throw new NetmatrixError("invalid-argument", "the request carries no matrix spec", { hint: "give --spec FILE (or --spec default), or --resume RUN_ID" });
}
