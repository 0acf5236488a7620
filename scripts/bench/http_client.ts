/**
 * Client process of the HTTP message benchmark: measures POST round trips to several URLs in
 * interleaved rounds and prints one JSON line `{"times": number[][]}` (milliseconds, one array per
 * URL, in argument order).
 *
 * Run by scripts/bench/http_message.ts:
 * `deno run -A http_client.ts ROUNDS PER_ROUND WARMUP BODY URL...`
 */
const [roundsText, perRoundText, warmupText, body, ...urls] = Deno.args;
const rounds = Number(roundsText);
const perRound = Number(perRoundText);
const warmup = Number(warmupText);

async function roundTrip(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  return performance.now() - t0;
}

for (let i = 0; i < warmup; i++) {
  for (const url of urls) await roundTrip(url);
}
const times: number[][] = urls.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let u = 0; u < urls.length; u++) {
    for (let i = 0; i < perRound; i++) times[u].push(await roundTrip(urls[u]));
  }
}
console.log(JSON.stringify({ times }));
