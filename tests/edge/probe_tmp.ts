import { startHost, stopAll } from "./../helpers/host_process.ts";
const h = await startHost({ name: "p" });
const u = new URL(h.url);
const enc = new TextEncoder();
const conn = () => Deno.connect({ hostname: u.hostname, port: Number(u.port) });
async function firstLine(c: Deno.Conn, wait: number): Promise<string> {
  const buf = new Uint8Array(65536);
  const t0 = Date.now();
  const r = await Promise.race([c.read(buf).then((n) => n === null ? `closed after ${Date.now() - t0} ms` : new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0] + ` after ${Date.now() - t0} ms`, (e) => "err " + e), new Promise<string>((r) => setTimeout(() => r(`nothing after ${wait} ms`), wait))]);
  return r;
}
for (const kb of [8, 16, 32, 60, 64, 70, 100, 400, 1000]) {
  const c = await conn();
  c.write(enc.encode("GET /v1/health HTTP/1.1\r\nhost: x\r\nx-big: " + "a".repeat(kb * 1024) + "\r\n\r\n")).catch(() => {});
  console.log(`headers ${kb} KB:`, await firstLine(c, 3000));
  try { c.close(); } catch {}
}
{
  const c = await conn();
  await c.write(enc.encode("GET /v1/health HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc"));
  await c.closeWrite();
  console.log("short health:", await firstLine(c, 3000));
  c.close();
}
const idle = await conn();
const slow = await conn();
const ka = await conn();
await ka.write(enc.encode("GET /v1/health HTTP/1.1\r\nhost: x\r\n\r\n"));
console.log("ka first:", await firstLine(ka, 3000));
let i = 0;
const drip = setInterval(() => slow.write(enc.encode("GET /v1/health HTTP/1.1\r\n"[i++ % 20] ?? "x")).catch(() => {}), 2000);
const [a, b, k] = await Promise.all([firstLine(idle, 45000), firstLine(slow, 45000), firstLine(ka, 45000)]);
clearInterval(drip);
console.log({ idle: a, slow: b, keepalive: k });
await stopAll();
