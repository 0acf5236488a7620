/**
 * The dashboard when things go wrong, driven in headless Chromium (Debian's chromium package) against
 * real host processes: a network that drops (flows frozen, nothing closed) and comes back, hosts that
 * stop answering or stop, a job on another host clicked, a key pasted with typographic quotes, exactly
 * 200 agents, and user-info streams that are not the Pi example's.
 */
import type { Browser, Page } from "playwright-core";
import { haveChromium, launchChromium } from "./helpers/browser.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { DASHBOARD_HTML } from "../host/dashboard/page.ts";
import { jsonOf, paglets } from "./helpers/cli.ts";
import { type HostProcess, startHost, stopAll } from "./helpers/host_process.ts";
import { eventually } from "./helpers/in_process.ts";
import { TcpProxy } from "./helpers/tcp_proxy.ts";

const KEY = "dash-faults-key";

async function withBrowser(fn: (browser: Browser) => Promise<void>): Promise<void> {
  const browser = await launchChromium();
  try {
    await fn(browser);
  } finally {
    await browser.close();
    await stopAll();
  }
}

/** The page of the host at `url`, with the key already in the tab's session storage. */
async function openWithKey(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  await page.goto(`${url}/`);
  await page.evaluate((k) => sessionStorage.setItem("pagletsKey", k), KEY);
  await page.reload();
  await page.waitForSelector("#status:has-text('updated')", { timeout: 20_000 });
  return page;
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? "";
}

/** The lines of the Events panel, newest first. */
function eventLines(page: Page): Promise<string[]> {
  return page.$$eval("#events div", (divs) => divs.map((d) => d.textContent ?? ""));
}

function host(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<HostProcess> {
  return startHost({ name, apiKey: KEY, args: ["--workers", "2", ...args], env });
}

Deno.test({
  name:
    "dashboard: after a network drop the event stream is given up after three silent keepalives and reconnects, " +
    "catching up without duplicates; the header says the data is stale meanwhile",
  ignore: !haveChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The host says its keepalive period on the stream's answer: the page learns it from there.
    const alpha = await host("alpha", [], { PAGLETS_SSE_KEEPALIVE_MS: "300" });
    const proxy = new TcpProxy(alpha.url);
    try {
      await withBrowser(async (browser) => {
        const page = await openWithKey(browser, proxy.url);
        const created = async () => (await alpha.client.createAgent({ type: "demo.counter" })).id;
        const before = await created();
        await eventually(
          "the live stream to show a new agent",
          async () => (await text(page, "#events")).includes(before),
          15_000,
        );

        proxy.freeze(); // the network drops
        const during = await created();
        await page.waitForSelector("#status:has-text('stale since')", { timeout: 30_000 });
        const status = await text(page, "#status");
        assert(/^stale since .+ — host not answering$/.test(status), status);
        assert(!(await text(page, "#events")).includes(during), "nothing passes while the network is down");

        proxy.pass(); // the network is back (the frozen flows stay frozen)
        // The stream reconnects by itself, with what happened meanwhile, and is live again.
        await eventually(
          "the events missed while down",
          async () => (await text(page, "#events")).includes(during),
          30_000,
        );
        const after = await created();
        await eventually(
          "a new event after the reconnection",
          async () => (await text(page, "#events")).includes(after),
          15_000,
        );
        const lines = await eventLines(page);
        for (const id of [before, during, after]) {
          assertEquals(
            lines.filter((l) => / create {2}/.test(l) && l.includes(id)).length,
            1,
            `one create line of ${id}`,
          );
        }
        // The periodic refresh comes back too, and the header says so.
        await page.waitForSelector("#status:has-text('updated')", { timeout: 90_000 });
        assertEquals(await text(page, "#live"), "");
      });
    } finally {
      proxy.close();
      await stopAll();
    }
  },
});

