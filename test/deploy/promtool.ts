import { spawnSync } from 'node:child_process';

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** Runs promtool (Debian package `prometheus`); a missing binary is an error, never a skip. */
export function promtool(args: string[], cwd?: string): PromtoolResult {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    throw new Error(`promtool could not run (${r.error.message}); install it with: apt-get install -y prometheus`);
  }
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
