import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';
import request from 'supertest';
import { TaskQueues } from '../../src/tasks/task-queues';
import { TEST_API_KEY } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** Debian's chromium package; .ci/run installs it. */
const CHROMIUM = '/usr/bin/chromium';
/** `SCREENSHOT_DIR=docs/images` (npm run screenshots) refreshes the README's picture; by default it goes to a temp dir. */
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ? resolve(process.env.SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'sluice-admin-ui-'));
/** The only request the UI's CSP is meant to block: index.ejs links Google Fonts (see ADMIN_UI_HELMET). */
const BLOCKED_FONTS = /fonts\.googleapis\.com/;
const QUEUE = 'cpu_intensive';
/** A valid key outside API_ADMIN_LABELS: it sees the board, and may not act. */
const VIEWER_KEY = 'viewer-key-0123456789abcdef';

jest.setTimeout(90_000);

const basic = (password: string, user = 'ops') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const authFailures = (metrics: string, reason: string) =>
  Number(new RegExp(`^sluice_http_auth_failures_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);

interface BoardJob {
  id: string;
  name: string;
  failedReason?: string;
}

/**
 * Bull Board at /admin/queues over a real API, worker and Redis: the tasks are made through the API
 * and run by the worker's children, then looked at in headless Chromium and through the board's own
 * JSON routes.
 */
describe('The job inspection UI (Bull Board at /admin/queues)', () => {
  let s: Stack;
  let port: number;
  let browser: Browser;
  const ids = { completed: '', failed: '', cancelled: '' };
  const board = () => request(s.api.getHttpServer());
  const boardJobs = async (status: string): Promise<BoardJob[]> => {
    const res = await board().get(`/admin/queues/api/queues?activeQueue=${QUEUE}&status=${status}&page=1&jobsPerPage=50`).set('Authorization', basic(TEST_API_KEY)).expect(200);
    return (res.body.queues as { name: string; jobs: BoardJob[] }[]).find((q) => q.name === QUEUE)!.jobs;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    // One child, so the tasks run one at a time; a first failure retries only after 300 s, so a
    // retrying task stays in Delayed; a terminated child is SIGKILLed 1 s after its SIGTERM.
    s = await Stack.start({
      WORKER_CONCURRENCY: '1',
      TASK_MAX_RETRIES: '1',
      TASK_RETRY_BACKOFF: '300',
      TASK_RETRY_BACKOFF_MAX: '300',
      TASK_RETRY_JITTER: 'false',
      WORKER_CANCEL_GRACE: '1',
      RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0',
      LOG_LEVEL: 'fatal',
      API_KEYS: `ops:${TEST_API_KEY},viewer:${VIEWER_KEY}`,
      API_ADMIN_LABELS: 'ops',
    });
    port = await listenLocal(s.api);
    ids.completed = await s.submit('diagnostic.sleep', { seconds: 0 });
    ids.failed = await s.submit('diagnostic.fail', { message: 'boom', retryable: false });
    // Pending (delayed by its countdown) when cancelled: cancel.lua moves it to failed at once.
    ids.cancelled = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
    expect((await s.cancel(ids.cancelled)).body.status).toBe('cancelled');
    await s.until(ids.completed, 'completed');
    await s.until(ids.failed, 'failed');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  describe('in headless Chromium', () => {
    let page: Page;
    const problems: string[] = [];

    beforeAll(async () => {
      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TEST_API_KEY }, viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      page.on('console', (msg) => {
        if ((msg.type() === 'error' || /Content.Security.Policy/i.test(msg.text())) && !BLOCKED_FONTS.test(msg.text())) problems.push(`console ${msg.type()}: ${msg.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('requestfailed', (req) => {
        if (!BLOCKED_FONTS.test(req.url())) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
      });
      page.on('response', (res) => {
        if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.url()}`);
      });
      await page.addInitScript({
        content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
      });
    });

    afterAll(async () => {
      await page?.context().close();
    });

    const tab = (label: string) => page.locator(`a:has(span[data-text="${label}"])`);
    const badge = async (label: string) => ((await tab(label).locator('[class^="badge-"]').count()) ? await tab(label).locator('[class^="badge-"]').textContent() : '0');
    const jobNames = async () => page.locator('h5[class^="jobName-"]').allTextContents();

    it('signs in with Basic auth and shows cpu_intensive: one completed, one failed and one cancelled task', async () => {
      const response = await page.goto(`http://127.0.0.1:${port}/admin/queues`, { waitUntil: 'networkidle' });
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.getByRole('link', { name: QUEUE }).first().click();
      await page.waitForSelector('h5[class^="jobName-"]');
      await waitFor('three jobs on the Latest view', async () => (await jobNames()).length === 3, 15_000);
      expect((await jobNames()).sort()).toEqual(['diagnostic.fail', 'diagnostic.sleep', 'diagnostic.sleep [cancelled]']);
      expect(await badge('COMPLETED')).toBe('1');
      // The cancelled task is in BullMQ's failed set, beside the failed one.
      expect(await badge('FAILED')).toBe('2');
      for (const label of ['ACTIVE', 'WAITING', 'DELAYED', 'PRIORITIZED']) expect([label, await badge(label)]).toEqual([label, '0']);
      // Read-only: none of the board's action buttons is drawn.
      expect(await page.getByRole('button', { name: /retry|clean|promote|remove|pause|resume|empty|obliterate|add job|duplicate/i }).count()).toBe(0);
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'admin-ui.png'), fullPage: true });
    });

    it('lists the cancelled task in the Failed tab as [cancelled], and opens the failed task\'s error', async () => {
      await tab('FAILED').click();
      await waitFor('the Failed tab', async () => (await jobNames()).length === 2, 15_000);
      expect((await jobNames()).sort()).toEqual(['diagnostic.fail', 'diagnostic.sleep [cancelled]']);
      await page.locator(`a[href*="/queue/${QUEUE}/${ids.failed}"]`).click();
      await page.waitForURL(new RegExp(`/admin/queues/queue/${QUEUE}/${ids.failed}`));
      await page.getByRole('tab', { name: 'Error' }).click();
      await expect(page.getByRole('tabpanel').textContent()).resolves.toContain('NonRetryableTaskError: boom');
      for (const label of ['WAITING', 'ACTIVE']) {
        await page.goto(`http://127.0.0.1:${port}/admin/queues/queue/${QUEUE}?status=${label.toLowerCase()}`, { waitUntil: 'networkidle' });
        expect([label, await jobNames()]).toEqual([label, []]);
      }
      expect(problems).toEqual([]);
    });
  });

  describe('authentication', () => {
    const page = '/admin/queues';
    const asset = '/admin/queues/static/images/logo.svg';

    it('answers a page or an asset without credentials 401 with a Basic challenge and {detail}, and serves neither', async () => {
      for (const path of [page, `${page}/`, `${page}/queue/${QUEUE}`, asset, '/admin/queues/api/queues', '/admin/queues/nothing']) {
        const res = await board().get(path);
        expect([path, res.status, res.headers['www-authenticate'], res.body]).toEqual([path, 401, 'Basic realm="Sluice"', { detail: expect.stringMatching(/API key/) }]);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
    });

    it('refuses a wrong key, and malformed Authorization headers, with 401 (never 500), counted as auth failures', async () => {
      const before = (await board().get('/metrics')).text;
      const bad = [basic('wrong-key-0123456789'), basic(''), `Basic ${Buffer.from(TEST_API_KEY).toString('base64')}`, 'Basic %%%', 'Basic YQ=', 'Basic ', 'Bearer abc', `Basic ${'A'.repeat(5000)}`];
      for (const header of bad) {
        const res = await board().get(asset).set('Authorization', header);
        expect([header.slice(0, 40), res.status, res.headers['www-authenticate']]).toEqual([header.slice(0, 40), 401, 'Basic realm="Sluice"']);
      }
      const wrongApiKey = await board().get(page).set('X-API-Key', 'wrong-key-0123456789');
      expect(wrongApiKey.status).toBe(401);
      const after = (await board().get('/metrics')).text;
      expect(authFailures(after, 'invalid') - authFailures(before, 'invalid')).toBe(bad.length + 1);
    });

    it('serves the page and its assets with the key as the Basic password (any user name) or as X-API-Key', async () => {
      for (const auth of [{ Authorization: basic(TEST_API_KEY) }, { Authorization: basic(TEST_API_KEY, '') }, { 'X-API-Key': TEST_API_KEY }]) {
        const html = await board().get(page).set(auth).expect(200);
        expect(html.headers['content-type']).toMatch(/^text\/html/);
        expect(html.text).toContain('<title>Sluice</title>');
        expect((await board().get(asset).set(auth).expect(200)).headers['content-type']).toMatch(/^image\/svg/);
      }
    });

    it('keeps Basic auth to the UI: the API still wants X-API-Key, and keeps its own CSP', async () => {
      const res = await board().get('/api/v1/tasks').set('Authorization', basic(TEST_API_KEY));
      expect([res.status, res.headers['www-authenticate']]).toEqual([401, undefined]);
      const ok = await board().get('/api/v1/tasks').set('X-API-Key', TEST_API_KEY).expect(200);
      expect(ok.headers['content-security-policy']).toBe("default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'");
      const ui = await board().get(page).set('Authorization', basic(TEST_API_KEY));
      expect(ui.headers['content-security-policy']).toContain("style-src 'self' 'unsafe-inline'");
      expect(ui.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    });
  });

  describe('actions: through Sluice, for admin keys only', () => {
    const admin = () => ({ Authorization: basic(TEST_API_KEY) });
    const viewer = () => ({ Authorization: basic(VIEWER_KEY) });
    const boardQueue = async (auth: Record<string, string>) =>
      ((await board().get('/admin/queues/api/queues').set(auth).expect(200)).body.queues as Record<string, unknown>[]).find((q) => q.name === QUEUE);

    it('draws no buttons for a key outside API_ADMIN_LABELS, and refuses its actions with 403 {detail}', async () => {
      expect(await boardQueue(viewer())).toMatchObject({ readOnlyMode: true, allowRetries: false });
      expect(await boardQueue(admin())).toMatchObject({ readOnlyMode: false, allowRetries: true });
      const res = await board().put(`/admin/queues/api/queues/${QUEUE}/${ids.failed}/retry`).set(viewer()).send({}).expect(403);
      expect(res.body).toEqual({ detail: "The job inspection UI's actions need an API key whose label is in API_ADMIN_LABELS" });
      expect((await board().put(`/admin/queues/api/queues/${QUEUE}/pause`).set(viewer()).send({})).status).toBe(403);
      expect((await s.get(ids.failed)).status).toBe('failed');
      expect(await s.api.get(TaskQueues).get(QUEUE).isPaused()).toBe(false);
    });

    it("retries a failed task through Sluice's retry (a new attempt series in attempt_history)", async () => {
      const id = await s.submit('diagnostic.fail', { message: 'ui-retry', retryable: false });
      await s.until(id, 'failed');
      await board().put(`/admin/queues/api/queues/${QUEUE}/${id}/retry`).set(admin()).send({}).expect(200);
      const again = await s.until(id, 'failed', 15_000, (t) => ((t as unknown as { attempt_history: unknown[] }).attempt_history ?? []).length === 1);
      expect((again as unknown as { attempt_history: { status: string; retried_by: string }[] }).attempt_history[0]).toMatchObject({ status: 'failed', retried_by: 'ops' });
      // Sluice's rule, not Bull Board's: a completed task is not retried.
      expect((await board().put(`/admin/queues/api/queues/${QUEUE}/${ids.completed}/retry`).set(admin()).send({})).status).toBe(409);
    });

    it("cancels a waiting task with its Clean button, through Sluice's cancel; a finished task is kept", async () => {
      const id = await s.submit('diagnostic.sleep', { seconds: 0 }, { delay_seconds: 600 });
      await board().put(`/admin/queues/api/queues/${QUEUE}/${id}/clean`).set(admin()).send({}).expect(200);
      expect((await s.get(id)).status).toBe('cancelled');
      const kept = await board().put(`/admin/queues/api/queues/${QUEUE}/${ids.completed}/clean`).set(admin()).send({});
      expect(kept.status).toBeGreaterThanOrEqual(400);
      expect(kept.body).toEqual({ detail: expect.any(String) });
      expect((await s.get(ids.completed)).status).toBe('completed');
    });

    it("pauses and resumes the queue through Sluice's pause: health shows it", async () => {
      await board().put(`/admin/queues/api/queues/${QUEUE}/pause`).set(admin()).send({}).expect(200);
      try {
        expect(await s.api.get(TaskQueues).get(QUEUE).isPaused()).toBe(true);
        // Sluice's pause, not BullMQ's alone: it records who paused, and the API reports it.
        const metrics = await s.http().get('/api/v1/tasks/metrics').set('X-API-Key', TEST_API_KEY).expect(200);
        expect(JSON.stringify((metrics.body as { metrics: { paused_queues: unknown } }).metrics.paused_queues)).toContain(QUEUE);
        await waitFor('the queue_paused alert', async () => {
          const health = await s.http().get('/api/v1/tasks/health').set('X-API-Key', TEST_API_KEY);
          return (health.body as { alerts: { metric: string }[] }).alerts.some((a) => a.metric === 'queue_paused') || undefined;
        }, 15_000);
      } finally {
        await board().put(`/admin/queues/api/queues/${QUEUE}/resume`).set(admin()).send({}).expect(200);
      }
      expect(await s.api.get(TaskQueues).get(QUEUE).isPaused()).toBe(false);
    });

    it('refuses every other mutating route with 405 {detail}, for admins too, and nothing changes', async () => {
      for (const [method, path] of [
        ['PUT', `/admin/queues/api/queues/${QUEUE}/clean/failed`],
        ['PUT', `/admin/queues/api/queues/${QUEUE}/retry/failed`],
        ['PUT', `/admin/queues/api/queues/${QUEUE}/empty`],
        ['PUT', `/admin/queues/api/queues/${QUEUE}/${ids.failed}/promote`],
        ['POST', `/admin/queues/api/queues/${QUEUE}/add`],
        ['DELETE', `/admin/queues/api/queues/${QUEUE}/${ids.completed}`],
      ]) {
        const res = await board()[method.toLowerCase() as 'put' | 'post' | 'delete'](path).set(admin()).send({ name: 'x', data: {} });
        expect([method, path, res.status, res.body]).toEqual([method, path, 405, { detail: expect.any(String) }]);
      }
      expect((await s.get(ids.failed)).status).toBe('failed');
      expect((await s.get(ids.completed)).status).toBe('completed');
    });
  });

  describe("Sluice's statuses on BullMQ's tabs", () => {
    it('shows a task waiting for its retry in Delayed as [retrying]', async () => {
      const id = await s.submit('diagnostic.fail', { message: 'again' });
      await s.until(id, 'retrying');
      const delayed = await boardJobs('delayed');
      expect(delayed.map((j) => [j.id, j.name])).toEqual([[id, 'diagnostic.fail [retrying]']]);
      expect(delayed[0].failedReason).toBe('Error: again');
    });

    it('shows a running task being terminated in Active as [cancelling], then in Failed as [cancelled]', async () => {
      // ignore_signals: the child swallows SIGTERM, so it stays active until the SIGKILL after the grace.
      const id = await s.submit('diagnostic.cpu', { seconds: 30, ignore_signals: true });
      await s.until(id, 'processing');
      expect((await boardJobs('active')).map((j) => j.name)).toEqual(['diagnostic.cpu']);
      const cancel = s.cancel(id).then((r) => r);
      await waitFor('the board to show [cancelling]', async () => (await boardJobs('active')).some((j) => j.id === id && j.name === 'diagnostic.cpu [cancelling]'), 5_000, 20);
      expect((await cancel).status).toBe(200);
      await s.until(id, 'cancelled');
      expect(await boardJobs('active')).toEqual([]);
      expect((await boardJobs('failed')).find((j) => j.id === id)?.name).toBe('diagnostic.cpu [cancelled]');
    });
  });
});