Deno.test({
  name: "dashboard: a job on another host opens its detail; hosts that stop answering or stop are named in " +
    "Compute slots, Compute jobs and Runners",
  ignore: !haveChromium,
  async fn() {
    // A peer silent this long is offline: a host that hangs stays online meanwhile (and does not answer).
    const mesh = ["--gossip-interval-ms", "200", "--offline-after-ms", "60000"];
    const alpha = await host("alpha", mesh);
    const beta = await host("beta", [...mesh, "--peer", alpha.url]);
    await withBrowser(async (browser) => {
      await eventually("a mesh of two", async () => {
        const { hosts } = await alpha.client.request<{ hosts: { online: boolean }[] }>(
          "GET",
          "/v1/mesh/hosts",
        );
        return hosts.filter((h) => h.online).length === 2;
      }, 20_000);
      const job = await beta.client.createAgent({
        type: "demo.spinjob",
        state: { ms: 10, allowHomeCompute: true, excludedHostNames: ["alpha"] },
      });
      const page = await openWithKey(browser, alpha.url);
      await page.waitForSelector(`#jobs a.agent[data-id="${job.id}"]`, { timeout: 20_000 });
      assert(!(await text(page, "#jobs")).includes("not answering"), await text(page, "#jobs"));

      // Its detail comes from beta, through alpha.
      await page.click(`#jobs a.agent[data-id="${job.id}"]`);
      await page.waitForSelector("#detail pre", { timeout: 10_000 });
      const detail = await text(page, "#detail");
      assert(detail.includes("demo.spinjob") && detail.includes("beta"), detail);
      assert(detail.includes('"computeStatus"'), detail);

      // beta hangs: alpha still counts it online, but it does not answer.
      beta.process.kill("SIGSTOP");
      try {
        await page.waitForSelector("#jobs td.note:has-text('not answering: beta')", { timeout: 20_000 });
        for (const panel of ["#slots", "#runners"]) {
          assert((await text(page, panel)).includes("not answering: beta"), await text(page, panel));
        }
        // Job groups ask every online host too: beta is named there once its answer is overdue.
        await page.waitForSelector("#groups td.note:has-text('not answering: beta')", { timeout: 20_000 });
        assert(!(await text(page, "#jobs")).includes("in the mesh"), await text(page, "#jobs"));
      } finally {
        beta.process.kill("SIGCONT");
      }
      await page.waitForSelector("#jobs td.note", { state: "detached", timeout: 20_000 });

      // beta stops: it left, and it is named as not asked.
      await beta.stop();
      await page.waitForSelector("#jobs td.note:has-text('not asked, not online: beta (left)')", {
        timeout: 20_000,
      });
      assert(
        (await text(page, "#slots")).includes("not asked, not online: beta (left)"),
        await text(page, "#slots"),
      );
      assert(
        (await text(page, "#jobs")).includes("no compute job on the hosts that answered"),
        await text(page, "#jobs"),
      );
      assert(
        (await text(page, "#groups")).includes("not asked, not online: beta (left)"),
        await text(page, "#groups"),
      );
    });
  },
});

Deno.test({
  name:
    "dashboard: a graceful stop of the page's host shows 'host stopping' in the header, never as an event, " +
    "and the data is then said to be stale",
  ignore: !haveChromium,
  async fn() {
    const alpha = await host("alpha");
    await withBrowser(async (browser) => {
      const page = await openWithKey(browser, alpha.url);
      const { id } = await alpha.client.createAgent({ type: "demo.counter" });
      await eventually(
        "the live stream to show the agent",
        async () => (await text(page, "#events")).includes(id),
        15_000,
      );
      await alpha.stop();
      await page.waitForSelector("#live:has-text('host stopping')", { timeout: 15_000 });
      await page.waitForSelector("#status:has-text('stale since')", { timeout: 30_000 });
      const lines = await eventLines(page);
      assert(lines.length > 0);
      for (const line of lines) assert(!/Invalid Date|undefined/.test(line), line);
    });
  },
});

Deno.test({
  name: "dashboard: a key with a character outside ASCII is refused in the form and never kept; one kept " +
    "already is forgotten and asked for again",
  ignore: !haveChromium,
  async fn() {
    const alpha = await host("alpha");
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      await page.goto(`${alpha.url}/`);
      await page.waitForSelector("#keyInput", { state: "visible", timeout: 10_000 });
      // Pasted with typographic quotes around it.
      await page.fill("#keyInput", `“${KEY}”`);
      await page.press("#keyInput", "Enter");
      await page.waitForSelector("#keyMsg:has-text('ASCII')", { timeout: 10_000 });
      assert(await page.isVisible("#key"));
      assert((await text(page, "#keyMsg")).includes("U+201C"), await text(page, "#keyMsg"));
      assertEquals(await page.evaluate(() => sessionStorage.getItem("pagletsKey")), null);
      // The right key then works.
      await page.fill("#keyInput", KEY);
      await page.press("#keyInput", "Enter");
      await page.waitForSelector("#status:has-text('updated')", { timeout: 15_000 });
      await page.waitForSelector("#key", { state: "hidden", timeout: 10_000 });

      // A key such a page kept before: a reload asks again instead of failing every request.
      await page.evaluate((k) => sessionStorage.setItem("pagletsKey", k), `“${KEY}”`);
      await page.reload();
      await page.waitForSelector("#keyMsg:has-text('ASCII')", { timeout: 10_000 });
      assert(await page.isVisible("#key"));
      assertEquals(await page.evaluate(() => sessionStorage.getItem("pagletsKey")), null);
      await page.fill("#keyInput", KEY);
      await page.press("#keyInput", "Enter");
      await page.waitForSelector("#status:has-text('updated')", { timeout: 15_000 });
    });
  },
});

