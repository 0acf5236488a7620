/** paglets: the CLI entry point (`paglets --help`). */
if (import.meta.main) {
  // `paglets --help` and `--version` without loading the command tree or any command group.
  const [only, ...rest] = Deno.args;
  if (rest.length === 0 && (only === "--help" || only === "-h")) {
    const { TOP_HELP } = await import("./cli/top_help.ts");
    Deno.stdout.writeSync(new TextEncoder().encode(TOP_HELP));
    Deno.exit(0);
  }
  if (rest.length === 0 && (only === "--version" || only === "-V")) {
    const { processVersion } = await import("./cli/host_code.ts");
    console.log(processVersion());
    Deno.exit(0);
  }
  // Before the rest of the CLI loads (hence the dynamic imports below).
  const { startEarly } = await import("./cli/early_start.ts");
  startEarly(Deno.args);
  // By URL, not a literal: Deno prepares the module graph of every literal import() before main.ts
  // runs, and the CLI's (every command group, the host) would cost `--help` and `--version` about
  // 25 ms of CPU. The compiled binary embeds it through scripts/compile_includes.ts.
  const { buildProgram, commandEnded } = await import(
    new URL("./cli/program.ts", import.meta.url).href
  ) as typeof import("./cli/program.ts");
  try {
    await (await buildProgram(Deno.args)).parseAsync(Deno.args);
    // After Ctrl-C, the signal's handler exits (cli/signals.ts) once it knows the command ended.
    await commandEnded();
    // A thread the command's embedded host could not end (an endless loop) would keep the process
    // alive for ever: exit rather than wait for it.
    const { strayThreads } = await import(
      new URL("./host/stray_threads.ts", import.meta.url).href
    ) as typeof import("./host/stray_threads.ts");
    if (strayThreads() > 0) Deno.exit();
  } catch (err) {
    // Help or the version was printed (or a group's help, for a group named without a command), or
    // the command failed.
    const { exitAfter } = await import("./cli/command.ts");
    await exitAfter(err);
  }
}
