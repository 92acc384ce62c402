/** The CLI's typed client for the coordinator's control service. */
import * as grpc from "@grpc/grpc-js";
import {
  ControlService,
  ListAgentsRequestSchema,
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
  ListRunsRequestSchema,
  GetRunRequestSchema,
  type GetRunRequest,
} from "../../gen/netmatrix/v1/control_pb.js";
import { create } from "@bufbuild/protobuf";
import { clientConstructor } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { AUTH_HEADER, bearer } from "../../common/src/token.js";

const Client = clientConstructor(ControlService);

type RawClient = grpc.Client & {
  listAgents(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: ListAgentsResponse) => void): void;
  runCase(req: RunCaseRequest, md: grpc.Metadata): grpc.ClientReadableStream<RunCaseEvent>;
  watch(req: WatchRequest, md: grpc.Metadata): grpc.ClientReadableStream<WatchEvent>;
  runMatrix(req: RunMatrixRequest, md: grpc.Metadata): grpc.ClientReadableStream<MatrixEvent>;
  listRuns(req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: ListRunsResponse) => void): void;
  getRun(req: GetRunRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: GetRunResponse) => void): void;
};

export class ControlClient {
  private readonly raw: RawClient;
  private readonly md = new grpc.Metadata();

  constructor(
    readonly address: string,
    token: string,
  ) {
    this.raw = new Client(address, grpc.credentials.createInsecure()) as unknown as RawClient;
    this.md.set(AUTH_HEADER, bearer(token));
  }

  listAgents(): Promise<ListAgentsResponse> {
    return new Promise((resolve, reject) => {
      this.raw.listAgents(create(ListAgentsRequestSchema), this.md, { deadline: Date.now() + 10_000 }, (err, res) =>
        err ? reject(fromServiceError(err, this.address)) : resolve(res),
      );
    });
  }

  /** Run a case; `onEvent` sees every event; resolves with the finished case. Aborting cancels it on the coordinator. */
  runCase(req: RunCaseRequest, onEvent: (e: RunCaseEvent) => void, signal?: AbortSignal): Promise<CaseResult> {
    return new Promise((resolve, reject) => {
      const call = this.raw.runCase(req, this.md);
      let finished: CaseResult | undefined;
      signal?.addEventListener("abort", () => call.cancel(), { once: true });
      call.on("data", (e: RunCaseEvent) => {
        if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err) => reject(fromServiceError(err, this.address)));
      call.on("end", () =>
        finished ? resolve(finished) : reject(new NetmatrixError("internal", "the coordinator ended the case without a result")),
      );
    });
  }

  /** Run (or resume) a matrix; `onEvent` sees every event; resolves with the final event. Aborting cancels the run (results so far stay on disk). */
  runMatrix(req: RunMatrixRequest, onEvent: (e: MatrixEvent) => void, signal?: AbortSignal): Promise<RunFinished | undefined> {
    return new Promise((resolve, reject) => {
      const call = this.raw.runMatrix(req, this.md);
      let finished: RunFinished | undefined;
      let aborted = false;
      signal?.addEventListener("abort", () => ((aborted = true), call.cancel()), { once: true });
      call.on("data", (e: MatrixEvent) => {
        if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err: grpc.ServiceError) => (aborted && err.code === grpc.status.CANCELLED ? resolve(finished) : reject(fromServiceError(err, this.address))));
      call.on("end", () => resolve(finished));
    });
  }

  listRuns(): Promise<ListRunsResponse> {
    return new Promise((resolve, reject) => {
      this.raw.listRuns(create(ListRunsRequestSchema), this.md, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(fromServiceError(err, this.address)) : resolve(res)));
    });
  }

  getRun(runId: string): Promise<GetRunResponse> {
    return new Promise((resolve, reject) => {
      this.raw.getRun(create(GetRunRequestSchema, { runId }), this.md, { deadline: Date.now() + 30_000 }, (err, res) => (err ? reject(fromServiceError(err, this.address)) : resolve(res)));
    });
  }

  /** Stream live samples; `onEnd` gets the error, if the stream failed. Returns the call (cancel() stops it). */
  watch(req: WatchRequest, onEvent: (e: WatchEvent) => void, onEnd: (err?: NetmatrixError) => void): grpc.ClientReadableStream<WatchEvent> {
    const call = this.raw.watch(req, this.md);
    call.on("data", onEvent);
    call.on("error", (err: grpc.ServiceError) => onEnd(err.code === grpc.status.CANCELLED ? undefined : fromServiceError(err, this.address)));
    call.on("end", () => onEnd());
    return call;
  }

  close(): void {
    this.raw.close();
  }
}
