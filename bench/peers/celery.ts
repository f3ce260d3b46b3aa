import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, Proc } from '../lib/procs';

/**
 * The Celery peer: Debian's python3-celery with a Redis broker and result backend, prefork pool.
 * It runs under /usr/bin/python3 on purpose: the python3 first on PATH (pyenv here) does not see
 * Debian's packages. The app module and a small driver are written into a temp dir per run.
 */
export const PYTHON = '/usr/bin/python3';

/**
 * Tasks mirror Sluice's diagnostics: `noop` returns what diagnostic.sleep {seconds: 0} returns;
 * `started` returns the wall-clock time at which its body began; `busy` is a busy loop that does
 * not trap signals and writes its pid and start time to Redis first, so the driver can watch it.
 */
const APP = String.raw`
import os, time
from celery import Celery
from celery.signals import worker_ready
import redis as _redis

BROKER = os.environ['BENCH_BROKER']
BACKEND = os.environ['BENCH_BACKEND']
app = Celery('benchapp', broker=BROKER, backend=BACKEND)
app.conf.update(
    worker_prefetch_multiplier=1,
    task_acks_late=os.environ.get('BENCH_ACKS_LATE') == '1',
    task_serializer='json',
    result_serializer='json',
    accept_content=['json'],
    result_expires=86400,
    broker_connection_retry_on_startup=True,
    task_default_queue=os.environ.get('BENCH_QUEUE', 'bench'),
    worker_max_tasks_per_child=int(os.environ.get('BENCH_MAX_TASKS_PER_CHILD', '0')) or None,
)

_r = None
def r():
    global _r
    if _r is None:
        _r = _redis.Redis.from_url(BACKEND)
    return _r

@app.task(name='noop')
def noop():
    return {'slept_seconds': 0, 'soft_limit_hit': False, 'pid': os.getpid()}

@app.task(name='started')
def started():
    return time.time()

@app.task(name='busy')
def busy(seconds, key):
    r().set(key, '%d %.6f' % (os.getpid(), time.time()))
    end = time.time() + seconds
    while time.time() < end:
        pass
    return os.getpid()

@worker_ready.connect
def _ready(**_):
    print('BENCH_READY', flush=True)
`;

/** Driver commands print one JSON line starting with RESULT. */
const DRIVER = String.raw`
import json, os, sys, time, uuid
import redis as _redis
from benchapp import app

backend = _redis.Redis.from_url(os.environ['BENCH_BACKEND'])

def dead(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        return s[s.rfind(')') + 2] in 'ZX'
    except (FileNotFoundError, ProcessLookupError):
        return True

def wait_key(key, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        v = backend.get(key)
        if v:
            pid, t = v.decode().split()
            return int(pid), float(t)
        time.sleep(0.0005)
    raise SystemExit('busy task did not start: ' + key)

def wait_dead(pid, timeout=30.0):
    end = time.time() + timeout
    while not dead(pid):
        if time.time() > end:
            raise SystemExit('child %d still alive' % pid)
        time.sleep(0.0001)
    return time.time()

def main():
    cmd = sys.argv[1]
    queue = os.environ.get('BENCH_QUEUE', 'bench')
    if cmd == 'publish':
        n, name = int(sys.argv[2]), sys.argv[3]
        app.connection_for_write().ensure_connection(max_retries=3)
        print('DRIVER_READY', flush=True)
        sys.stdin.readline()
        t0, c0 = time.time(), time.process_time()
        for _ in range(n):
            app.send_task(name, queue=queue)
        print('RESULT ' + json.dumps({'published_seconds': time.time() - t0, 'cpu_seconds': time.process_time() - c0}), flush=True)
    elif cmd == 'latency':
        n, gap = int(sys.argv[2]), float(sys.argv[3])
        out = []
        for _ in range(n):
            t0 = time.time()
            res = app.send_task('started', queue=queue)
            start = res.get(timeout=10)
            out.append((start - t0) * 1000)
            time.sleep(gap)
        print('RESULT ' + json.dumps({'ms': out}), flush=True)
    elif cmd == 'cancel':
        n = int(sys.argv[2])
        out = []
        for i in range(n):
            key = 'bench:busy:' + uuid.uuid4().hex
            res = app.send_task('busy', args=[30, key], queue=queue)
            pid, _ = wait_key(key)
            time.sleep(0.05)
            t0 = time.time()
            app.control.revoke(res.id, terminate=True)
            t1 = wait_dead(pid)
            out.append((t1 - t0) * 1000)
            time.sleep(0.3)  # let the pool replace its child
        print('RESULT ' + json.dumps({'ms': out}), flush=True)
    elif cmd == 'timelimit':
        n, limit = int(sys.argv[2]), float(sys.argv[3])
        out, errors = [], []
        for i in range(n):
            key = 'bench:busy:' + uuid.uuid4().hex
            res = app.send_task('busy', args=[5, key], queue=queue, time_limit=limit)
            pid, started = wait_key(key)
            died = wait_dead(pid)
            out.append((died - started - limit) * 1000)
            try:
                res.get(timeout=10, propagate=False)
                errors.append(type(res.result).__name__)
            except Exception as e:
                errors.append('get:' + type(e).__name__)
            time.sleep(0.3)
        print('RESULT ' + json.dumps({'ms': out, 'errors': errors}), flush=True)

main()
`;

