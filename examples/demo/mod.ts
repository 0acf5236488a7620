/** Built-in demo paglets used by the README tour and the tests. */
export { Counter } from "./counter.ts";
export { Busy } from "./busy.ts";