Deno.test({
  name: "dashboard: with exactly 200 agents all are shown and no line says there are more; with 201 one does",
  ignore: !haveChromium,
  async fn() {
    const alpha = await host("alpha");
    await withBrowser(async (browser) => {
      const { agents } = await alpha.client.request<{ agents: unknown[] }>("GET", "/v1/agents?limit=1000");
      for (let n = agents.length; n < 200; n++) {
        await alpha.client.createAgent({ type: "demo.counter" });
      }
      const page = await openWithKey(browser, alpha.url);
      await eventually(
        "200 agents shown",
        async () => (await page.locator("#agents a.agent").count()) === 200,
        20_000,
      );
      await page.waitForSelector("#status:has-text('updated')", { timeout: 10_000 });
      assert(!(await text(page, "#agents")).includes("the first 200 shown"), "all 200 are shown");
      await alpha.client.createAgent({ type: "demo.counter" });
      await page.waitForSelector("#agents td:has-text('the first 200 shown')", { timeout: 20_000 });
      assertEquals(await page.locator("#agents a.agent").count(), 200);
    });
  },
});

Deno.test({
  name:
    "dashboard: the Pi panel shows only the Pi example's stream, named by the job id `examples pi --json` reports",
  ignore: !haveChromium,
  async fn() {
    const alpha = await host("alpha");
    await withBrowser(async (browser) => {
      const page = await openWithKey(browser, alpha.url);
      // Another user-info stream's chunk; an agent created next, whose event comes after it on the
      // page's stream, says when the page has read it.
      const other = async (chunk: string) => {
        await alpha.client.request("POST", "/v1/services/user-info/stream", {
          streamId: "not-pi",
          text: chunk,
        });
        const { id } = await alpha.client.createAgent({ type: "demo.counter" });
        await eventually(
          "the page to read the chunk",
          async () => (await text(page, "#events")).includes(id),
          15_000,
        );
      };
      // Before the job: no Pi job.
      await other("hello from elsewhere");
      assertEquals(await text(page, "#piJob"), "no Pi job streaming");
      assertEquals(await text(page, "#pi"), "");

      const pi = jsonOf<{ jobId: string; status: string }>(
        await paglets(["examples", "pi", "--digits", "200", "--json", "--entry", alpha.url], {
          PAGLETS_API_KEY: KEY,
        }),
      );
      assertEquals(pi.status, "done");
      await page.waitForSelector(`#piJob:has-text('job ${pi.jobId} finished')`, { timeout: 15_000 });
      const digits = await text(page, "#pi");
      assert(digits.startsWith("3.14159265358979"), digits);

      // Another stream after the job takes nothing over, live or after a reload.
      await other("still not pi");
      assertEquals(await text(page, "#piJob"), `job ${pi.jobId} finished`);
      assertEquals(await text(page, "#pi"), digits);
      await page.reload();
      await page.waitForSelector(`#piJob:has-text('job ${pi.jobId} finished')`, { timeout: 15_000 });
      assertEquals(await text(page, "#pi"), digits);
    });
  },
});

Deno.test("every request the dashboard page makes is bounded in time: one answer that never comes stops no refresh", () => {
  // Refreshes run one at a time: a request on a connection that went silent, waited for without a
  // bound, held every later refresh (the header never said "updated" again after a network drop).
  const calls = DASHBOARD_HTML.split("\n").filter((line) => /\bfetch\(/.test(line));
  assert(calls.length >= 2, `the page's fetch calls: ${calls.length}`); // api() and the event stream
  for (const line of calls) assert(/signal/.test(line), `a request without a signal: ${line.trim()}`);
});
