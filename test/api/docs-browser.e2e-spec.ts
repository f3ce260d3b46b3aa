import { existsSync } from 'node:fs';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Browser, chromium } from 'playwright-core';
import { startApi, testConfig } from '../support/app';
import { listenLocal } from '../support/raw-http';
import { TestRedis, startTestRedis } from '../support/redis';

/** Debian's chromium package; .ci/run installs it. */
const CHROMIUM = '/usr/bin/chromium';

jest.setTimeout(60_000);

/**
 * Swagger UI under the /docs Content-Security-Policy, in a real browser: one page load, which must
 * render the operations with no CSP violation and no error in the console.
 */
describe('Swagger UI at /docs in headless Chromium', () => {
  let redis: TestRedis;
  let app: NestFastifyApplication;
  let browser: Browser;
  let port: number;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    redis = await startTestRedis();
    app = await startApi(testConfig(redis));
    port = await listenLocal(app);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await redis?.stop();
  });

  it('loads /docs and renders every operation with no CSP error in the console', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content.Security.Policy/i.test(msg.text())) problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
    // Violations are also reported as DOM events, whatever the console shows.
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });

    const response = await page.goto(`http://127.0.0.1:${port}/docs`, { waitUntil: 'networkidle' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Sluice');
    // Every operation is drawn, and the Authorize button for X-API-Key is there.
    expect(await page.locator('.opblock').count()).toBeGreaterThanOrEqual(7);
    expect(await page.locator('button.authorize').count()).toBe(1);
    await page.close();
    expect(problems).toEqual([]);
  });
});
