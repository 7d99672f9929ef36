/** Bytes as MB with one decimal, for messages that tell a sender or an operator about a bound. */
export function megabytes(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
