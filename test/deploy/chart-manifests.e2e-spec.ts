import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import * as yaml from 'js-yaml';
import {
  CHART_DIR,
  Json,
  JsonObject,
  REPO_ROOT,
  defaultValues,
  defineBlock,
  isObject,
  lookup,
  mergeValues,
  readYaml,
  setPath,
  staticSkeleton,
  templateSources,
} from './chart-source';

/**
 * Kubernetes objects built from the templates' static parts, with the values-driven fields set
 * here from a values file, then validated against the Kubernetes schemas. Helm is not available,
 * so nothing here renders a template; the template arithmetic (grace period, memory limit) is
 * restated below as the expected outcome, and was not executed by Helm.
 */

type Validator = (o: JsonObject) => { validate(): void };
const MODELS: Record<string, Validator> = {
  'apps/v1 Deployment': (o) => new Deployment(o as unknown as ConstructorParameters<typeof Deployment>[0]),
  'v1 Service': (o) => new Service(o as unknown as ConstructorParameters<typeof Service>[0]),
  'v1 ConfigMap': (o) => new ConfigMap(o as unknown as ConstructorParameters<typeof ConfigMap>[0]),
  'v1 Secret': (o) => new Secret(o as unknown as ConstructorParameters<typeof Secret>[0]),
  'policy/v1 PodDisruptionBudget': (o) =>
    new PodDisruptionBudget(o as unknown as ConstructorParameters<typeof PodDisruptionBudget>[0]),
  'networking.k8s.io/v1 NetworkPolicy': (o) => new NetworkPolicy(o as unknown as ConstructorParameters<typeof NetworkPolicy>[0]),
  'autoscaling/v2 HorizontalPodAutoscaler': (o) =>
    new HorizontalPodAutoscaler(o as unknown as ConstructorParameters<typeof HorizontalPodAutoscaler>[0]),
};
/** Custom resources: no schema in kubernetes-models, so only their shape is asserted. */
const CUSTOM_KINDS = ['monitoring.coreos.com/v1 ServiceMonitor', 'monitoring.coreos.com/v1 PrometheusRule', 'keda.sh/v1alpha1 ScaledObject'];

const kindOf = (o: JsonObject): string => `${String(o.apiVersion)} ${String(o.kind)}`;
const num = (v: Json | undefined): number => {
  if (typeof v !== 'number') throw new Error(`expected a number, got ${JSON.stringify(v)}`);
  return v;
};
const obj = (v: Json | undefined): JsonObject => {
  if (!isObject(v)) throw new Error(`expected a mapping, got ${JSON.stringify(v)}`);
  return v;
};
const clone = <T extends Json>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const sources = templateSources();
const skeletons = new Map([...sources].filter(([f]) => f.endsWith('.yaml')).map(([f, t]) => [f, staticSkeleton(t)]));
const one = (file: string): JsonObject => {
  const docs = skeletons.get(file);
  if (!docs || docs.length !== 1) throw new Error(`${file}: expected one document`);
  return clone(docs[0]);
};

/** What the chart's helpers compute, restated. */
function expectedWorkerGraceSeconds(v: JsonObject): number {
  const c = obj(v.config);
  return Math.ceil(num(c.TASK_TIME_LIMIT)) + Math.ceil(num(c.WORKER_CANCEL_GRACE)) + num(lookup(v, 'worker.shutdownMarginSeconds'));
}
function expectedWorkerMemoryLimit(v: JsonObject): string {
  const explicit = lookup(v, 'worker.resources.limits.memory');
  if (typeof explicit === 'string' && explicit !== '') return explicit;
  const c = obj(v.config);
  const perChildMiB = Math.ceil(num(c.WORKER_MAX_MEMORY_PER_CHILD) / 1024);
  return `${num(c.WORKER_CONCURRENCY) * perChildMiB + num(lookup(v, 'worker.parentMemoryMiB'))}Mi`;
}

function podLabels(d: JsonObject): JsonObject {
  return obj(lookup(d, 'spec.template.metadata.labels'));
}

