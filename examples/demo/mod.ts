/** Built-in demo paglets used by the README tour, the tests and the benchmarks. */
export { Counter } from "./counter.ts";
export { Busy } from "./busy.ts";
export { Pinger } from "./pinger.ts";
export { SpinJob } from "./spinjob.ts";
