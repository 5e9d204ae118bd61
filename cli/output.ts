/** --json writes exactly one JSON document on stdout; humans get short text lines instead. */
export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human() + '\n');
}

export function parsePositiveInt(name: string) {
  return (raw: string): number => {
    const value = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number >= 0, got "${raw}"`);
    return value;
  };
}
