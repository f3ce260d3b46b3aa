import { CallbackConfig } from '../config/configuration';
import { CallbackUrlRefusedError } from '../tasks/task.errors';

const MAX_URL_LENGTH = 2048;
const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * Which URLs Sluice may POST a completion webhook to. Against server-side request forgery, nothing
 * is called but the hosts an operator listed in CALLBACK_ALLOWED_HOSTS: `host` allows that host on
 * its scheme's default port, `host:port` that port. Only http and https, no credentials in the URL.
 * Checked at submission (422) and again before every delivery, since the list may have changed.
 */
export class CallbackUrlPolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly config: Pick<CallbackConfig, 'allowedHosts'>) {
    this.allowed = new Set(config.allowedHosts);
  }

  get enabled(): boolean {
    return this.allowed.size > 0;
  }

  /** The URL as it will be called; throws CallbackUrlRefusedError saying why not. */
  check(raw: string): URL {
    if (!this.enabled) throw new CallbackUrlRefusedError('options.callback_url is refused: completion webhooks are off on this service (CALLBACK_ALLOWED_HOSTS is not set)');
    if (raw.length > MAX_URL_LENGTH) throw new CallbackUrlRefusedError(`options.callback_url is longer than ${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CallbackUrlRefusedError('options.callback_url is not a URL');
    }
    if (!(url.protocol in DEFAULT_PORT)) throw new CallbackUrlRefusedError('options.callback_url must be an http or https URL');
    if (url.username || url.password) throw new CallbackUrlRefusedError('options.callback_url must not carry credentials');
    const host = url.hostname.toLowerCase();
    const port = url.port || DEFAULT_PORT[url.protocol];
    const byPort = this.allowed.has(`${host}:${port}`);
    const byHost = port === DEFAULT_PORT[url.protocol] && this.allowed.has(host);
    if (!byPort && !byHost) throw new CallbackUrlRefusedError(`options.callback_url's host ${url.host} is not in CALLBACK_ALLOWED_HOSTS`);
    return url;
  }
}
