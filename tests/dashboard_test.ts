/** The dashboard every host serves, driven in headless Chromium (Debian's chromium package). */
import { chromium } from "playwright-core";
import { assert } from "./helpers/assert.ts";
import { eventually, testHost } from "./helpers/in_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!haveChromium) console.error(`dashboard test ignored: ${CHROMIUM} is missing (apt-get install chromium)`);

Deno.test({
  name: "the dashboard shows this host's agents and live events, and asks for the API key when one is set",
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
    } finally {
      await browser.close();
    }
  },
});
