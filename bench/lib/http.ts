import http from 'node:http';

/**
 * A dependency-free keep-alive HTTP client for loopback load. Latency is measured from the call to
 * the last byte of the response, with the body kept as a string (parsed only when asked).
 */
export interface HttpResult {
  status: number;
  body: string;
  ms: number;
  /** Date.now() when the request was issued (wall clock, to compare with server timestamps). */
  sentAt: number;
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    readonly port: number,
    private readonly headers: Record<string, string> = {},
    maxSockets = 64,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, body?: string | Buffer, timeoutMs = 120_000): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const sentAt = Date.now();
      const started = performance.now();
      const headers: Record<string, string | number> = { ...this.headers };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - started, sentAt }),
        );
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async json<T>(method: string, path: string, body?: unknown, expect?: number[]): Promise<{ status: number; data: T; ms: number; sentAt: number }> {
    const r = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (expect && !expect.includes(r.status)) throw new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`);
    let data: T;
    try {
      data = (r.body ? JSON.parse(r.body) : null) as T;
    } catch {
      throw new Error(`${method} ${path} answered ${r.status} with a body that is not JSON: ${r.body.slice(0, 300)}`);
    }
    return { status: r.status, data, ms: r.ms, sentAt: r.sentAt };
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  /** Operations completed inside the measured window. */
  ops: number;
  /** Units of work inside the window (ops × tasks per op for batches). */
  units: number;
  seconds: number;
  perSecond: number;
  unitsPerSecond: number;
  latencies: number[];
  errors: number;
  firstError?: string;
}

/**
 * A closed loop with a fixed number of operations in flight. The first `warmupMs` are run but not
 * counted (JIT, connection set-up); then ops are counted for `durationMs`, or until `count` ops
 * have been issued when a count is given instead. `op` returns how many units it did, or throws.
 */
export async function closedLoop(opts: {
  inFlight: number;
  durationMs?: number;
  count?: number;
  warmupMs?: number;
  op: (i: number) => Promise<number>;
}): Promise<LoadResult> {
  const warmupMs = opts.warmupMs ?? 0;
  let issued = 0;
  let measuring = warmupMs === 0;
  let windowStart = performance.now();
  const begin = performance.now();
  let ops = 0;
  let units = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const deadline = opts.durationMs === undefined ? Infinity : begin + warmupMs + opts.durationMs;
  let windowEnd = 0;

  const lane = async (): Promise<void> => {
    for (;;) {
      const now = performance.now();
      if (!measuring && now - begin >= warmupMs) {
        measuring = true;
        windowStart = now;
      }
      if (now >= deadline) return;
      if (opts.count !== undefined && issued >= opts.count) return;
      const i = issued++;
      const counted = measuring;
      const t0 = performance.now();
      try {
        const n = await opts.op(i);
        const t1 = performance.now();
        // An op that finishes after the window closes does not count: the rate stays honest.
        if (counted && t1 <= deadline) {
          ops++;
          units += n;
          latencies.push(t1 - t0);
          windowEnd = Math.max(windowEnd, t1);
        }
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        if (errors > 50) throw new Error(`Load loop gave up after ${errors} errors; first: ${firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, lane));
  const end = opts.durationMs === undefined ? windowEnd || performance.now() : Math.min(deadline, performance.now());
  const seconds = Math.max(1e-9, (end - windowStart) / 1000);
  return { ops, units, seconds, perSecond: ops / seconds, unitsPerSecond: units / seconds, latencies, errors, firstError };
}

/** Runs `op` one at a time, `n` times, with a pause between; returns each op's result. */
export async function sequential<T>(n: number, gapMs: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await op(i));
    if (gapMs > 0) await sleep(gapMs);
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
