/**
 * npm run lint:openapi: the API's OpenAPI document, with the diagnostic task types off and on, built
 * without Redis or a listening server (test/support/openapi.ts) and linted with Redocly's
 * recommended rules (redocly.yaml). Fails on any error or warning. Redocly runs offline: no
 * telemetry, no update check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApiDocument } from '../support/openapi';

const ROOT = join(__dirname, '..', '..');
const REDOCLY = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
export const OFFLINE_ENV = { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' };

interface LintTotals {
  errors: number;
  warnings: number;
  ignored: number;
}

function redocly(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [REDOCLY, ...args, '--config', join(ROOT, 'redocly.yaml')], { encoding: 'utf8', env: { ...process.env, ...OFFLINE_ENV } });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-openapi-'));
  try {
    let failed = false;
    for (const diagnostics of ['false', 'true']) {
      const file = join(dir, `openapi${diagnostics === 'true' ? '-diagnostics' : ''}.json`);
      writeFileSync(file, JSON.stringify(await buildApiDocument({ ENABLE_DIAGNOSTIC_TASKS: diagnostics }), null, 2));
      const run = redocly(['lint', file, '--format=json']);
      const totals = (JSON.parse(run.stdout) as { totals: LintTotals }).totals;
      console.log(`redocly lint (ENABLE_DIAGNOSTIC_TASKS=${diagnostics}): ${totals.errors} errors, ${totals.warnings} warnings, ${totals.ignored} ignored`);
      if (totals.errors + totals.warnings + totals.ignored > 0) {
        failed = true;
        process.stdout.write(redocly(['lint', file, '--format=codeframe']).stdout);
      }
    }
    if (failed) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