export interface CeleryEnv {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function celeryAvailable(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import celery, redis'], { stdio: 'pipe', timeout: 20_000 });
    return null;
  } catch (err) {
    return (err as Error).message.split('\n').slice(-2).join(' ').trim() || 'import failed';
  }
}

/** Installs Debian's Celery when it is missing (the benchmark's documented prerequisite). */
export function ensureCelery(log: (m: string) => void): string | null {
  if (celeryAvailable() === null) return null;
  log('Celery is missing: apt-get install -y python3-celery python3-redis');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'pipe', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'python3-celery', 'python3-redis'], {
      stdio: 'pipe',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (err) {
    return `apt-get failed: ${(err as Error).message.split('\n')[0]}`;
  }
  return celeryAvailable();
}

export function celeryEnv(redisUrl: string, extra: Record<string, string> = {}): CeleryEnv {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-celery-'));
  writeFileSync(join(dir, 'benchapp.py'), APP);
  writeFileSync(join(dir, 'bench_driver.py'), DRIVER);
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PYTHONPATH: dir,
    PYTHONDONTWRITEBYTECODE: '1',
    // Broker and results in separate databases, so DBSIZE of the results database counts finished tasks.
    BENCH_BROKER: `${redisUrl}/0`,
    BENCH_BACKEND: `${redisUrl}/1`,
    ...extra,
  };
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Prefork pool, concurrency 2, prefetch 1 (set in the app), no gossip/mingle/heartbeat chatter. */
export async function startCeleryWorker(ce: CeleryEnv, name: string, extra: Record<string, string> = {}, concurrency = 2): Promise<Proc> {
  const env = { ...ce.env, ...extra };
  const proc = launch(
    `celery-${name}`,
    PYTHON,
    ['-m', 'celery', '-A', 'benchapp', 'worker', '-P', 'prefork', '-c', String(concurrency), '--prefetch-multiplier', '1',
      '-Q', env.BENCH_QUEUE ?? 'bench', '-n', `${name}@localhost`, '-l', 'WARNING', '--without-gossip', '--without-mingle', '--without-heartbeat'],
    { env, cwd: ce.dir },
  );
  await proc.waitForOutput(/BENCH_READY/, 60_000);
  return proc;
}

/** Runs a driver command to completion and returns its RESULT JSON. */
export async function runDriver<T>(ce: CeleryEnv, args: string[], timeoutMs: number, extra: Record<string, string> = {}): Promise<T> {
  const proc = launch('celery-driver', PYTHON, [join(ce.dir, 'bench_driver.py'), ...args], { env: { ...ce.env, ...extra }, cwd: ce.dir });
  try {
    const m = await proc.waitForOutput(/RESULT (.*)\n/, timeoutMs);
    return JSON.parse(m[1]) as T;
  } finally {
    await proc.stop(2000);
  }
}

/** Starts `publish N task`, returns once the producer is connected; `go()` starts publishing. */
export async function startPublisher(ce: CeleryEnv, n: number, task: string, extra: Record<string, string> = {}): Promise<{ go(): void; done: Promise<{ published_seconds: number; cpu_seconds: number }>; proc: Proc }> {
  const proc = launch('celery-publisher', PYTHON, [join(ce.dir, 'bench_driver.py'), 'publish', String(n), task], { env: { ...ce.env, ...extra }, cwd: ce.dir });
  await proc.waitForOutput(/DRIVER_READY/, 30_000);
  const done = proc
    .waitForOutput(/RESULT (.*)\n/, 600_000)
    .then((m) => JSON.parse(m[1]) as { published_seconds: number; cpu_seconds: number })
    .finally(() => void proc.stop(2000));
  return { go: () => proc.write('go\n'), done, proc };
}
