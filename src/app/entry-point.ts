import { ConfigError } from '../config/config.errors';

/** Runs an entry point; a configuration error prints one clear line and exits 1, without a stack. */
export function runEntryPoint(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`Fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  });
}
