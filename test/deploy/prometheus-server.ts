import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { freePort } from '../../src/app/embedded-redis';

export interface ScrapeTarget {
  job: string;
  port: number;
  /** Target labels, as the Prometheus Operator adds `namespace` and `pod` to a ServiceMonitor's targets. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** Rule files by name; they are written next to the generated config and loaded with `rule_files`. */
  ruleFiles?: Record<string, string>;
  /** Both scrape and rule evaluation interval. */
  intervalSeconds?: number;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

export interface QueryAnswer {
  status: 'success' | 'error';
  error?: string;
  /** Instant vector results; a scalar or string result is turned into one sample without labels. */
  samples: Sample[];
}

export interface RuleState {
  name: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: string;
  query: string;
}

export interface AlertState {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

export interface PrometheusServer {
  url: string;
  query(expr: string): Promise<QueryAnswer>;
  rules(): Promise<RuleState[]>;
  alerts(): Promise<AlertState[]>;
  /** GET on the HTTP API, e.g. `/api/v1/label/queue/values?match[]=...`. */
  api<T>(pathAndQuery: string): Promise<ApiAnswer<T>>;
  /** The tail of Prometheus' own log, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

const BINARY = process.env.PROMETHEUS_BIN ?? 'prometheus';
const SETPRIV = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const LOG_TAIL = 8_000;

export class PrometheusMissingError extends Error {
  override readonly name = 'PrometheusMissingError';
  constructor() {
    super(`Could not run '${BINARY}'; install it with: apt-get install -y prometheus (.ci/run does this)`);
  }
}

/**
 * Starts a real Prometheus server on a free loopback port, with its own throwaway TSDB, scraping
 * `targets` and evaluating `ruleFiles`. Resolves once it answers /-/ready.
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
  try {
    const interval = `${opts.intervalSeconds ?? 1}s`;
    const ruleFiles = Object.entries(opts.ruleFiles ?? {}).map(([name, content]) => {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    });
    const config = {
      // Without scrape_timeout Prometheus would keep its 10 s default and reject the config: a timeout
      // may not exceed the interval.
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: ruleFiles,
      scrape_configs: opts.targets.map((t) => ({
        job_name: t.job,
        metrics_path: '/metrics',
        static_configs: [{ targets: [`127.0.0.1:${t.port}`], labels: t.labels ?? {} }],
      })),
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, yaml.dump(config));

    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      try {
        return await launch(dir, configFile, port);
      } catch (err) {
        lastError = err as Error;
        // Another process took the port between the probe and Prometheus' bind: try another one.
        if (err instanceof PrometheusMissingError || !/address already in use/i.test(lastError.message)) throw err;
      }
    }
    throw lastError ?? new Error('prometheus did not start');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(dir: string, configFile: string, port: number): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, `data-${port}`)}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ];
  // With setpriv the kernel kills Prometheus when this process dies, even by SIGKILL or a crashed
  // Jest worker, where neither afterAll nor an 'exit' handler would run.
  const [cmd, ...argv] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'SIGKILL', '--', BINARY, ...args] : [BINARY, ...args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  // Keep draining both pipes for the whole run: a full pipe would block Prometheus.
  const onData = (chunk: Buffer): void => {
    log = (log + chunk.toString()).slice(-LOG_TAIL);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (!gone()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitReady(child, url, () => log);
  } catch (err) {
    process.off('exit', killOnExit);
    if (!gone()) {
      child.kill('SIGKILL');
      await exited;
    }
    throw err;
  }

  const api = async <T>(pathAndQuery: string): Promise<ApiAnswer<T>> => {
    const res = await fetch(`${url}${pathAndQuery}`);
    // Bad queries answer 400/422 with a JSON body that says why: that body is the answer.
    return (await res.json()) as ApiAnswer<T>;
  };

  return {
    url,
    api,
    log: () => log,
    stop,
    async query(expr) {
      const r = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (r.status !== 'success' || !r.data) return { status: 'error', error: `${r.errorType}: ${r.error}`, samples: [] };
      const { resultType, result } = r.data;
      if (resultType === 'matrix') return { status: 'error', error: 'a range vector; only instant vectors and scalars are expected', samples: [] };
      if (resultType === 'vector') return { status: 'success', samples: result as Sample[] };
      return { status: 'success', samples: [{ metric: {}, value: result as [number, string] }] };
    },
    async rules() {
      const r = await api<{ groups: { rules: RuleState[] }[] }>('/api/v1/rules');
      return r.data?.groups.flatMap((g) => g.rules) ?? [];
    },
    async alerts() {
      const r = await api<{ alerts: AlertState[] }>('/api/v1/alerts');
      return r.data?.alerts ?? [];
    },
  };
}

function waitReady(child: ChildProcess, url: string, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve();
    };
    child.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ENOENT' ? new PrometheusMissingError() : err));
    child.once('exit', (code, signal) => {
      // Through setpriv a missing binary is not ENOENT but setpriv's own complaint.
      if (/failed to execute .*No such file/.test(log())) return finish(new PrometheusMissingError());
      finish(new Error(`prometheus exited (code=${code} signal=${signal}): ${log().trim().slice(-2000)}`));
    });
    const poll = async (): Promise<void> => {
      while (!done) {
        try {
          if ((await fetch(`${url}/-/ready`)).ok) return finish();
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) return finish(new Error(`prometheus not ready after ${READY_TIMEOUT_MS} ms: ${log().trim().slice(-2000)}`));
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    void poll();
  });
}
