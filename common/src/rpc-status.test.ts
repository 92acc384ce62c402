/**
 * What a failed gRPC call says to a person: grpc-js's raw text cleaned up
 * (no empty "Resolution note: ", no nested "Error: "), a refused connection
 * as "no coordinator at ADDR" with how to start one, a client-side cancel as
 * "cancelled". Real grpc-js errors from real calls where it matters.
 */
import { createServer } from "node:net";
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { ControlService } from "../../gen/netmatrix/v1/control_pb.js";
import { createClient } from "./grpc-adapter.js";
import { NetmatrixError } from "./errors.js";
import { cleanGrpcDetails, fromServiceError, NO_COORDINATOR_HINT, toServiceError } from "./rpc-status.js";

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe("cleanGrpcDetails", () => {
  test.each([
    ["No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7400. Resolution note: ", "connect ECONNREFUSED 127.0.0.1:7400"],
    ["No connection established. Last error: null. Resolution note: ", "no connection established"],
    ["No connection established. Last error: Error: unable to verify the first certificate. Resolution note: ", "unable to verify the first certificate"],
    ["Name resolution failed for target dns:nohost.invalid:7400", "Name resolution failed for target dns:nohost.invalid:7400"],
    ["wrong token", "wrong token"],
  ])("%j → %j", (raw, clean) => expect(cleanGrpcDetails(raw)).toBe(clean));
});

describe("fromServiceError", () => {
  test("a refused connection, from a real call: no coordinator at ADDR, and how to start one", async () => {
    const target = `127.0.0.1:${await closedPort()}`;
    const client = createClient(ControlService, target);
    try {
      const err = await client.listAgents({}, { timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NetmatrixError);
      const e = err as NetmatrixError;
      expect(e.code).toBe("unavailable");
      expect(e.message).toBe(`no coordinator at ${target}: connection refused`);
      expect(e.hint).toBe(NO_COORDINATOR_HINT);
      expect(e.hint).toContain("sudo netmatrix lab up");
      expect(e.describe()).not.toMatch(/Resolution note|Last error/);
    } finally {
      client.close();
    }
  });

  test("another reason to be unreachable keeps its (cleaned) reason", () => {
    const e = fromServiceError({ code: status.UNAVAILABLE, details: "Name resolution failed for target dns:nohost.invalid:7400", metadata: new Metadata() }, "nohost.invalid:7400");
    expect(e.message).toBe("cannot reach the coordinator at nohost.invalid:7400: Name resolution failed for target dns:nohost.invalid:7400");
    expect(e.hint).toMatch(/^check that a coordinator runs there/);
  });

  test("grpc-js's client-side cancel is just 'cancelled'", () => {
    const e = fromServiceError({ code: status.CANCELLED, details: "Cancelled on client", metadata: new Metadata() }, "127.0.0.1:7400");
    expect(e.code).toBe("cancelled");
    expect(e.message).toBe("cancelled");
  });

  test("a NetmatrixError crosses the edge with its code, message and hint", () => {
    const sent = toServiceError(new NetmatrixError("not-found", 'no run "x"', { hint: "list runs with `netmatrix runs`" }));
    const e = fromServiceError({ ...sent, message: "" }, "127.0.0.1:7400");
    expect([e.code, e.message, e.hint]).toEqual(["not-found", 'no run "x"', "list runs with `netmatrix runs`"]);
  });
});
