/** --json writes exactly one JSON document on stdout; humans get short text lines instead. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}
