/** The CLI's typed client for the coordinator's control service. */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  ControlService,
  ListAgentsRequestSchema,
  RunCaseRequestSchema,
  RunMatrixRequestSchema,
  type CaseResult,
  type ListAgentsRequest,
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
import { bearerInterceptor, isTokenRefusal, tokenRefused } from "../../common/src/token.js";
import { channelSecurity, type ClientTls } from "../../common/src/tls.js";

/**
 * The largest request a coordinator takes: grpc-js's default limit on what a
 * server receives, which the coordinator keeps. The CLI checks before
 * sending, so an oversized request is refused here with its size, not by the
 * coordinator after the upload.
 */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Throw (invalid-argument, naming the size, the limit and the fix) when `req` encodes to more than MAX_REQUEST_BYTES. */
export function checkRequestSize<S extends DescMessage>(schema: S, req: MessageShape<S>, what: string): void {
  const bytes = toBinary(schema, req).length;
  if (bytes <= MAX_REQUEST_BYTES) return;
  throw new NetmatrixError("invalid-argument", `${what} is ${bytes} bytes encoded, more than the ${MAX_REQUEST_BYTES} bytes (4 MiB) a coordinator accepts`, {
    hint: "send a smaller spec: fewer node names in pairs.nodes, fewer comments in the YAML, or split it into several specs",
  });
}

/** Agents asked for per ListAgents call (the coordinator's default; it takes up to 1000). */
export const AGENTS_PAGE_SIZE = 500;

export class ControlClient {
  private readonly raw: Client<typeof ControlService>;

  constructor(
    readonly address: string,
    token: string,
    /** Verify the coordinator (and present a client certificate); undefined: plaintext. */
    tls?: ClientTls,
    /** Where the token came from (a file, `$NETMATRIX_TOKEN`), named when the coordinator refuses it. */
    private readonly tokenSource = "the token given",
  ) {
    const { credentials, channelOptions } = channelSecurity(tls);
    this.raw = createClient(ControlService, address, { interceptors: [bearerInterceptor(token)], credentials, channelOptions });
  }

  /** A call's error for a person: a refused token names the token used and where the right one is. */
  private explain(err: unknown): NetmatrixError {
    const e = fromServiceError(err, this.address);
    return isTokenRefusal(e) ? tokenRefused(this.tokenSource, this.address, e) : e;
  }

  /** `call`, with its error explained. */
  private unary<T>(call: Promise<T>): Promise<T> {
    return call.catch((err: unknown) => {
      throw this.explain(err);
    });
  }

  /** One page of agents (the first, with no request: up to 500). {@link agentPages} reads them all. */
  listAgents(req: MessageInitShape<typeof ListAgentsRequestSchema> = {}): Promise<ListAgentsResponse> {
    return this.unary(this.raw.listAgents(create(ListAgentsRequestSchema, req), { timeoutMs: 10_000 }));
  }

  /**
   * Every page of the agents `query` selects, in id order, until the last
   * page or `limit` agents (then the last page is cut to fit). Each page is
   * its own call, well under the message limit, so 15,000 agents list as
   * well as 3.
   */
  async *agentPages(query: Pick<ListAgentsRequest, "node" | "mode" | "labels">, limit = Infinity): AsyncGenerator<ListAgentsResponse> {
    let pageToken = "";
    let left = limit;
    while (left > 0) {
      const page = await this.listAgents({ ...query, pageToken, pageSize: Math.min(left, AGENTS_PAGE_SIZE) });
      if (page.agents.length > left) page.agents.length = left;
      left -= page.agents.length;
      yield page;
      if (!page.nextPageToken) return;
      if (page.nextPageToken === pageToken || !page.agents.length) {
        throw new NetmatrixError("internal", "the coordinator sent the same page of agents twice", { hint: "restart the coordinator; report this as a bug" });
      }
      pageToken = page.nextPageToken;
    }
  }

  /**
   * Run a case; `onEvent` sees every event; resolves with the finished case.
   * Aborting `signal` cancels it on the coordinator (which stops its tools)
   * and resolves with what came so far: the case with the repetitions that
   * finished, or undefined when it had not started.
   */
  runCase(req: RunCaseRequest, onEvent: (e: RunCaseEvent) => void, signal?: AbortSignal): Promise<CaseResult | undefined> {
    return new Promise((resolve, reject) => {
      checkRequestSize(RunCaseRequestSchema, req, "the case request");
      const call = this.raw.runCase(req, { signal });
      let started: CaseResult | undefined;
      let finished: CaseResult | undefined;
      call.on("data", (e: RunCaseEvent) => {
        if (e.event.case === "started") started = e.event.value;
        else if (e.event.case === "repetition") started?.repetitions.push(e.event.value);
        else if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err: grpc.ServiceError) => (signal?.aborted && err.code === grpc.status.CANCELLED ? resolve(finished ?? started) : reject(this.explain(err))));
      call.on("end", () => (finished ? resolve(finished) : reject(new NetmatrixError("internal", "the coordinator ended the case without a result"))));
    });
  }

  /** Run (or resume) a matrix; `onEvent` sees every event; resolves with the final event. Aborting cancels the run (results so far stay on disk). */
  runMatrix(req: RunMatrixRequest, onEvent: (e: MatrixEvent) => void, signal?: AbortSignal): Promise<RunFinished | undefined> {
    return new Promise((resolve, reject) => {
      checkRequestSize(RunMatrixRequestSchema, req, "the matrix request (the spec and its YAML)");
      const call = this.raw.runMatrix(req, { signal });
      let finished: RunFinished | undefined;
      call.on("data", (e: MatrixEvent) => {
        if (e.event.case === "finished") finished = e.event.value;
        onEvent(e);
      });
      call.on("error", (err: grpc.ServiceError) => (signal?.aborted && err.code === grpc.status.CANCELLED ? resolve(finished) : reject(this.explain(err))));
      call.on("end", () => resolve(finished));
    });
  }

  listRuns(): Promise<ListRunsResponse> {
    return this.unary(this.raw.listRuns({}, { timeoutMs: 10_000 }));
  }

  getRun(runId: string): Promise<GetRunResponse> {
    return this.unary(this.raw.getRun({ runId }, { timeoutMs: 30_000 }));
  }

  /** Stream live samples; `onEnd` gets the error, if the stream failed. Returns the call (cancel() stops it). */
  watch(req: WatchRequest, onEvent: (e: WatchEvent) => void, onEnd: (err?: NetmatrixError) => void): grpc.ClientReadableStream<WatchEvent> {
    const call = this.raw.watch(req);
    call.on("data", onEvent);
    call.on("error", (err: grpc.ServiceError) => onEnd(err.code === grpc.status.CANCELLED ? undefined : this.explain(err)));
    call.on("end", () => onEnd());
    return call;
  }

  close(): void {
    this.raw.close();
  }
}
