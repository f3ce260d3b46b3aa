import { DynamicModule } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { PrometheusMetricsController } from './prometheus.controller';

/**
 * /metrics on the process' default registry. When the API and a worker share one process
 * (npm start, tests) the second registration must not collect the default metrics again.
 */
export function prometheusModule(): DynamicModule {
  return PrometheusModule.registerAsync({
    controller: PrometheusMetricsController,
    useFactory: () => ({
      path: '/metrics',
      controller: PrometheusMetricsController,
      defaultMetrics: { enabled: register.getSingleMetric('process_cpu_user_seconds_total') === undefined },
    }),
  });
}
