import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';

/** The library's /metrics, described in OpenAPI; PrometheusModule sets its path. */
@ApiTags('metrics')
@Controller()
export class PrometheusMetricsController extends PrometheusController {
  @Get()
  @ApiOperation({
    operationId: 'getPrometheusMetrics',
    summary: 'Prometheus metrics of this process',
    description: 'Open unless API_METRICS_ACCESS says otherwise; each worker serves its own on WORKER_PORT.',
    security: [],
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The Prometheus text exposition format', schema: { type: 'string' } })
  override index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