/** The Deployment of one role, its values-driven fields set from `v`. */
function deployment(role: 'api' | 'worker', v: JsonObject): JsonObject {
  const d = one(`${role}-deployment.yaml`);
  const r = obj(v[role]);
  const c = obj(v.config);
  const pod = 'spec.template.spec';
  const ctr = `${pod}.containers.0`;
  setPath(d, 'spec.replicas', num(r.replicaCount));
  setPath(d, 'spec.selector', { matchLabels: podLabels(d) });
  setPath(d, `${pod}.terminationGracePeriodSeconds`, role === 'api' ? num(r.terminationGracePeriodSeconds) : expectedWorkerGraceSeconds(v));
  setPath(d, `${ctr}.ports.0.containerPort`, num(role === 'api' ? c.PORT : c.WORKER_PORT));
  setPath(d, `${ctr}.imagePullPolicy`, lookup(v, 'image.pullPolicy') ?? null);
  setPath(d, `${ctr}.livenessProbe`, { ...obj(lookup(d, `${ctr}.livenessProbe`)), ...obj(r.livenessProbe) });
  setPath(d, `${ctr}.readinessProbe`, { ...obj(lookup(d, `${ctr}.readinessProbe`)), ...obj(r.readinessProbe) });
  const resources = obj(r.resources);
  setPath(
    d,
    `${ctr}.resources`,
    role === 'api'
      ? resources
      : { requests: resources.requests ?? {}, limits: { ...obj(resources.limits), memory: expectedWorkerMemoryLimit(v) } },
  );
  setPath(d, `${pod}.volumes.0.emptyDir.sizeLimit`, r.tmpSizeLimit);
  for (const key of ['nodeSelector', 'tolerations', 'affinity', 'topologySpreadConstraints']) setPath(d, `${pod}.${key}`, r[key]);
  setPath(d, `${ctr}.env`, r.extraEnv);
  return d;
}

const valueSets: [string, JsonObject][] = [
  ['default values', defaultValues()],
  ['production example', mergeValues(defaultValues(), readYaml(join(CHART_DIR, 'examples', 'values-production.yaml'))) as JsonObject],
];

describe('chart templates, static parts', () => {
  it('every template reads as YAML once its actions are set aside, with a known kind', () => {
    const kinds = [...skeletons.values()].flat().map(kindOf);
    for (const k of kinds) expect([...Object.keys(MODELS), ...CUSTOM_KINDS]).toContain(k);
    expect(new Set(kinds)).toEqual(new Set([...Object.keys(MODELS), ...CUSTOM_KINDS]));
  });

  describe.each(valueSets)('with the %s', (_name, v) => {
    it.each(['api', 'worker'] as const)('the %s Deployment validates against the Kubernetes schema', (role) => {
      expect(() => MODELS['apps/v1 Deployment'](deployment(role, v)).validate()).not.toThrow();
    });

    it('the Services validate, with a metrics port on each', () => {
      for (const role of ['api', 'worker'] as const) {
        const s = one(`${role}-service.yaml`);
        const r = obj(v[role]);
        setPath(s, 'spec.type', lookup(r, 'service.type') ?? null);
        setPath(s, 'spec.selector', { 'app.kubernetes.io/component': role });
        setPath(s, 'spec.ports.0.port', num(lookup(r, 'service.port')));
        setPath(s, 'spec.ports.1.port', num(lookup(v, role === 'api' ? 'config.PORT' : 'config.WORKER_PORT')));
        expect(() => MODELS['v1 Service'](s).validate()).not.toThrow();
        expect((lookup(s, 'spec.ports') as JsonObject[]).map((p) => p.name)).toEqual(['http', 'metrics']);
      }
    });

    it('the PodDisruptionBudgets validate', () => {
      for (const role of ['api', 'worker'] as const) {
        const p = one(`${role}-pdb.yaml`);
        setPath(p, 'spec.maxUnavailable', lookup(v, `${role}.podDisruptionBudget.maxUnavailable`) ?? null);
        setPath(p, 'spec.selector', { matchLabels: { 'app.kubernetes.io/component': role } });
        expect(() => MODELS['policy/v1 PodDisruptionBudget'](p).validate()).not.toThrow();
      }
    });

    it('both NetworkPolicies validate, with Redis ports and peers from values', () => {
      const docs = (skeletons.get('networkpolicy.yaml') ?? []).map((d) => clone(d));
      expect(docs).toHaveLength(2);
      const np = obj(v.networkPolicy);
      for (const [i, role] of (['api', 'worker'] as const).entries()) {
        const d = docs[i];
        setPath(d, 'spec.podSelector', { matchLabels: { 'app.kubernetes.io/component': role } });
        const redisRule = (lookup(d, 'spec.egress') as JsonObject[])[1];
        redisRule.ports = (lookup(np, 'redis.ports') as number[]).map((port) => ({ port, protocol: 'TCP' }));
        if ((lookup(np, 'redis.to') as Json[]).length > 0) redisRule.to = lookup(np, 'redis.to') ?? null;
        const from = lookup(np, role === 'api' ? 'apiIngressFrom' : 'metricsIngressFrom') as Json[];
        if (from.length > 0) (lookup(d, 'spec.ingress') as JsonObject[])[0].from = from;
        expect(() => MODELS['networking.k8s.io/v1 NetworkPolicy'](d).validate()).not.toThrow();
      }
    });

    it('the worker HPA validates', () => {
      const h = one('worker-hpa.yaml');
      const a = obj(lookup(v, 'worker.autoscaling'));
      setPath(h, 'spec.minReplicas', num(a.minReplicas) || 1);
      setPath(h, 'spec.maxReplicas', num(a.maxReplicas));
      setPath(h, 'spec.metrics.0.external.target.averageValue', String(num(a.targetBacklogPerReplica)));
      setPath(h, 'spec.behavior.scaleDown.stabilizationWindowSeconds', num(a.scaleDownStabilizationSeconds));
      expect(() => MODELS['autoscaling/v2 HorizontalPodAutoscaler'](h).validate()).not.toThrow();
    });
  });

  it('the ConfigMap, the Secret and the dashboard ConfigMap validate', () => {
    expect(() => MODELS['v1 ConfigMap'](one('configmap.yaml')).validate()).not.toThrow();
    const secret = one('secret.yaml');
    expect(Object.keys(obj(secret.data))).toEqual(['API_KEYS', 'API_KEY_HASHES', 'REDIS_URL']);
    const b64 = (text: string): string => Buffer.from(text).toString('base64');
    setPath(secret, 'data', { API_KEYS: b64('key-1,key-2'), REDIS_URL: b64('redis://redis:6379') });
    expect(() => MODELS['v1 Secret'](secret).validate()).not.toThrow();
    const dash = one('dashboard-configmap.yaml');
    obj(dash.data)['sluice.json'] = readFileSync(join(CHART_DIR, 'files', 'dashboard.json'), 'utf8');
    expect(() => MODELS['v1 ConfigMap'](dash).validate()).not.toThrow();
  });
});

