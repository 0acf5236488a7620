/**
 * Debian's chromium for the dashboard's tests, driven by playwright-core: whether it is there (a
 * test is ignored, saying so, when it is not), and one way to start it.
 */
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const haveChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!haveChromium) console.error(`dashboard test ignored: ${CHROMIUM} is missing (apt-get install chromium)`);

/** A headless chromium; close it when done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}
