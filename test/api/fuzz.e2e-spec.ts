import fc from 'fast-check';
import {
  CANARY_KEYS,
  FuzzStats,
  FuzzTarget,
  ROUTE_KINDS,
  RouteKind,
  ViolationKind,
  describeRequest,
  fuzzRequests,
  healthAfterwards,
  pollutionSince,
  probe,
  resumeQueues,
  runFuzz,
  snapshotPrototypes,
  startFuzzTarget,
} from '../fuzz/front-door.properties';

/** Fixed, so that `npm test` sends the same requests every time; `npm run fuzz` explores others. */
const SEED = 20261203;
const RUNS = 1200;
const TIMEOUT_MS = 5000;
jest.setTimeout(60_000);
/** The exception filter's line for a client's aborted body, logged only under jest's VM realm. */
const JEST_REALM_ARTIFACT = /^\{"level":"ERROR",.*"context":"HttpExceptionFilter","msg":"Request failed error=\\"Error: aborted\\""/;

/**
 * The front door under fast-check (the properties are in test/fuzz/front-door.properties.ts, shared
 * with `npm run fuzz`): every route, odd methods and malformed HTTP, random and hostile bodies and
 * headers, against an API on its own redis-server with rate limiting off. The requests are sent
 * once; each property is then checked over all of them, and one that fails is replayed and shrunk
 * by fast-check to a minimal request for the failure message.
 */
describe(`Front-door fuzz (fast-check, seed ${SEED}, ${RUNS} requests)`, () => {
  let target: FuzzTarget;
  let stats: FuzzStats;
  let seconds: number;

  beforeAll(async () => {
    // Only in jest: Node's own "aborted" error fails `instanceof Error` here (see startFuzzTarget).
    target = await startFuzzTarget({}, undefined, [JEST_REALM_ARTIFACT]);
    const started = Date.now();
    ({ stats } = await runFuzz(target, { seed: SEED, numRuns: RUNS, timeoutMs: TIMEOUT_MS, failOn: () => false }));
    seconds = (Date.now() - started) / 1000;
    target.logs.print(`fuzz: ${stats.requests} requests in ${seconds.toFixed(1)} s; statuses ${stats.statuses().map((s) => `${s}×${stats.byStatus.get(s)}`).join(' ')}\n`);
  });

  afterAll(async () => {
    await target?.stop();
  });

  /** No request broke a property of `kinds`; else the minimal request fast-check shrinks to. */
  async function expectNone(...kinds: ViolationKind[]): Promise<void> {
    const bad = stats.violations.filter((s) => s.violations.some((v) => kinds.includes(v.kind)));
    if (bad.length === 0) return;
    const { details } = await runFuzz(target, { seed: SEED, numRuns: RUNS, timeoutMs: TIMEOUT_MS, failOn: (v) => kinds.includes(v.kind), stats: new FuzzStats() });
    const examples = bad.slice(0, 3).map((s) => `  ${describeRequest(s.request)}\n    → ${s.violations.filter((v) => kinds.includes(v.kind)).map((v) => `${v.kind}: ${v.message}`).join('; ')}`);
    throw new Error(`${bad.length} of ${stats.requests} requests broke ${kinds.join('/')}; the first:\n${examples.join('\n')}\n\nShrunk by fast-check:\n${fc.defaultReportMessage(details) ?? '(not reproduced on replay)'}`);
  }

  it('sends at least 1,000 requests over every route, in well under a minute, reaching every answer', () => {
    expect(stats.requests).toBeGreaterThanOrEqual(1000);
    expect(seconds).toBeLessThan(45);
    expect(ROUTE_KINDS.filter((k) => !stats.byKind.has(k))).toEqual([]);
    // The generators get past the front door too: bodies are parsed, validated and submitted.
    for (const status of ['200', '201', '204', '400', '401', '403', '404', '405', '408', '409', '413', '414', '415', '422', '431']) expect([status, stats.byStatus.has(status)]).toEqual([status, true]);
    // Every route is also served, not only refused.
    const served = (k: RouteKind) => [...(stats.byKind.get(k)?.keys() ?? [])].some((s) => /^2\d\d$/.test(s));
    expect(ROUTE_KINDS.filter((k) => k !== 'unknown path' && k !== 'wrong method' && !served(k))).toEqual([]);
  });

  it('answers no request with a status of 500 or more', async () => {
    await expectNone('status>=500', 'not-http');
  });

  it('answers every 4xx with JSON {"detail": string}, and every response with X-Request-Id and nosniff', async () => {
    await expectNone('no-detail', 'no-request-id', 'request-id-not-echoed', 'no-nosniff', '405-without-allow', '429-without-retry-after');
  });

  it(`answers every request within ${TIMEOUT_MS} ms, and closes no connection without an answer (CONNECT aside)`, async () => {
    await expectNone('timeout', 'no-response');
  });

  it('never serves /api or the job inspection UI without a valid key, nor reads its body', async () => {
    await expectNone('auth-bypass');
  });

  it("streams a task's events as SSE on its events route only: each event an id, a name and the task; a final task's stream ends after it", async () => {
    await expectNone('bad-event-stream');
  });

  it("logs no error for any client's request", async () => {
    await expectNone('error-logged');
  });

  it('pollutes no prototype: no canary appears and no built-in prototype changes, after any request', async () => {
    await expectNone('pollution');
    expect(pollutionSince(target.prototypes)).toEqual([]);
  });

  it('is ready afterwards and still accepts, stores and shows a valid submission', async () => {
    expect(await healthAfterwards(target)).toEqual([]);
  });

  it('the pollution check sees a polluted prototype (the canary works)', () => {
    const before = snapshotPrototypes();
    const proto = Object.prototype as Record<string, unknown>;
    proto[CANARY_KEYS[0]] = 'yes';
    try {
      expect(pollutionSince(before)).toEqual(expect.arrayContaining([`Object.prototype gained ${CANARY_KEYS[0]}`, `({}).${CANARY_KEYS[0]} is yes`]));
    } finally {
      delete proto[CANARY_KEYS[0]];
    }
    expect(pollutionSince(before)).toEqual([]);
  });

  it('with rate limits on, answers the fuzz 429 with {"detail"} and Retry-After once over them', async () => {
    // A second API on the same Redis, 3 requests a minute per key and 2 per client IP.
    const limited = await startFuzzTarget({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '2' }, target.redis, [JEST_REALM_ARTIFACT]);
    try {
      const limitedStats = new FuzzStats();
      for (const req of fc.sample(fuzzRequests(limited), { seed: SEED, numRuns: 60 })) {
        const sample = await probe(limited, req, TIMEOUT_MS, limitedStats);
        expect([describeRequest(req), sample.violations.filter((v) => v.kind === 'status>=500' || v.kind === 'timeout')]).toEqual([describeRequest(req), []]);
      }
      const shapes = limitedStats.violations.filter((s) => s.status === 429 && s.violations.some((v) => v.kind === 'no-detail' || v.kind === '429-without-retry-after'));
      expect(shapes.map((s) => `${describeRequest(s.request)}: ${s.violations.map((v) => v.message).join('; ')}`)).toEqual([]);
      expect(limitedStats.byStatus.get('429') ?? 0).toBeGreaterThan(5);
    } finally {
      // Its requests may have paused a queue on the shared Redis.
      await resumeQueues(limited);
      await limited.stop();
    }
  });
});
