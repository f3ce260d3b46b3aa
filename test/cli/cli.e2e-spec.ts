import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SluiceApiError, createSluiceClient, unwrap } from '../../src/client/client';
import { TEST_API_KEY } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { Stack } from '../support/stack';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `sluice` CLI as `npx sluice` runs it (its TypeScript through swc, as the other entry tests). */
function sluice(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', require.resolve('@swc-node/register'), join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
      env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI and the typed client against a real API and worker on their own Redis. */
describe('sluice CLI and the typed client', () => {
  let s: Stack;
  let env: Record<string, string>;
  let baseUrl: string;

  beforeAll(async () => {
    s = await Stack.start({ TASK_MAX_RETRIES: '0' });
    baseUrl = `http://127.0.0.1:${await listenLocal(s.api)}`;
    env = { SLUICE_URL: baseUrl, SLUICE_API_KEY: TEST_API_KEY };
  });
  afterAll(() => s.stop());

  it('submits, gets and lists, printing JSON with --json', async () => {
    const sub = await sluice(['submit', 'diagnostic.sleep', '--payload', '{"seconds":0}', '--json'], env);
    expect(sub.code).toBe(0);
    const { task_id } = JSON.parse(sub.stdout) as { task_id: string };
    await s.until(task_id, 'completed');
    const got = await sluice(['get', task_id, '--json'], env);
    expect([got.code, (JSON.parse(got.stdout) as { status: string }).status]).toEqual([0, 'completed']);
    const human = await sluice(['get', task_id], env);
    expect(human.stdout).toMatch(new RegExp(`^${task_id}  diagnostic\\.sleep  completed  100%`));
    const list = await sluice(['list', '--task-name', 'diagnostic.sleep', '--json'], env);
    expect((JSON.parse(list.stdout) as { items: { task_id: string }[] }).items.map((t) => t.task_id)).toContain(task_id);
  });

  it('watches a task live to its result, and exits non-zero when a task fails', async () => {
    const ok = await sluice(['submit', 'diagnostic.sleep', '--payload', '{"seconds":0.6,"progress_steps":3}', '--wait', '--json'], env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed', progress: 100 });
    // Not a terminal: one line per event on stderr, the progress among them.
    expect(ok.stderr).toMatch(/^processing \d+%$/m);
    expect(ok.stderr.trim().split('\n').at(-1)).toBe('completed 100%');

    const id = await s.submit('diagnostic.fail', { message: 'nope' });
    const failed = await sluice(['watch', id], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('error: Error: nope');
  });

  it('draws a cli-progress bar on a terminal (a pty from script(1)), ending at 100 % and completed', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 0.6, progress_steps: 3 });
    const cmd = [process.execPath, '--require', require.resolve('@swc-node/register'), join(ROOT, 'src', 'cli', 'main.ts'), 'watch', id].map((a) => `'${a}'`).join(' ');
    const run = await new Promise<CliRun>((resolve) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), TERM: 'xterm', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(run.code).toBe(0);
    const screen = run.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(screen).toMatch(/={40} 100% \| completed/);
    expect(screen).toContain(`${id}  diagnostic.sleep  completed  100%`);
  });

  it('cancels and retries, and shows metrics and health', async () => {
    const id = await s.submit('diagnostic.sleep', { seconds: 30 });
    await s.until(id, 'processing');
    expect((await sluice(['cancel', id], env)).code).toBe(0);
    await s.until(id, 'cancelled');
    const retried = await sluice(['retry', id, '--json'], env);
    expect(retried.code).toBe(0);
    expect((await s.get(id)).status).not.toBe('cancelled');
    await sluice(['cancel', id], env);
    const metrics = await sluice(['metrics', '--json'], env);
    expect(metrics.code).toBe(0);
    expect((JSON.parse(metrics.stdout) as { metrics: object }).metrics).toMatchObject({ total_tasks: expect.any(Number), requeued_tasks: 1 });
    const health = await sluice(['health'], env);
    expect(health.stdout).toMatch(/^(healthy|warning|critical)/);
  });

  it('exits 1 with the API detail on a refusal, and 2 on a usage error', async () => {
    const missing = await sluice(['get', '00000000-0000-4000-8000-000000000000'], env);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, 'error: 404 Task not found']);
    const wrongKey = await sluice(['metrics'], { ...env, SLUICE_API_KEY: 'wrong-key-0123456789' });
    expect([wrongKey.code, wrongKey.stderr.trim()]).toEqual([1, 'error: 401 Invalid or missing API key']);
    const noKey = await sluice(['metrics'], { SLUICE_URL: baseUrl });
    expect([noKey.code, noKey.stderr.trim()]).toEqual([2, 'error: no API key: set SLUICE_API_KEY or pass --key']);
    expect((await sluice(['submit', 'x', '--payload', '{bad'], env)).code).toBe(2);
    expect((await sluice(['nonsense'], env)).code).toBe(2);
  });

  it('the typed client: answers as the document types them, errors as SluiceApiError with the detail', async () => {
    const client = createSluiceClient({ baseUrl, apiKey: TEST_API_KEY });
    const created = await unwrap(client.POST('/api/v1/tasks', { body: { task_name: 'diagnostic.sleep', payload: { seconds: 0 } } as never }));
    expect(created.task_id).toMatch(/^[0-9a-f-]{36}$/);
    const health = await unwrap(client.GET('/api/v1/tasks/health'));
    expect(['healthy', 'warning', 'critical']).toContain((health as { status: string }).status);
    await expect(unwrap(client.GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: 'nope' }, query: {} } }))).rejects.toEqual(new SluiceApiError(404, 'Task not found'));
  });
});
