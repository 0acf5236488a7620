/**
 * The paglets version a process reports (`paglets --version`, `GET /v1/health`, `GET /v1/host`, the
 * mesh's snapshots, the dashboard): the release, and the build as semver build metadata,
 * `0.1.0+3f9a1c2e4b7d`. The build is a hash of the host's source files taken when its bundle was
 * built (scripts/host_bundle.ts, run at install, by the tests and by `deno task compile`): two hosts
 * that report the same version run the same code, and an upgraded host reports a new one. A host
 * whose bundle does not match its source files (edited since, or never built) runs the source as
 * it is and reports `0.1.0+source`.
 *
 * @module
 */

/** The release. */
export const RELEASE = "0.1.0";

let build: string | (() => string) | null = null;

/** This process's version: the release, with its build once cli/host_code.ts has found it. */
export function version(): string {
  if (typeof build === "function") build = build();
  return build === null ? RELEASE : `${RELEASE}+${build}`;
}

/** Records the build of the host code this process loaded, or how to find it when asked (cli/host_code.ts). */
export function setBuild(id: string | (() => string)): void {
  build = id;
}