describe('The job inspection UI: ADMIN_UI=off', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({ ADMIN_UI: 'off', RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0', LOG_LEVEL: 'fatal' }, { worker: false });
  });
  afterAll(async () => s?.stop());

  it('answers 404 {detail} under /admin/queues, with or without a key, and registers no route there', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/static/images/logo.svg', '/admin/queues/api/queues']) {
      for (const auth of [{}, { Authorization: basic(TEST_API_KEY) }, { 'X-API-Key': TEST_API_KEY }]) {
        const res = await request(s.api.getHttpServer()).get(path).set(auth);
        expect([path, res.status, res.headers['www-authenticate'], res.body]).toEqual([path, 404, undefined, { detail: expect.any(String) }]);
      }
    }
    expect(s.api.getHttpAdapter().getInstance().printRoutes()).not.toMatch(/admin/);
  });
});

describe("The job inspection UI: its JSON routes' errors", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({ RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '0' }, { worker: false });
  });
  afterAll(async () => s?.stop());
  const get = (path: string) => request(s.api.getHttpServer()).get(path).set('Authorization', basic(TEST_API_KEY));

  it("answers the board's own 4xx with {detail} beside its translation key, which its page reads", async () => {
    const cases: [string, number, RegExp, string][] = [
      [`/admin/queues/api/queues/nosuch/metrics`, 404, /^Queue not found$/, 'ERRORS.QUEUE_NOT_FOUND'],
      [`/admin/queues/api/queues/${QUEUE}/00000000-0000-4000-8000-000000000000`, 404, /^Job not found$/, 'ERRORS.JOB_NOT_FOUND'],
      [`/admin/queues/api/queues?status=xx`, 400, /^Invalid query param: status$/, 'ERRORS.INVALID_QUERY_PARAM'],
      [`/admin/queues/api/queues?page=0`, 400, /^Invalid query param: page$/, 'ERRORS.INVALID_QUERY_PARAM'],
    ];
    for (const [path, status, detail, key] of cases) {
      const res = await get(path);
      expect([path, res.status, res.body]).toEqual([path, status, expect.objectContaining({ detail: expect.stringMatching(detail), error: expect.objectContaining({ key }) })]);
    }
  });

  it('answers 400 {detail}, not 500, for an activeQueue that is not percent-encoding once decoded', async () => {
    for (const value of ['%25', '%25zz', '%25E0%25A4%25A']) {
      const res = await get(`/admin/queues/api/queues?activeQueue=${value}&status=waiting`);
      expect([value, res.status, res.body]).toEqual([value, 400, { detail: 'A value in the URL is not valid percent-encoding once decoded' }]);
    }
  });

  it('answers a page past any list with no jobs, not a Redis error', async () => {
    await s.submit('diagnostic.sleep', { seconds: 0 });
    const page = async (n: string) => {
      const res = await get(`/admin/queues/api/queues?activeQueue=${QUEUE}&status=waiting&page=${n}&jobsPerPage=50`);
      expect([n, res.status]).toEqual([n, 200]);
      return (res.body.queues as { name: string; jobs: unknown[] }[]).find((q) => q.name === QUEUE)!.jobs.length;
    };
    expect(await page('1')).toBe(1);
    for (const n of ['2', '9007199254740993', '99999999999999999999']) expect([n, await page(n)]).toEqual([n, 0]);
  });
});

describe('The job inspection UI: rate limits', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await Stack.start({ RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '2', LOG_LEVEL: 'fatal' }, { worker: false });
  });
  afterAll(async () => s?.stop());

  it('limits the UI per key and per client address like the API, answering 429 {detail}', async () => {
    const api = () => request(s.api.getHttpServer());
    const keyed = [];
    for (let i = 0; i < 4; i++) keyed.push((await api().get('/admin/queues/api/queues').set('Authorization', basic(TEST_API_KEY))).status);
    expect(keyed).toEqual([200, 200, 200, 429]);
    const limited = await api().get('/admin/queues/static/images/logo.svg').set('Authorization', basic(TEST_API_KEY));
    expect([limited.status, limited.body]).toEqual([429, { detail: expect.stringMatching(/per API key/) }]);
    const anonymous = [];
    for (let i = 0; i < 3; i++) anonymous.push((await api().get('/admin/queues')).status);
    expect(anonymous).toEqual([401, 401, 429]);
  });
});
