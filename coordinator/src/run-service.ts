/**
 * The control service's run handlers: run (or resume) a matrix and stream
 * its events, list runs, fetch one run's records. Errors become gRPC
 * statuses here, at the edge.
 */
import { create } from "@bufbuild/protobuf";
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import {
  ListRunsResponseSchema,
  MatrixEventSchema,
  type GetRunRequest,
  type GetRunResponse,
  type ListRunsRequest,
  type ListRunsResponse,
  type MatrixEvent,
  type RunMatrixRequest,
} from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { checkBearer } from "../../common/src/token.js";
import { specFromObject, SpecError } from "./matrix/index.js";
import { runMatrix, type MatrixDeps } from "./matrix-runner.js";

export function runServiceHandlers(deps: MatrixDeps & { token: string }) {
  const { store, log } = deps;
  return {
    async runMatrix(call: ServerWritableStream<RunMatrixRequest, MatrixEvent>): Promise<void> {
      const cancelled = new AbortController();
      call.on("cancelled", () => cancelled.abort());
      try {
        checkBearer(call.metadata, deps.token);
        const r = call.request;
        let specJson = r.specJson;
        let specYaml = r.specYaml;
        if (r.resumeRunId) {
          const run = store.open(r.resumeRunId);
          specJson = run.specJson();
          specYaml = run.specYaml();
        }
        let spec;
        try {
          spec = specFromObject(JSON.parse(specJson || "null"), r.specSource || "spec");
        } catch (err) {
          if (err instanceof SpecError || err instanceof SyntaxError) throw new NetmatrixError("invalid-argument", err.message, { cause: err });
          throw err;
        }
        await runMatrix(
          { spec, specYaml, specJson, sampleIntervalMs: r.sampleIntervalMs || 100, allowPartial: r.allowPartial, ...(r.resumeRunId ? { resumeRunId: r.resumeRunId } : {}) },
          deps,
          (event) => {
            if (!call.cancelled && call.writable) call.write(create(MatrixEventSchema, { event }));
          },
          cancelled.signal,
        );
        call.end();
      } catch (err) {
        log.warn({ reason: (err as Error).message }, "matrix refused or failed");
        call.emit("error", toServiceError(err));
      }
    },

    listRuns(call: ServerUnaryCall<ListRunsRequest, ListRunsResponse>, done: sendUnaryData<ListRunsResponse>): void {
      try {
        checkBearer(call.metadata, deps.token);
        done(null, create(ListRunsResponseSchema, { runs: store.list(deps.running) }));
      } catch (err) {
        done(toServiceError(err));
      }
    },

    getRun(call: ServerUnaryCall<GetRunRequest, GetRunResponse>, done: sendUnaryData<GetRunResponse>): void {
      try {
        checkBearer(call.metadata, deps.token);
        done(null, store.snapshot(call.request.runId, deps.running));
      } catch (err) {
        done(toServiceError(err));
      }
    },
  };
}
