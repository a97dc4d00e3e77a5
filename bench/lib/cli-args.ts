// Command-line flags of the bench orchestrators.

/**
 * Walks `argv`: `-h`/`--help` prints `help` and exits; every other argument goes to
 * `onArg` with a function that takes the next argument as its value. `onArg` returns
 * false for an argument it does not know, which throws.
 */
export function readArgs(argv: string[], help: string, onArg: (arg: string, value: () => string | undefined) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(help);
      process.exit(0);
    }
    if (!onArg(a, () => argv[++i])) throw new Error(`unknown argument ${a}\n\n${help}`);
  }
}

/** A flag's value as a number in [min, max]. */
export function numberArg(v: string | undefined, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} needs a number in [${min}, ${max}]`);
  return n;
}

/** A flag's value as a comma-separated list: `a,b` → ['a', 'b']. */
export function listArg(v: string | undefined): string[] {
  return (v ?? '').split(',').filter(Boolean);
}
