import { assertEquals } from "../../tests/helpers/assert.ts";
import { HelperJournal } from "./helper_journal.ts";

Deno.test("a helper journal names the helpers created and not gone, across instances", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-journal-" });
  try {
    const first = new HelperJournal(() => Promise.resolve(dir));
    await first.created([{ id: "pi-1-b0-1", host: "http://a" }, { id: "pi-1-b0-2", host: "http://b" }]);
    first.gone("pi-1-b0-1");
    await first.flush();
    const again = new HelperJournal(() => Promise.resolve(dir));
    assertEquals(await again.read(), [{ id: "pi-1-b0-2", host: "http://b" }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a line its former instance left cut short runs into no line of the next instance", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paglets-journal-" });
  try {
    await Deno.writeTextFile(`${dir}/helpers.journal`, "+ pi-1-b0-1 http://a\n+ pi-1-b0-");
    const again = new HelperJournal(() => Promise.resolve(dir));
    await again.created([{ id: "pi-2-b0-1", host: "http://b" }]);
    assertEquals(await again.read(), [
      { id: "pi-1-b0-1", host: "http://a" },
      { id: "pi-2-b0-1", host: "http://b" },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
