import { assert, assertEquals } from "../tests/helpers/assert.ts";
import { libcOnce, openLibc } from "./libc.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "libc's functions through FFI: a real call, once per thread, and the reason when a symbol is missing",
  ignore: !linux,
  fn() {
    const libc = libcOnce({ getpid: { parameters: [], result: "i32" } });
    const opened = libc();
    assert(opened.symbols !== null, opened.error);
    assertEquals(opened.symbols.getpid(), Deno.pid);
    assert(libc() === opened, "opened once");

    const missing = openLibc({ no_such_function_in_libc: { parameters: [], result: "void" } });
    assertEquals(missing.symbols, null);
    const why = missing.error ?? "";
    assert(why.startsWith("cannot load libc.so.6: ") && why.includes("no_such_function_in_libc"), why);

    // Optional symbols may be missing without failing the open.
    const optional = openLibc({
      getpid: { parameters: [], result: "i32" },
      no_such_function_in_libc: { parameters: [], result: "void", optional: true },
    });
    assertEquals(optional.symbols?.getpid(), Deno.pid);
  },
});

Deno.test({
  name: "off Linux, libc is not opened and the reason names the system",
  ignore: linux,
  fn() {
    assertEquals(
      openLibc({ getpid: { parameters: [], result: "i32" } }).error,
      `not supported on ${Deno.build.os}`,
    );
  },
});
