/**
 * POSIX file paths: the few operations of `node:path` the host and the SDK use, with the same
 * results for POSIX paths.
 *
 * Our own rather than `node:path`: importing any of Deno's Node modules loads its Node polyfills,
 * 40-150 ms of CPU in every process and worker that does (docs/performance.md, start-up).
 *
 * @module
 */

/** `path` with `.` and `..` resolved and repeated slashes folded; `.` when nothing is left. */
export function normalize(path: string): string {
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else if (part !== ".." || !absolute) parts.push(part);
  }
  const joined = parts.join("/");
  if (absolute) return `/${joined}`;
  return joined || ".";
}

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** The parts joined with `/` and normalized. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** An absolute path: the parts from the last absolute one on, against the current directory. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (parts[i] !== "") path = path ? `${parts[i]}/${path}` : parts[i];
  }
  if (!path.startsWith("/")) path = path ? `${Deno.cwd()}/${path}` : Deno.cwd();
  return normalize(path);
}

/** The path from `from` to `to` (both resolved first); `""` when they are the same. */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array(a.length - common).fill(".."), ...b.slice(common)].join("/");
}

/** Everything before the last part (trailing slashes ignored): `/a/b` → `/a`, `a` → `.`. */
export function dirname(path: string): string {
  const rooted = path.startsWith("/");
  let end = -1;
  let inTrailingSlashes = true;
  for (let i = path.length - 1; i >= 1; i--) {
    if (path[i] !== "/") inTrailingSlashes = false;
    else if (!inTrailingSlashes) {
      end = i;
      break;
    }
  }
  if (end === -1) return rooted ? "/" : ".";
  if (rooted && end === 1) return "//";
  return path.slice(0, end);
}

/** The last part (trailing slashes ignored), without `suffix` when it ends with it. */
export function basename(path: string, suffix?: string): string {
  const trimmed = stripTrailingSlashes(path);
  if (trimmed === "/") return "";
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return suffix && base !== suffix && base.endsWith(suffix) ? base.slice(0, -suffix.length) : base;
}

/** The `file:` URL of a path (resolved first), each part percent-encoded as a URL needs. */
export function toFileUrl(path: string): URL {
  const url = new URL("file:///");
  url.pathname = resolve(path).split("/").map(encodeURIComponent).join("/");
  return url;
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

/** The user's home directory: `$HOME` (as `os.homedir()` reads it first), else the current one. */
export function homeDir(): string {
  return Deno.env.get("HOME") || Deno.cwd();
}
