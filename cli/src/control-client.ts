/** The CLI's typed client for the coordinator's control service. */
import * as grpc from "@grpc/grpc-js";
import {
  ControlService,
  type CaseResult,
  type ListAgentsResponse,
  type RunCaseEvent,
  type RunCaseRequest,
  type WatchEvent,
  type WatchRequest,
  type RunMatrixRequest,
  type MatrixEvent,
  type RunFinished,
  type ListRunsResponse,
  type GetRunResponse,
} from "../../gen/netmatrix/v1/control_pb.js";
import { createClient, type Client } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { bearerInterceptor } from "../../common/src/token.js";

export class ControlClient {
  private readonly raw: Client<typeof ControlService>;

  constructor(
    readonly address: string,
    token: string,
  ) {
    this.raw = createClient(ControlService, address, { interceptors: [bearerInterceptor(token)] });
  }

  listAgents(): Promise<ListAgentsResponse> {
    return this.raw.listAgents({}, { timeoutMs: 10_000 });
  }

  /** Run a case; `onEvent` sees every event; resolves with the finished case. Aborting cancels it on the coordinator. */
  runCase(req: RunCaseRequest, onEvent: (e: RunCaseEvent) => void, signal?: AbortSignal): Promise<CaseResult> {
    return new Promise((resolve, reject) => {
      const call = this.raw.runCase(req, { signal });
      let finished: CaseResult | undefined;
      call.on("data", (e: RunCaseEvent) => {
        if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err) => reject(fromServiceError(err, this.address)));
      call.on("end", () => (finished ? resolve(finished) : reject(new NetmatrixError("internal", "the coordinator ended the case without a result"))));
    });
  }

  /** Run (or resume) a matrix; `onEvent` sees every event; resolves with the final event. Aborting cancels the run (results so far stay on disk). */
  runMatrix(req: RunMatrixRequest, onEvent: (e: MatrixEvent) => void, signal?: AbortSignal): Promise<RunFinished | undefined> {
    return new Promise((resolve, reject) => {
      const call = this.raw.runMatrix(req, { signal });
      let finished: RunFinished | undefined;
      call.on("data", (e: MatrixEvent) => {
        if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err: grpc.ServiceError) => (signal?.aborted && err.code === grpc.status.CANCELLED ? resolve(finished) : reject(fromServiceError(err, this.address))));
      call.on("end", () => resolve(finished));
    });
  }

  listRuns(): Promise<ListRunsResponse> {
    return this.raw.listRuns({}, { timeoutMs: 10_000 });
  }

  getRun(runId: string): Promise<GetRunResponse> {
    return this.raw.getRun({ runId }, { timeoutMs: 30_000 });
  }

  /** Stream live samples; `onEnd` gets the error, if the stream failed. Returns the call (cancel() stops it). */
  watch(req: WatchRequest, onEvent: (e: WatchEvent) => void, onEnd: (err?: NetmatrixError) => void): grpc.ClientReadableStream<WatchEvent> {
    const call = this.raw.watch(req);
    call.on("data", onEvent);
    call.on("error", (err: grpc.ServiceError) => onEnd(err.code === grpc.status.CANCELLED ? undefined : fromServiceError(err, this.address)));
    call.on("end", () => onEnd());
    return call;
  }

  close(): void {
    this.raw.close();
  }
}