describe('what the Deployments promise', () => {
  const v = defaultValues();

  it.each(['api', 'worker'] as const)('%s: non-root, read-only root, no capabilities, no privilege escalation, /tmp on an emptyDir', (role) => {
    const d = deployment(role, v);
    expect(lookup(d, 'spec.template.spec.securityContext.runAsNonRoot')).toBe(true);
    expect(lookup(d, 'spec.template.spec.automountServiceAccountToken')).toBe(false);
    const c = obj(lookup(d, 'spec.template.spec.containers.0'));
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(lookup(d, 'spec.template.spec.volumes.0.name')).toBe('tmp');
    expect(lookup(d, 'spec.template.spec.volumes.0.emptyDir')).toBeDefined();
  });

  it.each(['api', 'worker'] as const)('%s: liveness on /health/live, readiness on /health/ready, on the http port', (role) => {
    const c = obj(lookup(deployment(role, v), 'spec.template.spec.containers.0'));
    expect(lookup(c, 'livenessProbe.httpGet')).toEqual({ path: '/health/live', port: 'http' });
    expect(lookup(c, 'readinessProbe.httpGet')).toEqual({ path: '/health/ready', port: 'http' });
    expect(lookup(c, 'ports.0.name')).toBe('http');
  });

  it.each(['api', 'worker'] as const)('%s: config and secret as env, a checksum/config annotation, the image entry point kept', (role) => {
    const d = deployment(role, v);
    expect(lookup(d, 'spec.template.spec.containers.0.envFrom')).toEqual([
      { configMapRef: { name: '__TPL__-config' } },
      { secretRef: { name: '__TPL__' } },
    ]);
    expect(Object.keys(obj(lookup(d, 'spec.template.metadata.annotations')))).toContain('checksum/config');
    expect(sources.get(`${role}-deployment.yaml`)).toContain('checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}');
    // args, not command: tini from the image's ENTRYPOINT stays PID 1
    expect(lookup(d, 'spec.template.spec.containers.0.command')).toBeUndefined();
    expect(lookup(d, 'spec.template.spec.containers.0.args')).toEqual(['node', role === 'api' ? 'dist/main.js' : 'dist/worker.js']);
    expect(existsSync(join(REPO_ROOT, 'src', role === 'api' ? 'main.ts' : 'worker.ts'))).toBe(true);
  });

  it('worker: the grace period outlasts the task time limit, and the helper computes it from it', () => {
    expect(expectedWorkerGraceSeconds(v)).toBeGreaterThan(num(lookup(v, 'config.TASK_TIME_LIMIT')));
    expect(sources.get('worker-deployment.yaml')).toMatch(/terminationGracePeriodSeconds: \{\{ include "sluice.workerTerminationGrace" \. \}\}/);
    const helpers = sources.get('_helpers.tpl') ?? '';
    const grace = defineBlock(helpers, 'sluice.workerTerminationGrace');
    for (const term of ['.Values.config.TASK_TIME_LIMIT', '.Values.config.WORKER_CANCEL_GRACE', '.Values.worker.shutdownMarginSeconds']) {
      expect(grace).toContain(term);
    }
  });

  it('worker: the memory limit is concurrency × per-child limit + parent unless set, and fails when it cannot be computed', () => {
    expect(expectedWorkerMemoryLimit(v)).toBe('8512Mi');
    expect(sources.get('worker-deployment.yaml')).toContain('memory: {{ include "sluice.workerMemoryLimit" . }}');
    const helpers = sources.get('_helpers.tpl') ?? '';
    const mem = defineBlock(helpers, 'sluice.workerMemoryLimit');
    for (const term of ['.Values.worker.resources.limits.memory', '.Values.config.WORKER_CONCURRENCY', '.Values.config.WORKER_MAX_MEMORY_PER_CHILD', '.Values.worker.parentMemoryMiB', 'fail']) {
      expect(mem).toContain(term);
    }
  });

  it('worker: no fixed replica count while an autoscaler owns it', () => {
    expect(sources.get('worker-deployment.yaml')).toMatch(/\{\{- if not \$autoscaled \}\}\n\s+replicas: \{\{ \.Values\.worker\.replicaCount \}\}\n\s+\{\{- end \}\}/);
  });

  it('both Deployments run the cross-value checks', () => {
    for (const role of ['api', 'worker']) expect(sources.get(`${role}-deployment.yaml`)).toMatch(/^\{\{- include "sluice.validate" \. \}\}$/m);
  });
});

