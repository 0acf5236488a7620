/** The data: URL a bundle is imported from: the one form a compiled binary imports at run time. */
export function dataUrlOf(source: Uint8Array): string {
  // Chunks: String.fromCharCode takes its arguments on the stack.
  let binary = "";
  for (let i = 0; i < source.length; i += 0x8000) {
    binary += String.fromCharCode(...source.subarray(i, i + 0x8000));
  }
  return `data:text/javascript;base64,${btoa(binary)}`;
}
