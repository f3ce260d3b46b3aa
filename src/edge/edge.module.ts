import { DynamicModule, Module } from '@nestjs/common';
import { ApiGate } from './api-gate';
import { AuthFailures } from './auth-failures';
import { EDGE_METRIC_PROVIDERS } from './edge-metrics';
import { HttpEdge, LARGE_BODY_ROUTES } from './http-edge';
import { REQUEST_GATE } from './request-gate';

/** The HTTP edge: what runs on every request before Nest routes it (see HttpEdge). */
@Module({})
export class EdgeModule {
  /** The API: key check and rate limit, and the routes that take API_BODY_LIMIT_MB. */
  static forApi(largeBodyRoutes: string[]): DynamicModule {
    return {
      module: EdgeModule,
      providers: [
        HttpEdge,
        { provide: LARGE_BODY_ROUTES, useValue: largeBodyRoutes },
        ApiGate,
        { provide: REQUEST_GATE, useExisting: ApiGate },
        AuthFailures,
        ...EDGE_METRIC_PROVIDERS,
      ],
      exports: [HttpEdge],
    };
  }

  /** A worker's probe and /metrics listener: ids, headers and error shapes, no keys. */
  static forWorker(): DynamicModule {
    return { module: EdgeModule, providers: [HttpEdge, { provide: LARGE_BODY_ROUTES, useValue: [] }], exports: [HttpEdge] };
  }
}
