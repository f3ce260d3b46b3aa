import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { METRIC } from '../metrics/metric-names';

/** Why a request was limited: its API key's budget, or its client address's (no valid key). */
export type RateLimitReason = 'api_key' | 'client_ip';
/** A request that needed a key came without one, or with one that is not accepted. */
export type AuthFailureReason = 'missing' | 'invalid';

export const EDGE_METRIC_PROVIDERS = [
  makeCounterProvider({ name: METRIC.httpRateLimited, help: 'Requests answered 429 by the rate limiter', labelNames: ['reason'] }),
  makeCounterProvider({ name: METRIC.httpAuthFailures, help: 'Requests refused 401 for a missing or invalid API key', labelNames: ['reason'] }),
];
