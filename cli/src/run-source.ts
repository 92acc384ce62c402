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
import { NetmatrixError } from "../../common/src/errors.js";
import { connect, isNoToken, type ConnectionOptions } from "./options.js";

export interface RunSourceOptions extends ConnectionOptions {
  dataDir: string;
}

/** Load the run `ref` names. Errors (no such run, coordinator down) are NetmatrixErrors with a hint. */
export async function loadRun(ref: string, opts: RunSourceOptions): Promise<GetRunResponse> {
  if (ref.includes("/") || existsSync(join(ref, "meta.json"))) return openRunDirectory(ref).snapshot();
  if (existsSync(join(opts.dataDir, "runs", ref, "meta.json"))) return new ResultsStore(opts.dataDir).snapshot(ref);
  const local = join(opts.dataDir, "runs");
  const hint = "`netmatrix runs` lists the run ids (add --data-dir DIR or --coordinator HOST:PORT to look elsewhere); a copied run directory can be given as a path";
  let client;
  try {
    client = connect(opts);
  } catch (err) {
    // No token, so no coordinator to ask: the run is simply not here.
    if (!isNoToken(err)) throw err;
    throw new NetmatrixError("not-found", `no run "${ref}" in ${local}, and no coordinator to ask (no token for one)`, {
      cause: err,
      hint: `${hint}; to ask a coordinator, pass --token-file FILE with its token`,
    });
  }
  try {
    return await client.getRun(ref);
  } catch (err) {
    if (!(err instanceof NetmatrixError)) throw err;
    // Not here and not there: say both, so "no such run" and "no coordinator" are never confused.
    if (err.code === "not-found") throw new NetmatrixError("not-found", `no run "${ref}" in ${local} nor on the coordinator at ${opts.coordinator}`, { cause: err, hint });
    if (err.code === "unavailable") {
      throw new NetmatrixError(
        "not-found",
        `no run "${ref}" in ${local}, and ${err.message.startsWith("no coordinator at") ? err.message : `the coordinator could not be asked: ${err.message}`}`,
        {
          cause: err,
          hint: `${hint}; or start the coordinator that holds it`,
        },
      );
    }
    throw err;
  } finally {
    client.close();
  }
}
