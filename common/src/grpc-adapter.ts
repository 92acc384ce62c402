/**
 * The one bridge between protobuf-es descriptors and @grpc/grpc-js, in the
 * spirit of connect-es. No proto-loader, no hand-written message classes.
 *
 * - `implement(service, impl, { interceptors })` gives what `grpc.Server.addService`
 *   takes. `impl` is typed from the generated descriptor (`ServiceImpl`), so a
 *   renamed RPC or a wrong message type fails to compile. The interceptors run
 *   before the handler of every call of every method kind; whatever a handler
 *   or an interceptor throws becomes a gRPC status here (`rpc-status.ts`).
 * - `createClient(service, address-or-channel, { interceptors })` gives a typed
 *   client (`Client`): unary calls return a Promise that rejects with a
 *   NetmatrixError; streaming calls return the grpc-js streams, typed.
 */
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { NetmatrixError } from "./errors.js";
import { fromServiceError, toServiceError } from "./rpc-status.js";

type Req<M extends DescMethod> = MessageShape<M["input"]>;
type ReqInit<M extends DescMethod> = MessageInitShape<M["input"]>;
type Res<M extends DescMethod> = MessageShape<M["output"]>;

/** A grpc-js service definition for `service`, keyed by the generated method names (e.g. `runCase`). */
export function serviceDefinition(service: DescService): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<MessageInitShape<DescMessage>, MessageShape<DescMessage>>> = {};
  for (const method of service.methods) {
    def[method.localName] = {
      path: path(service, method),
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input),
      requestDeserialize: requestDeserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return def;
}

// ---------------------------------------------------------------- server

/** What a server interceptor sees of a call before its handler runs. */
export interface CallContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly metadata: grpc.Metadata;
  readonly peer: string;
}

/**
 * Runs before the handler of every call. Throwing (best a NetmatrixError)
 * refuses the call with that error's status; the handler never runs.
 */
export type ServerInterceptor = (ctx: CallContext) => void | Promise<void>;

/**
 * The handler of one method, by its kind. A unary (or client-streaming) handler
 * returns the response; a streaming handler writes to `call` and ends it itself.
 * Throw or reject (with a NetmatrixError) to fail the call.
 */
export type MethodImpl<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (call: grpc.ServerUnaryCall<Req<M>, Res<M>>) => Res<M> | Promise<Res<M>>
  : M["methodKind"] extends "server_streaming"
    ? (call: grpc.ServerWritableStream<Req<M>, Res<M>>) => void | Promise<void>
    : M["methodKind"] extends "client_streaming"
      ? (call: grpc.ServerReadableStream<Req<M>, Res<M>>) => Res<M> | Promise<Res<M>>
      : M["methodKind"] extends "bidi_streaming"
        ? (call: grpc.ServerDuplexStream<Req<M>, Res<M>>) => void | Promise<void>
        : never;

/** Every method of `S`, by its generated local name, with its typed handler. */
export type ServiceImpl<S extends DescService> = { [K in keyof S["method"]]: MethodImpl<S["method"][K]> };

export interface ImplementOptions {
  /** Run in order before every handler (e.g. the auth interceptor). */
  interceptors?: readonly ServerInterceptor[];
}

/** What `grpc.Server.addService(definition, implementation)` takes. */
export interface ServiceBinding {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export function implement<S extends DescService>(service: S, impl: ServiceImpl<S>, opts: ImplementOptions = {}): ServiceBinding {
  const interceptors = opts.interceptors ?? [];
  const handlers: Partial<Record<string, unknown>> = impl;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (typeof handler !== "function") throw new Error(`${service.typeName}: no handler for ${method.name}`);
    const handle = (call: { metadata: grpc.Metadata; getPeer(): string; request?: unknown }, beforeHandler?: () => void): Promise<unknown> =>
      (async () => {
        for (const intercept of interceptors) await intercept({ service, method, metadata: call.metadata, peer: call.getPeer() });
        const bad = malformed(method.input, call.request);
        if (bad) throw bad;
        beforeHandler?.();
        return (await handler.call(impl, call)) as unknown;
      })();
    switch (method.methodKind) {
      case "unary":
      case "client_streaming":
        implementation[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
          void handle(call).then(
            (res) => done(null, res),
            (err: unknown) => done(toServiceError(err)),
          );
        };
        break;
      case "server_streaming":
      case "bidi_streaming":
        implementation[method.localName] = (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
          // A streamed request that does not decode ends the call; the handler's own listener,
          // attached in the same tick, after this one, sees only an empty message.
          const refuseMalformed = (): void =>
            void call.prependListener("data", (m: unknown) => {
              const bad = malformed(method.input, m);
              if (bad) call.emit("error", toServiceError(bad));
            });
          void handle(call, method.methodKind === "bidi_streaming" ? refuseMalformed : undefined).catch((err: unknown) => call.emit("error", toServiceError(err)));
        };
        break;
    }
  }
  return { definition: serviceDefinition(service), implementation };
}

