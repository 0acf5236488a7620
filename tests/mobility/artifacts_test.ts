/** Hosted artifacts: upload, list, download, delete; bad input leaves no blob behind; the CLI. */
import { assert, assertEquals, assertRejectsCode } from "../helpers/assert.ts";
import { stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { ArtifactClient } from "../../host/artifacts/client.ts";
import { sha256File } from "../../host/storage/files/checksum.ts";
import { entries, startMobileHost } from "./helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function paglets(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("artifacts upload, list, download and delete; a checksum mismatch or an interrupted upload leaves no blob", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "paglets-artifacts-" });
  try {
    const host = await startMobileHost("alpha", {
      args: ["--artifact-max-size", "256K", "--artifact-storage-quota", "300K"],
    });
    const artifacts = new ArtifactClient(host.client);
    const file = `${tmp}/input.bin`;
    await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(50_000)));
    const { sha256 } = await sha256File(file);

    const up = await artifacts.upload(file, { owner: "ag_owner1" });
    assertEquals([up.size, up.sha256, up.name, up.owner, up.hostUrl], [
      50_000,
      sha256,
      "input.bin",
      "ag_owner1",
      host.url,
    ]);
    assert(/^[0-9a-f]{32}$/.test(up.id));
    await artifacts.upload(file, { owner: "someone-else", name: "copy.bin" });
    assertEquals((await artifacts.list("ag_owner1")).map((a) => a.id), [up.id]);
    assertEquals((await artifacts.list()).length, 2);
    assertEquals((await artifacts.info(up.id)).sha256, sha256);

    const got = await artifacts.download(up.id, `${tmp}/out.bin`);
    assertEquals(got.sha256, sha256);
    assertEquals(await Deno.readFile(`${tmp}/out.bin`), await Deno.readFile(file));

    // Checksum mismatch: 422 and nothing kept.
    const before = await entries(`${host.dataDir}/artifacts/blobs`);
    const bad = await fetch(`${host.url}/v1/artifacts?name=bad.bin`, {
      method: "PUT",
      body: await Deno.readFile(file),
      headers: { "x-sha256": "0".repeat(64) },
    });
    assertEquals([bad.status, (await bad.json()).error.code], [422, "checksum_mismatch"]);
    // A ttl no clock reaches (past 100 years), or not in decimal digits: 422.
    for (const ttl of ["99999999999999999", "3153600001", "0x10"]) {
      const res = await fetch(`${host.url}/v1/artifacts?name=t&ttl=${ttl}`, { method: "PUT", body: "x" });
      assertEquals([res.status, (await res.json()).error.code], [422, "invalid_request"], ttl);
    }
    // Too large (declared and streamed without a length) and over quota: 413.
    const big = new Uint8Array(300 * 1024);
    const tooBig = await fetch(`${host.url}/v1/artifacts`, { method: "PUT", body: big });
    assertEquals([tooBig.status, (await tooBig.json()).error.code], [413, "payload_too_large"]);
    const chunked = await fetch(`${host.url}/v1/artifacts`, {
      method: "PUT",
      body: ReadableStream.from([big.subarray(0, 200_000), big.subarray(200_000)]),
    });
    assertEquals(chunked.status, 413);
    await chunked.body?.cancel();
    const overQuota = await fetch(`${host.url}/v1/artifacts`, {
      method: "PUT",
      body: new Uint8Array(250 * 1024),
    });
    assertEquals([overQuota.status, (await overQuota.json()).error.code], [413, "quota_exceeded"]);
    // An upload whose stream breaks off.
    const controller = new AbortController();
    const broken = new ReadableStream<Uint8Array>({
      async pull(c) {
        c.enqueue(new Uint8Array(8192));
        await new Promise((r) => setTimeout(r, 20));
        controller.abort();
      },
    });
    await fetch(`${host.url}/v1/artifacts?name=broken.bin`, {
      method: "PUT",
      body: broken,
      signal: controller.signal,
    }).catch(() => {});
    await eventually(
      "no partial upload left",
      async () => (await entries(`${host.dataDir}/artifacts/tmp`)).length === 0,
    );
    assertEquals(await entries(`${host.dataDir}/artifacts/blobs`), before);

    // Bad ids are 400, unknown ones 404.
    const badId = await fetch(`${host.url}/v1/artifacts/not-hex`);
    assertEquals([badId.status, (await badId.json()).error.code], [400, "bad_request"]);
    await assertRejectsCode(() => artifacts.info("0".repeat(32)), "artifact_not_found");

    await artifacts.delete(up.id);
    await assertRejectsCode(() => artifacts.info(up.id), "artifact_not_found");
    assertEquals((await artifacts.list()).length, 1);
  } finally {
    await stopAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

Deno.test("paglets artifacts list/info/get --move/rm work against a host", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "paglets-artifacts-cli-" });
  try {
    const host = await startMobileHost("alpha");
    const file = `${tmp}/report.txt`;
    await Deno.writeTextFile(file, "the report\n");
    const put = await paglets(["artifacts", "put", file, "--owner", "me", "--entry", host.url, "--json"]);
    assertEquals(put.code, 0, put.stderr);
    const { id } = JSON.parse(put.stdout);

    const list = await paglets(["artifacts", "list", "--owner", "me", "--entry", host.url, "--json"]);
    assertEquals(JSON.parse(list.stdout).map((a: { id: string }) => a.id), [id]);
    const table = await paglets(["artifacts", "list", "--entry", host.url]);
    assert(table.stdout.includes("report.txt"), table.stdout);
    const info = await paglets(["artifacts", "info", id, "--entry", host.url, "--json"]);
    assertEquals(JSON.parse(info.stdout).name, "report.txt");

    const got = await paglets([
      "artifacts",
      "get",
      id,
      `${tmp}/copy.txt`,
      "--move",
      "--entry",
      host.url,
      "--json",
    ]);
    assertEquals(got.code, 0, got.stderr);
    assertEquals(await Deno.readTextFile(`${tmp}/copy.txt`), "the report\n");
    const gone = await paglets(["artifacts", "info", id, "--entry", host.url]);
    assertEquals(gone.code, 1);
    assert(gone.stderr.includes("artifact_not_found"), gone.stderr);

    const again = JSON.parse(
      (await paglets(["artifacts", "put", file, "--entry", host.url, "--json"])).stdout,
    );
    const rm = await paglets(["artifacts", "rm", again.id, "--entry", host.url]);
    assertEquals(rm.code, 0, rm.stderr);
    assertEquals(
      JSON.parse((await paglets(["artifacts", "list", "--entry", host.url, "--json"])).stdout),
      [],
    );
  } finally {
    await stopAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

Deno.test("a paglet uploads an artifact on one host and downloads it on another through an ArtifactRef", async () => {
  try {
    const [a, b] = await Promise.all([startMobileHost("alpha"), startMobileHost("beta")]);
    const { id } = await a.client.createAgent({ type: "test.traveller" });
    const { ref } = await a.client.send(id, { kind: "uploadArtifact", args: { text: "made on alpha" } }) as {
      ref: Record<string, unknown>;
    };
    assertEquals([ref.hostUrl, ref.name], [a.url, "result.txt"]);
    await a.client.send(id, { kind: "set", args: { nested: { ref } } });
    await a.client.dispatch(id, b.url);
    const carried = (await b.client.send(id, { kind: "get" }) as { nested: { ref: unknown } }).nested.ref;
    const got = await b.client.send(id, { kind: "downloadArtifact", args: { ref: carried, move: true } }) as {
      path: string;
      text: string;
    };
    assertEquals(got.text, "made on alpha");
    assert(got.path.startsWith(`${b.dataDir}/work/`), got.path);
    assertEquals((await new ArtifactClient(a.client).list()).length, 0);
  } finally {
    await stopAll();
  }
});

Deno.test("a download by a paglet that cannot be put in place fails and leaves no .part file", async () => {
  try {
    const host = await startMobileHost("alpha");
    const { id } = await host.client.createAgent({ type: "test.traveller" });
    const { ref } = await host.client.send(id, { kind: "uploadArtifact", args: { text: "kept" } }) as {
      ref: Record<string, unknown>;
    };
    // The destination is a folder that is not empty: the rename into place fails.
    const before = await host.client.send(id, { kind: "workDirEntries", args: { mkdir: "taken" } });
    assertEquals(before, ["result.txt", "taken"]);
    const err = await host.client.send(id, { kind: "downloadArtifact", args: { ref, path: "taken" } })
      .then(() => null, (e: Error) => e);
    assert(err !== null, "the download failed");
    assertEquals(await host.client.send(id, { kind: "workDirEntries" }), ["result.txt", "taken"]);
    // The artifact is still there, and a download to a free name works.
    const got = await host.client.send(id, { kind: "downloadArtifact", args: { ref } }) as { text: string };
    assertEquals(got.text, "kept");
  } finally {
    await stopAll();
  }
});

Deno.test("an expired artifact is gone at once: not listed, not found, and its bytes no longer count against the quota", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "paglets-artifacts-ttl-" });
  try {
    const host = await startMobileHost("alpha", { args: ["--artifact-storage-quota", "300K"] });
    const artifacts = new ArtifactClient(host.client);
    const file = `${tmp}/input.bin`;
    await Deno.writeFile(file, new Uint8Array(200_000));
    const brief = await artifacts.upload(file, { ttlSeconds: 3 });
    assertEquals((await artifacts.list()).map((a) => a.id), [brief.id]);
    // A second one does not fit while the first is there.
    await assertRejectsCode(() => artifacts.upload(file), "quota_exceeded");
    const err = await eventually(
      "the artifact expires",
      () => artifacts.info(brief.id).then(() => null, (e: Error & { code?: string }) => e),
    );
    assertEquals(err.code, "artifact_not_found", err.message);
    assert(err.message.includes("expired at"), err.message);
    assertEquals(await artifacts.list(), []);
    // Its bytes are freed for the next upload (the sweeper's next round is minutes away).
    const kept = await artifacts.upload(file);
    assertEquals((await artifacts.list()).map((a) => a.id), [kept.id]);
  } finally {
    await stopAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
