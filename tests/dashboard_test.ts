/**
 * The dashboard every host serves, driven in headless Chromium (Debian's chromium package) against a
 * 2-host mesh with an API key, compute jobs running, a job group, a Runner and a Pi job: every panel shows
 * real data, and a page opened after the Pi job ended shows it finished. `PAGLETS_SCREENSHOTS=docs`
 * also saves docs/dashboard.png.
 */
import type { Page } from "playwright-core";
import { haveChromium, launchChromium } from "./helpers/browser.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { paglets } from "./helpers/cli.ts";
import { eventually, testHost } from "./helpers/in_process.ts";
import { extensionsForHost } from "../cli/extensions.ts";
import { Runner, taskModule } from "../agents/mod.ts";
import * as tasks from "./runner/fixtures/tasks.ts";

const RUNNER_TASKS = taskModule(new URL("./runner/fixtures/tasks.ts", import.meta.url), tasks);

const KEY = "dash-key";

async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? "";
}

Deno.test({
  name:
    "the dashboard shows a 2-host mesh: hosts over time, slots with CPU ids, jobs, groups, agent detail, Pi digits, live events",
  ignore: !haveChromium,
  async fn() {
    const fast = { apiKey: KEY, gossipIntervalMs: 200, offlineAfterMs: 1500, hostSampleMs: 200 };
    const extensions = () => extensionsForHost({ computeSlots: { gossipIntervalMs: 300 } });
    await using alpha = await testHost({ name: "alpha", ...fast }, extensions());
    await using beta = await testHost({ name: "beta", ...fast, peers: [alpha.host.url] }, extensions());
    await eventually("a mesh of two", async () => {
      const { hosts } = await alpha.client.request<{ hosts: { online: boolean }[] }>("GET", "/v1/mesh/hosts");
      return hosts.filter((h) => h.online).length === 2;
    }, 15_000);
    const { id } = await alpha.client.createAgent({ type: "demo.counter" });
    // Compute jobs that hold their cores for a while, so leases with CPU ids are there to see.
    const jobs = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(
        await alpha.client.createAgent({ type: "demo.spinjob", state: { ms: 8000, allowHomeCompute: true } }),
      );
    }
    const collector = await alpha.client.createAgent({
      type: "paglets.result_collector",
      state: { groupId: "dash-group" },
    });
    await alpha.client.send(collector.id, {
      kind: "register_jobs",
      args: { jobs: ["a", "b", "c", "d"].map((jobKey) => ({ jobKey })) },
    });
    await alpha.client.send(collector.id, {
      kind: "job_result",
      args: { jobKey: "a", reportId: "r-a", result: 1 },
    });

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
      // What the Pi panel's status line says, each time it changes (from the page's first script on).
      await page.addInitScript(`
        globalThis.piJobTexts = [];
        new MutationObserver(() => {
          const job = document.getElementById("piJob");
          if (job && job.textContent !== globalThis.piJobTexts.at(-1)) globalThis.piJobTexts.push(job.textContent);
        }).observe(document, { subtree: true, childList: true, characterData: true });
      `);
      const piJobTexts = () =>
        page.evaluate(() => (globalThis as unknown as { piJobTexts: string[] }).piJobTexts);
      // Requests of the page that fail, but for the API's 401s to requests without the right key
      // (they make the page ask for it).
      const failed: string[] = [];
      page.on("response", (res) => {
        const withKey = res.request().headers()["authorization"] === `Bearer ${KEY}`;
        const refused = !withKey && res.status() === 401 && new URL(res.url()).pathname.startsWith("/v1/");
        if (res.status() >= 400 && !refused) failed.push(`${res.status()} ${res.url()}`);
      });
      await page.goto(`${alpha.host.url}/`);
      await page.waitForSelector("#keyInput", { state: "visible", timeout: 10_000 });
      // A wrong key first: the page says so, and asks again.
      await page.fill("#keyInput", "not-the-key");
      await page.press("#keyInput", "Enter");
      await eventually(
        "the page says the key is wrong",
        async () => (await text(page, "#keyMsg")).includes("wrong"),
        10_000,
      );
      await page.fill("#keyInput", KEY);
      await page.press("#keyInput", "Enter"); // the button does the same

      // Every online host, with charts of its load and memory; the key's prompt is gone for good.
      await page.waitForSelector("#hosts td:has-text('beta')", { timeout: 15_000 });
      await page.waitForSelector("#key", { state: "hidden", timeout: 10_000 });
      await eventually(
        "charts with points for both hosts",
        async () => (await page.locator("#hosts svg.spark polyline").count()) >= 4,
        15_000,
      );
      // Leases with their CPU ids, and the compute jobs.
      await page.waitForSelector("#slots td:has-text('cpus')", { timeout: 15_000 });
      assert(/cpus \d/.test(await text(page, "#slots")), await text(page, "#slots"));
      // A lease's agent opens its detail, asked of the host the lease is on.
      await page.locator("#slots a.agent").first().click();
      await page.waitForSelector("#detail pre:has-text('computeStatus')", { timeout: 10_000 });
      await page.waitForSelector("#jobs td:has-text('demo.spinjob')", { timeout: 15_000 });
      // The job group with its progress.
      await page.waitForSelector("#groups td:has-text('dash-group')", { timeout: 15_000 });
      assert((await text(page, "#groups")).includes("1/4 (25%)"));
      // An agent's detail: its state and mailbox.
      await page.click(`#agents a.agent[data-id="${id}"]`);
      // The detail shown before (a lease's job) gives way to this agent's.
      await page.waitForSelector(`#detail:has-text("${id}") pre`, { timeout: 10_000 });
      assert((await text(page, "#detail")).includes('"count"'), await text(page, "#detail"));
      assert((await text(page, "#detail")).includes("delivered"));
      // Live: a message shows in the events and in the detail without a reload.
      await alpha.client.send(id, { kind: "increment", args: { by: 41 } });
      await page.waitForSelector("#detail pre:has-text('41')", { timeout: 10_000 });
      await eventually(
        "the create event in the live list",
        async () => (await text(page, "#events")).includes(id),
      );
      // Moved to another host: the detail says where it went.
      await alpha.client.dispatch(id, beta.host.url);
      await page.waitForSelector("#detail p:has-text('moved to')", { timeout: 10_000 });
      assert((await text(page, "#detail")).includes(beta.host.url), await text(page, "#detail"));
      // ... and shows its record there, asked through alpha.
      await page.waitForSelector("#detail td:has-text('beta')", { timeout: 10_000 });
      assert((await text(page, "#detail")).includes('"count"'), await text(page, "#detail"));
      assertEquals(failed, [], "no request of the page failed");
      // An open Runner's executors.
      await using rr = await Runner.open("dash", {
        entry: alpha.host.url,
        apiKey: KEY,
        module: RUNNER_TASKS,
        executors: 1,
      });
      await page.waitForSelector("#runners a.agent", { timeout: 15_000 });
      await rr.close();
      // A Pi job's digits, streamed as they become certain.
      const pi = await paglets(["examples", "pi", "--digits", "3000", "--entry", alpha.host.url], {
        PAGLETS_API_KEY: KEY,
      });
      assert(pi.code === 0, pi.stderr);
      await page.waitForSelector("#pi:has-text('14159265358979')", { timeout: 15_000 });
      // The command disposed its coordinator: the panel says the job is finished and keeps its digits.
      await page.waitForSelector("#piJob:has-text('finished')", { timeout: 10_000 });
      const digits = await text(page, "#pi");
      const live = await piJobTexts();
      assert(/^job \S+ running$/.test(live.at(-2) ?? ""), live.join(" | "));

      // A page opened after the job ended shows its digits at once, as a finished job: it never
      // presents the job as running, and the digits are there once, as before.
      await page.reload();
      await page.waitForSelector("#piJob:has-text('finished')", { timeout: 10_000 });
      assertEquals(await text(page, "#pi"), digits);
      assertEquals(digits.split("14159265358979").length, 2, digits);
      const shown = await piJobTexts();
      assert(!shown.some((t) => t.includes("running")), shown.join(" | "));
      assertEquals(shown.at(-1), live.at(-1));
      assertEquals(failed, [], "no request of the page failed");

      const dir = Deno.env.get("PAGLETS_SCREENSHOTS");
      if (dir) await page.screenshot({ path: `${dir}/dashboard.png`, fullPage: true });
    } finally {
      await browser.close();
      for (const job of jobs) {
        for (const t of [alpha, beta]) await t.client.dispose(job.id).catch(() => {});
      }
    }
  },
});
