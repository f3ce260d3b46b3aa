import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../support/wait';
import { busyFor, processGone } from './pool-test.helpers';

jest.setTimeout(30_000);

const PARENT = join(__dirname, '..', 'fixtures', 'orphan-parent.ts');

/** Starts the fixture parent and resolves with its pid and its child's, once the child is in its busy loop. */
async function parentWithBusyChild(mode: string): Promise<{ parentPid: number; childPid: number }> {
  const parent = spawn(process.execPath, ['--require', require.resolve('@swc-node/register'), PARENT, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const childPid = await waitFor('the child pid from the fixture parent', () => Number(out.split('\n')[0]) || undefined, 15_000);
  // Past the cpu handler's first statements: blocked, deaf to 'disconnect' and to IPC.
  await busyFor(childPid, 50);
  return { parentPid: parent.pid!, childPid };
}

describe('no child outlives its parent, even in a busy loop', () => {
  it.each([
    ['setpriv --pdeathsig and the watchdog thread', 'default'],
    ['the watchdog thread alone', 'watchdog-only'],
  ])('via %s', async (_how, mode) => {
    const { parentPid, childPid } = await parentWithBusyChild(mode);
    process.kill(parentPid, 'SIGKILL');
    const killedAt = performance.now();
    await waitFor(`child ${childPid} to die`, () => processGone(childPid), 1_000, 5);
    const latency = performance.now() - killedAt;
    expect(latency).toBeLessThan(1_000);
  });
});
