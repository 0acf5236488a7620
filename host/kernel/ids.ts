/** Identifiers: agent ids are `ag_` + 20 random base32 characters, unique across the mesh. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function randomToken(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/** `bytes` random bytes as lowercase hex (twice as many digits). */
export function randomHex(bytes: number): string {
  let out = "";
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) out += b.toString(16).padStart(2, "0");
  return out;
}

export function newAgentId(): string {
  return `ag_${randomToken()}`;
}

/** Is `id` an acceptable agent id (also for preassigned ids)? */
export function isValidAgentId(id: string): boolean {
  return /^[A-Za-z0-9_.-]{1,128}$/.test(id);
}
