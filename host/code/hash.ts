/** Content identity of travelling code: the SHA-256 of the module's bytes, in hex. */

/** 64 lowercase hex digits. */
export const CODE_HASH = /^[0-9a-f]{64}$/;

/** SHA-256 of `bytes` as 64 lowercase hex digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Whether `value` looks like a code hash (64 lowercase hex digits). */
export function isCodeHash(value: unknown): value is string {
  return typeof value === "string" && CODE_HASH.test(value);
}
