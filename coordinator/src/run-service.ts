/**
 * The control service's run handlers: run (or resume) a matrix and stream
 * its events, list runs, fetch one run's records. Calls arrive authenticated
 * (the auth interceptor); a thrown NetmatrixError becomes a gRPC status at
 * the edge (the adapter).
 */
import { create } from "@bufbuild/protobuf";
import { ListRunsResponseSchema, MatrixEventSchema, type ControlService } from "../../gen/netmatrix/v1/control_pb.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { requestedSpec } from "./matrix/index.js";
import { runMatrix, type MatrixDeps } from "./matrix-runner.js";

export function runServiceHandlers(deps: MatrixDeps): Pick<ServiceImpl<typeof ControlService>, "runMatrix" | "listRuns" | "getRun"> {
  const { store, log } = deps;
  return {
    async runMatrix(call): Promise<void> {
      // The CLI cancelled, or its connection went (Ctrl-C, SIGTERM, SIGKILL): every running case's tools stop.
      const cancelled = new AbortController();
      call.on("cancelled", () => cancelled.abort());
      if (call.cancelled) cancelled.abort();
      try {
        const r = call.request;
        // The trust boundary: a typed spec is validated again, as the CLI did; a resumed run keeps its own.
        const resumed = r.resumeRunId ? store.open(r.resumeRunId) : undefined;
        const spec = resumed ? resumed.spec() : requestedSpec(r);
        const specYaml = resumed ? resumed.specYaml() : r.specYaml;
        await runMatrix(
          {
            spec,
            specYaml,
            sampleIntervalMs: r.sampleIntervalMs || 100,
            allowPartial: r.allowPartial,
            ...(r.resumeRunId ? { resumeRunId: r.resumeRunId } : {}),
            caps: { maxCaseRuns: r.maxCaseRuns, maxRunDurationS: r.maxRunDurationS },
            dryRun: r.dryRun,
            ...(r.budgetS ? { budgetMs: r.budgetS * 1000 } : {}),
          },
          deps,
          (event) => {
            if (!call.cancelled && call.writable) call.write(create(MatrixEventSchema, { event }));
          },
          cancelled.signal,
        );
        call.end();
      } catch (err) {
        log.warn({ reason: (err as Error).message }, "matrix refused or failed");
        throw err;
      }
    },

    listRuns() {
      return create(ListRunsResponseSchema, { runs: store.list(deps.running) });
    },

    getRun(call) {
      return store.snapshot(call.request.runId, deps.running);
    },
  };
}