// ---------------------------------------------------------------- client

export interface CallOptions {
  /** Fail the call with DEADLINE_EXCEEDED after this many milliseconds. */
  timeoutMs?: number;
  /** Aborting cancels the call (CANCELLED). */
  signal?: AbortSignal;
}

/**
 * The client side of one method, by its kind. Unary and client-streaming calls
 * resolve with the response or reject with a NetmatrixError; server-streaming
 * and bidi calls return the grpc-js stream (its "error" events carry grpc-js
 * ServiceErrors: map them with `fromServiceError`).
 */
export type ClientMethod<M extends DescMethod> = M["methodKind"] extends "unary"
  ? (request: ReqInit<M>, opts?: CallOptions) => Promise<Res<M>>
  : M["methodKind"] extends "server_streaming"
    ? (request: ReqInit<M>, opts?: CallOptions) => grpc.ClientReadableStream<Res<M>>
    : M["methodKind"] extends "client_streaming"
      ? (requests: AsyncIterable<ReqInit<M>> | Iterable<ReqInit<M>>, opts?: CallOptions) => Promise<Res<M>>
      : M["methodKind"] extends "bidi_streaming"
        ? (opts?: CallOptions) => grpc.ClientDuplexStream<ReqInit<M>, Res<M>>
        : never;

/** A typed client: every method of `S` by its local name, plus `close()` (closes the channel). */
export type Client<S extends DescService> = { readonly [K in keyof S["method"]]: ClientMethod<S["method"][K]> } & { close(): void };

export interface ClientOptions {
  /** Run on every call, in order (e.g. the bearer token). */
  interceptors?: grpc.Interceptor[];
  /** Default: plaintext. Ignored when given a channel. */
  credentials?: grpc.ChannelCredentials;
  /** Keepalive and the like. Ignored when given a channel. */
  channelOptions?: grpc.ChannelOptions;
}

/**
 * A typed client of `service` on `transport`: HOST:PORT (a channel of its own,
 * closed by `close()`) or a grpc-js channel the caller owns.
 */
export function createClient<S extends DescService>(service: S, transport: string | grpc.ChannelInterface, opts: ClientOptions = {}): Client<S> {
  if ("close" in service.method) throw new Error(`${service.typeName}: a method named "close" would hide Client.close()`);
  const target = typeof transport === "string" ? transport : transport.getTarget();
  const client = new grpc.Client(target, opts.credentials ?? grpc.credentials.createInsecure(), {
    ...opts.channelOptions,
    ...(typeof transport === "string" ? {} : { channelOverride: transport }),
    interceptors: opts.interceptors ?? [],
  });
  const methods: Record<string, unknown> = { close: () => client.close() };
  for (const method of service.methods) methods[method.localName] = clientMethod(client, target, service, method);
  // Built from service.methods above, so it has exactly the keys Client<S> names.
  return methods as Client<S>;
}

