#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { ClientOptions, SluiceApiError, SubmitBody, Task, createSluiceClient, unwrap } from '../client/client';
import { watchTask } from './watch';

/** Exit codes: 0 done, 1 the API refused or the task failed, 2 a usage error. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface GlobalOptions {
  url: string;
  key?: string;
  json?: boolean;
}

const number = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`);
}

function describeTask(t: Task): string {
  const lines = [`${t.task_id}  ${t.task_name}  ${t.status}  ${t.progress}%  attempts ${t.attempts}/${t.max_retries + 1}`];
  if (t.result !== undefined && t.result !== null) lines.push(`result: ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`error: ${t.error.type}: ${t.error.message}`);
  return lines.join('\n');
}

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Command-line client of the Sluice task API')
    .option('--url <url>', 'the API (SLUICE_URL)', process.env.SLUICE_URL ?? 'http://127.0.0.1:3000')
    .option('--key <key>', 'an API key (SLUICE_API_KEY)')
    .option('--json', 'print JSON')
    .showHelpAfterError()
    .exitOverride();

  const connect = (): ClientOptions & GlobalOptions => {
    const o = program.opts<GlobalOptions>();
    const key = o.key ?? process.env.SLUICE_API_KEY;
    if (!key) throw new CommanderError(EXIT_USAGE, 'sluice.key', 'error: no API key: set SLUICE_API_KEY or pass --key');
    return { ...o, baseUrl: o.url, apiKey: key };
  };

  program
    .command('submit')
    .description('submit a task; prints its id (with --wait, waits for its end)')
    .argument('<task_name>')
    .option('--payload <json>', 'the payload, as JSON', '{}')
    .option('--payload-file <file>', 'read the payload from a JSON file')
    .option('--priority <n>', '1 is the highest', number('--priority'))
    .option('--delay <seconds>', 'hold the task back', number('--delay'))
    .option('--idempotency-key <key>')
    .option('--time-limit <seconds>', "at most the type's", number('--time-limit'))
    .option('--soft-time-limit <seconds>', "at most the type's", number('--soft-time-limit'))
    .option('--max-retries <n>', "at most the type's", number('--max-retries'))
    .option('--callback-url <url>', 'POSTed the task when it is final')
    .option('--wait', 'watch it until it ends, with a progress bar')
    .action(async (taskName: string, o: Record<string, string | number | boolean | undefined>) => {
      const c = connect();
      let payload: unknown;
      try {
        payload = JSON.parse(o.payloadFile ? readFileSync(String(o.payloadFile), 'utf8') : String(o.payload));
      } catch (err) {
        throw new CommanderError(EXIT_USAGE, 'sluice.payload', `error: the payload is not JSON: ${(err as Error).message}`);
      }
      const options = Object.fromEntries(
        Object.entries({
          priority: o.priority,
          delay_seconds: o.delay,
          idempotency_key: o.idempotencyKey,
          time_limit: o.timeLimit,
          soft_time_limit: o.softTimeLimit,
          max_retries: o.maxRetries,
          callback_url: o.callbackUrl,
        }).filter(([, v]) => v !== undefined),
      );
      const body = { task_name: taskName, payload, ...(Object.keys(options).length ? { options } : {}) } as unknown as SubmitBody;
      const created = await unwrap(createSluiceClient(c).POST('/api/v1/tasks', { body }));
      if (o.wait) return finish(c, await watchTask(c, created.task_id, { json: c.json }));
      print(c.json, created, () => created.task_id);
    });

  program
    .command('get')
    .description("a task's status, result or error")
    .argument('<task_id>')
    .option('--wait <seconds>', 'answer as soon as it is final, or after this many seconds (≤ 60)', number('--wait'))
    .action(async (taskId: string, o: { wait?: number }) => {
      const c = connect();
      const task = await unwrap<Task>(createSluiceClient(c).GET('/api/v1/tasks/{task_id}', { params: { path: { task_id: taskId }, query: o.wait === undefined ? {} : { wait: o.wait } } }));
      print(c.json, task, () => describeTask(task));
    });

  program
    .command('list')
    .description('tasks, newest first')
    .option('--status <status>')
    .option('--task-name <name>')
    .option('--limit <n>', '1 to 100', number('--limit'))
    .option('--cursor <cursor>', "the previous page's next_cursor")
    .action(async (o: { status?: string; taskName?: string; limit?: number; cursor?: string }) => {
      const c = connect();
      const query = { status: o.status, task_name: o.taskName, limit: o.limit, cursor: o.cursor } as Record<string, unknown>;
      const page = await unwrap<{ items: Task[]; next_cursor: string | null }>(createSluiceClient(c).GET('/api/v1/tasks', { params: { query: query as never } }));
      print(c.json, page, () => [...page.items.map((t) => describeTask(t).split('\n')[0]), ...(page.next_cursor ? [`next: --cursor ${page.next_cursor}`] : [])].join('\n'));
    });

  program
    .command('cancel')
    .description('cancel a task; a running one is terminated')
    .argument('<task_id>')
    .action(async (taskId: string) => {
      const c = connect();
      const res = await unwrap(createSluiceClient(c).DELETE('/api/v1/tasks/{task_id}', { params: { path: { task_id: taskId } } }));
      print(c.json, res, () => `${taskId}  ${(res as { status?: string }).status ?? 'cancelled'}`);
    });

  program
    .command('retry')
    .description('re-queue a failed or cancelled task as a new attempt series')
    .argument('<task_id>')
    .action(async (taskId: string) => {
      const c = connect();
      const res = await unwrap(createSluiceClient(c).POST('/api/v1/tasks/{task_id}/retry', { params: { path: { task_id: taskId } } }));
      print(c.json, res, () => `${taskId}  ${(res as { status?: string }).status ?? 'pending'}`);
    });

  program
    .command('metrics')
    .description("the service's counters")
    .action(async () => {
      const c = connect();
      const m = await unwrap(createSluiceClient(c).GET('/api/v1/tasks/metrics'));
      const counters = ((m as { metrics?: Record<string, unknown> }).metrics ?? m) as Record<string, unknown>;
      print(c.json, m, () => Object.entries(counters).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('\n'));
    });

  program
    .command('health')
    .description('healthy, warning or critical, with the alerts; exits 1 when critical')
    .action(async () => {
      const c = connect();
      const h = (await unwrap(createSluiceClient(c).GET('/api/v1/tasks/health'))) as { status: string; alerts?: { severity: string; metric: string; message: string }[] };
      print(c.json, h, () => [h.status, ...(h.alerts ?? []).map((a) => `  ${a.severity}  ${a.metric}: ${a.message}`)].join('\n'));
      if (h.status === 'critical') process.exitCode = EXIT_FAILED;
    });

  program
    .command('watch')
    .description("a task's progress, live, until it ends with its result or error; exits 1 unless it completed")
    .argument('<task_id>')
    .action(async (taskId: string) => {
      const c = connect();
      finish(c, await watchTask(c, taskId, { json: c.json }));
    });

  return program;
}

function finish(c: GlobalOptions, task: Task): void {
  print(c.json, task, () => describeTask(task));
  if (task.status !== 'completed') process.exitCode = EXIT_FAILED;
}

export async function run(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has printed them, or its own usage error.
      if (err.exitCode !== 0 && err.code.startsWith('sluice.')) process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (err instanceof SluiceApiError) {
      process.stderr.write(`error: ${err.status} ${err.detail}\n`);
    } else {
      process.stderr.write(`error: ${(err as Error).message}\n`);
    }
    process.exitCode = EXIT_FAILED;
  }
}

if (require.main === module) void run(process.argv);
