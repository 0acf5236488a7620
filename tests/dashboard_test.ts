/** The dashboard every host serves, driven in headless Chromium (Debian's chromium package). */
import { chromium } from "playwright-core";
import { assert } from "./helpers/assert.ts";
import { eventually, testHost } from "./helpers/in_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!haveChromium) console.error(`dashboard test ignored: ${CHROMIUM} is missing (apt-get install chromium)`);

Deno.test({
  name:
    "the dashboard shows this host's agents, job groups with progress and live events, and asks for the API key when one is set",
  ignore: !haveChromium,
  async fn() {
    await using t = await testHost({ apiKey: "dash-key" });
    const { id } = await t.client.createAgent({ type: "demo.counter" });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${t.host.url}/`);
      await page.waitForSelector("#keyInput", { state: "visible", timeout: 10_000 });
      await page.fill("#keyInput", "dash-key");
      await page.click("#keyBtn");
      await page.waitForSelector(`#agents td:has-text("${id}")`, { timeout: 10_000 });
      await t.client.send(id, { kind: "increment" });
      await eventually(
        "the create event in the live list",
        async () => (await page.textContent("#events"))?.includes(id),
        10_000,
      );
      assert((await page.textContent("#host"))?.includes("CPUs"));

      // A job group with one of its four jobs reported shows with its progress.
      const collector = await t.client.createAgent({
        type: "paglets.result_collector",
        state: { groupId: "dash-group" },
      });
      const jobs = ["a", "b", "c", "d"].map((jobKey) => ({ jobKey }));
      await t.client.send(collector.id, { kind: "register_jobs", args: { jobs } });
      await t.client.send(collector.id, {
        kind: "job_result",
        args: { jobKey: "a", reportId: "r-a", result: 1 },
      });
      await page.waitForSelector(`#groups td:has-text("dash-group")`, { timeout: 10_000 });
      assert((await page.textContent("#groups"))?.includes("1/4 (25%)"));
    } finally {
      await browser.close();
    }
  },
});
