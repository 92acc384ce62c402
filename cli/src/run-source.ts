/**
 * Where `report` and `compare` find a run: a run directory given as a path
 * (a copy, a fixture, another cluster's run), a run id kept in the local data
 * directory (works after `lab run`, with no coordinator up), or the
 * coordinator's `GetRun`.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { openRunDirectory, ResultsStore } from "../../coordinator/src/results-store.js";
import { connect, type ConnectionOptions } from "./options.js";

export interface RunSourceOptions extends ConnectionOptions {
  dataDir: string;
}

/** Load the run `ref` names. Errors (no such run, coordinator down) are NetmatrixErrors with a hint. */
export async function loadRun(ref: string, opts: RunSourceOptions): Promise<GetRunResponse> {
  if (ref.includes("/") || existsSync(join(ref, "meta.json"))) return openRunDirectory(ref).snapshot();
  if (existsSync(join(opts.dataDir, "runs", ref, "meta.json"))) return new ResultsStore(opts.dataDir).snapshot(ref);
  const client = connect(opts);
  try {
    return await client.getRun(ref);
  } finally {
    client.close();
  }
}