function clientMethod(client: grpc.Client, target: string, service: DescService, method: DescMethod): (...args: never[]) => unknown {
  const p = path(service, method);
  const ser = serializer(method.input);
  const de = deserializer(method.output);
  const settle =
    (resolve: (res: MessageShape<DescMessage>) => void, reject: (err: unknown) => void): grpc.requestCallback<MessageShape<DescMessage>> =>
    (err, res) =>
      err || !res ? reject(fromServiceError(err ?? new Error("no response"), target)) : resolve(res);
  switch (method.methodKind) {
    case "unary":
      return (request: MessageInitShape<DescMessage>, opts: CallOptions = {}) =>
        new Promise((resolve, reject) => cancelOn(opts, client.makeUnaryRequest(p, ser, de, request, new grpc.Metadata(), callOptions(opts), settle(resolve, reject))));
    case "server_streaming":
      return (request: MessageInitShape<DescMessage>, opts: CallOptions = {}) =>
        cancelOn(opts, client.makeServerStreamRequest(p, ser, de, request, new grpc.Metadata(), callOptions(opts)));
    case "bidi_streaming":
      return (opts: CallOptions = {}) => cancelOn(opts, client.makeBidiStreamRequest(p, ser, de, new grpc.Metadata(), callOptions(opts)));
    case "client_streaming":
      return async (requests: AsyncIterable<MessageInitShape<DescMessage>> | Iterable<MessageInitShape<DescMessage>>, opts: CallOptions = {}) => {
        let call!: grpc.ClientWritableStream<MessageInitShape<DescMessage>>;
        const response = new Promise<MessageShape<DescMessage>>((resolve, reject) => {
          call = cancelOn(opts, client.makeClientStreamRequest(p, ser, de, new grpc.Metadata(), callOptions(opts), settle(resolve, reject)));
        });
        response.catch(() => undefined); // awaited below; do not report it unhandled while still writing
        for await (const r of requests) {
          if (!call.write(r)) await new Promise((r) => call.once("drain", r));
        }
        call.end();
        return response;
      };
  }
}

function callOptions(opts: CallOptions): grpc.CallOptions {
  return opts.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs };
}

function cancelOn<C extends { cancel(): void }>(opts: CallOptions, call: C): C {
  if (opts.signal?.aborted) call.cancel();
  else opts.signal?.addEventListener("abort", () => call.cancel(), { once: true });
  return call;
}

function path(service: DescService, method: DescMethod): string {
  return `/${service.typeName}/${method.name}`;
}

/** Marks a message that carries its own wire bytes (see `withWire`). */
const WIRE = Symbol("netmatrix.wire");

/**
 * `msg`, carrying `bytes`: its encoding by a faster encoder than the generic
 * one (a hot stream's, such as Watch's), which the serializer then sends as
 * they are. The bytes must be exactly what `toBinary` would give.
 */
export function withWire<T extends object>(msg: T, bytes: Uint8Array): T {
  return Object.assign(msg, { [WIRE]: bytes });
}

/** Accepts a message or its init shape (`create` returns a message unchanged), or one carrying its bytes (`withWire`). */
function serializer<D extends DescMessage>(schema: D): (msg: MessageInitShape<D>) => Buffer {
  return (msg) => {
    const wire = (msg as { [WIRE]?: Uint8Array })[WIRE];
    return wire ? Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength) : Buffer.from(toBinary(schema, create(schema, msg)));
  };
}

/** Marks a request that did not decode: an empty message carrying why (see `requestDeserializer`). */
const MALFORMED = Symbol("netmatrix.malformed");

/**
 * Requests are hostile: one that does not decode becomes an empty message
 * marked MALFORMED (never a throw inside grpc-js, which would answer an
 * opaque INTERNAL), which `implement` refuses with INVALID_ARGUMENT naming
 * the message and the reason.
 */
function requestDeserializer<D extends DescMessage>(schema: D): (buf: Buffer) => MessageShape<D> {
  return (buf) => {
    try {
      return fromBinary(schema, buf);
    } catch (err) {
      return Object.assign(create(schema), { [MALFORMED]: err instanceof Error ? err.message : String(err) });
    }
  };
}

/** The error for a request that did not decode, or undefined. */
function malformed(schema: DescMessage, msg: unknown): NetmatrixError | undefined {
  const why = (msg as { [MALFORMED]?: string } | undefined)?.[MALFORMED];
  if (why === undefined) return undefined;
  return new NetmatrixError("invalid-argument", `malformed ${schema.typeName}: ${why}`, {
    hint: "the client does not speak this coordinator's protocol: use a netmatrix CLI or agent of the same version",
  });
}

function deserializer<D extends DescMessage>(schema: D): (buf: Buffer) => MessageShape<D> {
  return (buf) => fromBinary(schema, buf);
}
