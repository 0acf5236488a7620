/**
 * /v1/code: content-addressed modules. `GET /v1/code/:hash` serves a module to a host that lacks it;
 * `PUT /v1/code` takes a bundle from a client (`paglets run`), loads it here, and has the restores
 * that wait for their code tried again. Both sit behind the host's API key like every route.
 */
import type { Hono } from "hono";
import { PagletError } from "../../agents/errors.ts";
import type { Host } from "../host.ts";
import { json, readBytes } from "../http/body.ts";
import { isCodeHash } from "./hash.ts";

export function codeRoutes(app: Hono, host: Host): void {
  app.get("/v1/code", async () => json({ modules: await host.codeStore.list() }));

  app.get("/v1/code/:hash", async (c) => {
    const hash = c.req.param("hash");
    if (!isCodeHash(hash)) {
      throw new PagletError("invalid_code_hash", `A code hash is 64 lowercase hex digits: got '${hash}'`);
    }
    const bytes = await host.code.served(hash);
    if (!bytes) throw new PagletError("code_not_found", `No module ${hash} on this host`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "text/javascript",
      "x-sha256": hash,
    });
  });

  app.put("/v1/code", async (c) => {
    if (!host.code.remoteCode) {
      throw new PagletError(
        "remote_code_disabled",
        "This host runs no code it was not started with (--no-remote-code); start it without that flag to run scripts on it",
      );
    }
    const expected = c.req.header("x-sha256")?.toLowerCase();
    if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
      throw new PagletError("bad_request", "x-sha256 must be 64 hex characters (the module's SHA-256)");
    }
    const bytes = await readBytes(c, host.options.maxBodyBytes);
    const hash = await host.codeStore.put(bytes, expected).catch((err) => {
      host.events.emit("code-rejected", {
        data: { hash: expected, from: "upload" },
        error: String(err.message),
      });
      throw err;
    });
    const types = await host.code.ensure(hash);
    // Restores that wait for their code may be waiting for this module.
    host.retryWaitingCode(true);
    return json({ hash, size: bytes.length, types, host: host.info.url }, 201);
  });
}
