/**
 * Clients that misbehave at the TCP and HTTP level, against real host processes: slow and idle
 * connections, more connections than the host allows or than its process may open, bodies that
 * end short, heads over the limit, JSON nested to stall a parser, and large bodies refused before
 * they are read. Every one gets a coded answer or a closed connection; the host keeps serving and
 * never exits.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { type HostProcess, startHost, stopAll } from "../helpers/host_process.ts";
import { eventually } from "../helpers/in_process.ts";
import { paglets } from "../helpers/cli.ts";
import {
  answerOf,
  close,
  connect,
  healthOk,
  portOf,
  readUntilClosed,
  stillRunning,
} from "../helpers/raw_http.ts";

const encoder = new TextEncoder();

Deno.test("slow and idle connections are closed by the host's timeouts", async (t) => {
  try {
    const host = await startHost({
      name: "timeouts",
      args: ["--header-timeout-ms", "300", "--idle-timeout-ms", "400"],
    });

    await t.step("a request head that never completes is closed", async () => {
      const conn = await connect(host);
      await conn.write(encoder.encode("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      const { text, closed } = await readUntilClosed(conn, 10_000);
      close(conn);
      assert(closed, "the slow connection was not closed");
      // Deno's HTTP server holds the socket from the first byte (no relay): it closes, it cannot answer.
      assertEquals(text, "");
    });

    await t.step("a connection that says nothing is closed without an answer", async () => {
      const conn = await connect(host);
      const { text, closed } = await readUntilClosed(conn, 10_000);
      close(conn);
      assert(closed, "the silent connection was not closed");
      // Nothing was asked, so the only thing written may be the 408 of a missing head.
      assert(text === "" || answerOf(text).status === 408, `unexpected answer: ${text.slice(0, 80)}`);
    });

    await t.step("a keep-alive connection is answered, then closed once idle", async () => {
      const conn = await connect(host);
      await conn.write(
        encoder.encode("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"),
      );
      const { text, closed } = await readUntilClosed(conn, 10_000);
      close(conn);
      assertEquals(answerOf(text).status, 200);
      assert(closed, "the idle keep-alive connection was not closed");
    });

    await t.step("the host still serves", async () => {
      assert(await healthOk(host));
      assert(await stillRunning(host));
    });
  } finally {
    await stopAll();
  }
});

Deno.test("connections past --max-connections are refused with 503 too_many_connections", async () => {
  const held: Deno.Conn[] = [];
  try {
    const host = await startHost({ name: "capped", args: ["--max-connections", "4"] });
    for (let i = 0; i < 4; i++) held.push(await connect(host));
    // The gate counts a connection once it accepted it: the fifth is refused once all four count.
    await eventually("the fifth connection is refused", async () => {
      const extra = await connect(host);
      const { text } = await readUntilClosed(extra, 5_000);
      close(extra);
      const answer = answerOf(text);
      return answer.status === 503 && answer.code === "too_many_connections";
    }, 10_000);
    for (const conn of held.splice(0)) close(conn);
    await eventually("health answers", () => healthOk(host), 10_000);
    assert(await stillRunning(host));
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});

Deno.test("at its file limit the host refuses clients, never exits, and serves again after", async (t) => {
  const held: Deno.Conn[] = [];
  try {
    // 200 descriptors, and a cap asked for far above what they allow: the host lowers it.
    const host = await startHost({ name: "nofiles", maxOpenFiles: 200, args: ["--max-connections", "1000"] });
    assert(
      host.stderr.some((line) => /--max-connections 1000 is more than/.test(line)),
      host.stderr.join("\n"),
    );

    await t.step("300 idle connections: those past the cap are refused, the host runs on", async () => {
      for (let i = 0; i < 300; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(host) }).catch(() => null);
        if (conn) held.push(conn);
      }
      // The connections past the cap are answered 503 and closed; those served stay open.
      const outcomes = await Promise.all(held.map((conn) => readUntilClosed(conn, 3_000)));
      const refused = outcomes.filter((o) => answerOf(o.text).code === "too_many_connections").length;
      const served = outcomes.filter((o) => !o.closed).length;
      assert(refused > 0, `no connection was refused:\n${host.stderr.join("\n")}`);
      assert(served > 0 && served < 200, `${served} connections stayed open`);
      assert(await stillRunning(host), `the host exited:\n${host.stderr.join("\n")}`);
    });

    await t.step("once the clients leave, the host answers again", async () => {
      for (const conn of held.splice(0)) close(conn);
      await eventually("health answers", () => healthOk(host), 15_000);
      assert(await stillRunning(host));
    });
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});

Deno.test("bodies that end short, heads over the limit and deep JSON get coded answers", async (t) => {
  try {
    const host = await startHost({ name: "bodies" });

    await t.step("a JSON body shorter than its Content-Length answers 400 bad_request", async () => {
      for (const path of ["/v1/agents", "/v1/mesh/gossip"]) {
        const conn = await connect(host);
        await conn.write(encoder.encode(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`,
        ));
        await conn.closeWrite();
        const { text } = await readUntilClosed(conn, 10_000);
        close(conn);
        assertEquals(answerOf(text), { status: 400, code: "bad_request" }, `${path}: ${text.slice(0, 120)}`);
      }
    });

    await t.step("the event stream with a body answers 400 bad_request", async () => {
      const conn = await connect(host);
      await conn.write(encoder.encode(
        "GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\nabc",
      ));
      await conn.closeWrite();
      const { text } = await readUntilClosed(conn, 10_000);
      close(conn);
      assertEquals(answerOf(text), { status: 400, code: "bad_request" });
    });

    await t.step(
      "a head over 32 KiB answers 431 headers_too_large; past the parser's 64 KiB, its 400",
      async () => {
        for (const [size, status] of [[40_000, 431], [80_000, 400]]) {
          const conn = await connect(host);
          await conn.write(
            encoder.encode(
              `GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(size)}\r\n\r\n`,
            ),
          )
            .catch(() => {/* the host may close before all is written */});
          const { text, closed } = await readUntilClosed(conn, 10_000);
          close(conn);
          assert(closed, `a head of ${size} bytes left the connection open`);
          if (status === 431) assertEquals(answerOf(text), { status: 431, code: "headers_too_large" });
          else assert(text.startsWith("HTTP/1.1 400"), text.slice(0, 80));
        }
      },
    );

    await t.step("16 MB of '[' is refused by depth, not parsed", async () => {
      const body = "[".repeat(16 * 1024 * 1024 - 64);
      const response = await fetch(`${host.url}/v1/agents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const answer = await response.json();
      assertEquals(response.status, 400);
      assertEquals(answer.error.code, "malformed_json");
      assert(/deeper than/.test(answer.error.message), answer.error.message);
    });

    await t.step("the host still serves", async () => {
      assert(await healthOk(host));
      assert(await stillRunning(host));
    });
  } finally {
    await stopAll();
  }
});

/**
 * Sends a request head and the first bytes of its body, and reads what the host answers until it
 * closes the connection (bounded well below the host's 60 s idle timeout).
 */
async function refusal(
  host: HostProcess,
  head: string,
  start = '{"kind":',
): Promise<{ status: number; code?: string; closed: boolean }> {
  const conn = await connect(host);
  try {
    let bytes = encoder.encode(`${head}\r\n${start}`);
    // Written while the answer is read: the host may stop reading, answer and close first.
    const writing = (async () => {
      for (let i = 0; bytes.length > 0 && i < 10_000; i++) bytes = bytes.subarray(await conn.write(bytes));
    })().catch(() => {/* the host closed the connection */});
    const { text, closed } = await readUntilClosed(conn, 20_000);
    await writing;
    return { ...answerOf(text), closed };
  } finally {
    close(conn);
  }
}

Deno.test("a refusal before the body is read ends the connection, whatever the client still means to send", async (t) => {
  const KEY = "early-refusal-key";
  const MESSAGES = "/v1/agents/ag_7gwxzqa6sc2mupw2gtok/messages";
  try {
    const host = await startHost({ name: "refusals", apiKey: KEY, args: ["--max-body-bytes", "1M"] });

    await t.step(
      "401 unauthorized to a declared 100 MB body, without a key or with a wrong one",
      async () => {
        for (const path of ["/v1/agents", MESSAGES]) {
          for (const auth of ["", "Authorization: Bearer wrong\r\n"]) {
            const answer = await refusal(
              host,
              `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 100000000\r\n`,
            );
            assertEquals(answer, { status: 401, code: "unauthorized", closed: true }, `${path} ${auth}`);
          }
        }
      },
    );

    await t.step("413 payload_too_large to a declared body over the limit", async () => {
      for (const path of ["/v1/agents", MESSAGES]) {
        const answer = await refusal(
          host,
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 100000000\r\n`,
        );
        assertEquals(answer, { status: 413, code: "payload_too_large", closed: true }, path);
      }
    });

    await t.step("413 payload_too_large to a chunked body once it streams past the limit", async () => {
      // One chunk of 1.1 MB, and no last chunk: the host reads past its limit and stops there.
      const size = 1_100_000;
      const answer = await refusal(
        host,
        `POST /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nTransfer-Encoding: chunked\r\n`,
        `${size.toString(16)}\r\n${"a".repeat(size)}\r\n`,
      );
      assertEquals(answer, { status: 413, code: "payload_too_large", closed: true });
    });

    await t.step(
      "a refusal of a request without a body keeps the connection for the next request",
      async () => {
        const conn = await connect(host);
        try {
          // Two requests at once: the second asks the host to close after it, so the read ends.
          await conn.write(encoder.encode(
            "GET /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n\r\n" +
              "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
          ));
          const { text, closed } = await readUntilClosed(conn, 20_000);
          assert(closed);
          const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
          assertEquals(statuses, [401, 200], text);
        } finally {
          close(conn);
        }
      },
    );

    await t.step("the host still serves", async () => {
      assert(await healthOk(host));
      assert(await stillRunning(host));
    });
  } finally {
    await stopAll();
  }
});

Deno.test("the CLI waits out a host at its connection limit: asked again until a connection frees", async () => {
  const held: Deno.Conn[] = [];
  try {
    const host = await startHost({
      name: "capped-cli",
      args: ["--max-connections", "2", "--header-timeout-ms", "1500"],
    });
    for (let i = 0; i < 2; i++) held.push(await connect(host));
    await eventually("a third connection is refused", async () => {
      const extra = await connect(host);
      const { text } = await readUntilClosed(extra, 5_000);
      close(extra);
      return answerOf(text).code === "too_many_connections";
    }, 10_000);
    // The two idle connections send nothing: the host drops them after its header timeout.
    const run = await paglets(["agents", "ls", "--json", "--entry", host.url]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(JSON.parse(run.stdout), []);
  } finally {
    for (const conn of held) close(conn);
    await stopAll();
  }
});