describe('autoscaling and monitoring objects', () => {
  it('the HPA scales the worker Deployment on the waiting + prioritized backlog, explaining why prioritized', () => {
    const h = one('worker-hpa.yaml');
    expect(lookup(h, 'spec.scaleTargetRef.kind')).toBe('Deployment');
    expect(lookup(h, 'spec.metrics.0.type')).toBe('External');
    expect(lookup(h, 'spec.metrics.0.external.metric.selector.matchExpressions.1')).toEqual({
      key: 'state',
      operator: 'In',
      values: ['waiting', 'prioritized'],
    });
    expect(sources.get('worker-hpa.yaml')).toMatch(/^# .*prioritized.*$/m);
    expect(sources.get('worker-hpa.yaml')).toMatch(/^\{\{- if \.Values\.worker\.autoscaling\.hpa\.enabled \}\}/);
  });

  it('the KEDA ScaledObject uses a Prometheus trigger on the same backlog', () => {
    const s = one('worker-scaledobject.yaml');
    expect(lookup(s, 'spec.triggers.0.type')).toBe('prometheus');
    const text = sources.get('worker-scaledobject.yaml') ?? '';
    expect(text).toContain('sum(max by (queue, state) (sluice_queue_length{');
    expect(text).toContain('state=~"waiting|prioritized"');
    expect(text).toMatch(/^# .*prioritized.*$/m);
    expect(text).toMatch(/^\{\{- if \.Values\.worker\.autoscaling\.keda\.enabled \}\}/);
  });

  it('metrics.enabled adds both metrics ports and the ServiceMonitor, which scrapes that port by name', () => {
    for (const f of ['api-service.yaml', 'worker-service.yaml']) {
      expect(sources.get(f)).toMatch(/\{\{- if \.Values\.metrics\.enabled \}\}\n(\s+#.*\n)*\s+- name: metrics/);
    }
    expect(sources.get('servicemonitor.yaml')).toMatch(/^\{\{- if \.Values\.metrics\.enabled \}\}/);
    const sm = one('servicemonitor.yaml');
    expect(lookup(sm, 'spec.endpoints.0.port')).toBe('metrics');
    expect(lookup(sm, 'spec.endpoints.0.path')).toBe('/metrics');
  });

  it('the PrometheusRule carries files/alerts.yaml verbatim', () => {
    const text = sources.get('prometheusrule.yaml') ?? '';
    expect(text).toMatch(/^\{\{- if \.Values\.prometheusRule\.enabled \}\}/);
    expect(text).toContain('{{- .Files.Get "files/alerts.yaml" | nindent 2 }}');
    const rule = { ...one('prometheusrule.yaml'), spec: yaml.load(readFileSync(join(CHART_DIR, 'files', 'alerts.yaml'), 'utf8')) as Json };
    const groups = lookup(rule, 'spec.groups');
    expect(Array.isArray(groups) && groups.length > 0).toBe(true);
  });

  it('the dashboard ConfigMap carries files/dashboard.json with the sidecar label, switchable', () => {
    const text = sources.get('dashboard-configmap.yaml') ?? '';
    expect(text).toMatch(/^\{\{- if \.Values\.dashboard\.enabled \}\}/);
    expect(text).toContain('{{ .Values.dashboard.sidecarLabel }}: {{ .Values.dashboard.sidecarLabelValue | quote }}');
    expect(text).toContain('.Files.Get "files/dashboard.json"');
    const v = defaultValues();
    expect([lookup(v, 'dashboard.sidecarLabel'), lookup(v, 'dashboard.sidecarLabelValue')]).toEqual(['grafana_dashboard', '1']);
  });
});
