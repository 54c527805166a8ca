/**
 * The `Range` header an upload session answers with: the bytes it holds, `0-<last>`, and `0-0` when empty (as
 * Distribution sends, and as clients expect). Server and errors share it.
 */
export function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}
