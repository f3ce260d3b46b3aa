import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import * as yaml from 'js-yaml';
import {
  Branches,
  CHART_DIR,
  Json,
  JsonObject,
  PLACEHOLDER,
  REPO_ROOT,
  RUNBOOK_PLACEHOLDER,
  defaultValues,
  defineBlock,
  isObject,
  lookup,
  markdownAnchors,
  mergeValues,
  placeholderPaths,
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
  'v1 ServiceAccount': (o) => new ServiceAccount(o as unknown as ConstructorParameters<typeof ServiceAccount>[0]),
  'v1 Pod': (o) => new Pod(o as unknown as ConstructorParameters<typeof Pod>[0]),
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
/** The documents of a template with the named `if` branches chosen (see staticSkeleton). */
const docsWith = (file: string, branches: Branches): JsonObject[] => staticSkeleton(sources.get(file) ?? '', branches);
const byKind = (docs: JsonObject[], kind: string): JsonObject => {
  const found = docs.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
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

/** The release's full name as the tests name it; the templates' own is a placeholder here. */
const FULLNAME = 'rel-sluice';
function expectedServiceAccountName(v: JsonObject): string {
  const sa = obj(v.serviceAccount);
  const name = typeof sa.name === 'string' ? sa.name : '';
  return sa.create === true ? name || FULLNAME : name || 'default';
}
/**
 * Where the `helm test` pod's X-API-Key comes from: tests.apiKey, else the first entry of API_KEYS
 * in the Secret the pods use; with only API_KEY_HASHES in the chart's Secret, rendering fails.
 */
function expectedTestKey(v: JsonObject): 'tests.apiKey' | 'API_KEYS' | 'refused' {
  if (lookup(v, 'tests.apiKey')) return 'tests.apiKey';
  if (lookup(v, 'secret.existingSecret') || lookup(v, 'secret.API_KEYS')) return 'API_KEYS';
  return 'refused';
}
/** Time a probe allows before it gives up: initial delay, then failureThreshold periods. */
function probeBudgetSeconds(p: JsonObject): number {
  return num(p.initialDelaySeconds ?? 0) + num(p.periodSeconds ?? 10) * num(p.failureThreshold ?? 3);
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
  setPath(d, `${ctr}.startupProbe`, { ...obj(lookup(d, `${ctr}.startupProbe`)), ...obj(r.startupProbe) });
  setPath(d, `${pod}.serviceAccountName`, expectedServiceAccountName(v));
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
const HASH = 'a'.repeat(64);
const withKeys = (secret: JsonObject, tests: JsonObject = {}): JsonObject =>
  mergeValues(defaultValues(), { secret: { REDIS_URL: 'redis://redis:6379', ...secret }, tests }) as JsonObject;

describe('chart templates, static parts', () => {
  it('every template reads as YAML once its actions are set aside, with a known kind', () => {
    const kinds = [...skeletons.values()].flat().map(kindOf);
    for (const k of kinds) expect([...Object.keys(MODELS), ...CUSTOM_KINDS]).toContain(k);
    expect(new Set(kinds)).toEqual(new Set([...Object.keys(MODELS), ...CUSTOM_KINDS]));
  });

  it('chooses the branches it is told, and refuses to choose a block the template lacks', () => {
    const t = 'a: 1\n{{- if .Values.x }}\nb: 2\n{{- else if .Values.y }}\nc: 3\n{{- else }}\nd: 4\n{{- end }}\n';
    expect(staticSkeleton(t)).toEqual([{ a: 1, b: 2, c: 3, d: 4 }]);
    expect(staticSkeleton(t, { 'if .Values.x': true })).toEqual([{ a: 1, b: 2 }]);
    expect(staticSkeleton(t, { 'if .Values.x': false, 'if .Values.y': true })).toEqual([{ a: 1, c: 3 }]);
    expect(staticSkeleton(t, { 'if .Values.x': false, 'if .Values.y': false })).toEqual([{ a: 1, d: 4 }]);
    expect(() => staticSkeleton(t, { 'if .Values.z': true })).toThrow('No such block');
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

    it('the NetworkPolicies validate, with Redis ports and peers from values, and the test pod reaching the API', () => {
      const np = obj(v.networkPolicy);
      const apiFrom = lookup(np, 'apiIngressFrom') as Json[];
      const metricsFrom = lookup(np, 'metricsIngressFrom') as Json[];
      const tests = lookup(v, 'tests.enabled') === true;
      const branches: Branches = {
        'if .Values.networkPolicy.enabled': true,
        'if and .Values.metrics.enabled .Values.networkPolicy.apiIngressFrom .Values.networkPolicy.metricsIngressFrom':
          lookup(v, 'metrics.enabled') === true && apiFrom.length > 0 && metricsFrom.length > 0,
        'if and .Values.tests.enabled .Values.networkPolicy.apiIngressFrom': tests && apiFrom.length > 0,
        'if .Values.tests.enabled': tests,
      };
      const docs = docsWith('networkpolicy.yaml', branches);
      expect(docs).toHaveLength(tests ? 3 : 2);
      for (const [i, role] of (['api', 'worker'] as const).entries()) {
        const d = docs[i];
        setPath(d, 'spec.podSelector', { matchLabels: { 'app.kubernetes.io/component': role } });
        const redisRule = (lookup(d, 'spec.egress') as JsonObject[])[1];
        redisRule.ports = (lookup(np, 'redis.ports') as number[]).map((port) => ({ port, protocol: 'TCP' }));
        if ((lookup(np, 'redis.to') as Json[]).length > 0) redisRule.to = lookup(np, 'redis.to') ?? null;
        const ingress = lookup(d, 'spec.ingress') as JsonObject[];
        const from = role === 'api' ? apiFrom : metricsFrom;
        if (from.length > 0) ingress[0].from = from;
        if (role === 'api' && branches['if and .Values.metrics.enabled .Values.networkPolicy.apiIngressFrom .Values.networkPolicy.metricsIngressFrom']) {
          ingress[1].from = metricsFrom;
        }
        if (role === 'api' && branches['if and .Values.tests.enabled .Values.networkPolicy.apiIngressFrom']) {
          // Restricted clients would lock the test pod out; it gets a rule of its own.
          const rule = ingress[ingress.length - 1];
          expect(rule).toEqual({ ports: [{ port: 'http', protocol: 'TCP' }], from: [{}] });
          rule.from = [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'test' } } }];
        }
        expect(ingress).toHaveLength(
          1 + Number(role === 'api' && metricsFrom.length > 0 && apiFrom.length > 0 && lookup(v, 'metrics.enabled') === true) + Number(role === 'api' && tests && apiFrom.length > 0),
        );
        expect(() => MODELS['networking.k8s.io/v1 NetworkPolicy'](d).validate()).not.toThrow();
      }
      if (tests) {
        const t = docs[2];
        expect(obj(lookup(t, 'metadata.labels'))['app.kubernetes.io/component']).toBe('test');
        setPath(t, 'spec.podSelector', { matchLabels: { 'app.kubernetes.io/component': 'test' } });
        // No ingress rule: nothing may connect to it. Egress: DNS, and the API pods' http port.
        expect(lookup(t, 'spec.policyTypes')).toEqual(['Ingress', 'Egress']);
        expect(lookup(t, 'spec.ingress')).toBeUndefined();
        const egress = lookup(t, 'spec.egress') as JsonObject[];
        expect(egress).toHaveLength(2);
        expect((egress[0].ports as JsonObject[]).map((p) => p.port)).toEqual([53, 53]);
        expect(egress[1].ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
        egress[1].to = [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'api' } } }];
        expect(() => MODELS['networking.k8s.io/v1 NetworkPolicy'](t).validate()).not.toThrow();
        const text = sources.get('networkpolicy.yaml') ?? '';
        expect(text.match(/include "sluice\.selectorLabels" \(dict "ctx" \. "component" "test"\)/g)).toHaveLength(2);
        expect(text.split('\n---\n')[2]).toMatch(/to:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "sluice\.selectorLabels" \(dict "ctx" \. "component" "api"\) \| nindent 14 \}\}/);
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
    expect(Object.keys(obj(secret.data))).toEqual(['API_KEYS', 'API_KEY_HASHES', 'REDIS_URL', 'CALLBACK_SECRET']);
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

  it.each(['api', 'worker'] as const)('%s: a startup probe on /health/live, from values, that outlasts what liveness allows', (role) => {
    const c = obj(lookup(deployment(role, v), 'spec.template.spec.containers.0'));
    expect(lookup(c, 'startupProbe.httpGet')).toEqual({ path: '/health/live', port: 'http' });
    const startup = obj(c.startupProbe);
    expect(startup).toEqual({ httpGet: { path: '/health/live', port: 'http' }, ...obj(lookup(v, `${role}.startupProbe`)) });
    // Liveness starts only once the startup probe succeeded; before, this budget is what a start gets.
    expect(probeBudgetSeconds(startup)).toBeGreaterThanOrEqual(60);
    expect(probeBudgetSeconds(startup)).toBeGreaterThan(probeBudgetSeconds(obj(c.livenessProbe)));
    expect(startup.successThreshold ?? 1).toBe(1);
    expect(sources.get(`${role}-deployment.yaml`)).toMatch(
      new RegExp(`startupProbe:\\n\\s+httpGet:\\n\\s+path: /health/live\\n\\s+port: http\\n\\s+\\{\\{- with \\.Values\\.${role}\\.startupProbe \\}\\}\\n\\s+\\{\\{- toYaml \\. \\| nindent 12 \\}\\}`),
    );
  });

  it.each(['api', 'worker'] as const)('%s: runs as the chart\'s ServiceAccount, with no token mounted', (role) => {
    const d = deployment(role, v);
    expect(lookup(d, 'spec.template.spec.serviceAccountName')).toBe(FULLNAME);
    expect(lookup(d, 'spec.template.spec.automountServiceAccountToken')).toBe(false);
    expect(sources.get(`${role}-deployment.yaml`)).toContain('serviceAccountName: {{ include "sluice.serviceAccountName" . }}');
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

  it('the cross-value checks refuse a test without a plain key, and alerts without a runbook URL', () => {
    const validate = defineBlock(sources.get('_helpers.tpl') ?? '', 'sluice.validate');
    expect(validate).toMatch(
      /\{\{- if and \.Values\.tests\.enabled \(not \.Values\.tests\.apiKey\) \(not \.Values\.secret\.existingSecret\) \(not \.Values\.secret\.API_KEYS\) -\}\}\n\{\{- fail ".*tests\.apiKey.*tests\.enabled=false" -\}\}/,
    );
    expect(validate).toMatch(/\{\{- if and \.Values\.prometheusRule\.enabled \(not \.Values\.alerts\.runbookBaseUrl\) -\}\}\n\{\{- fail ".*alerts\.runbookBaseUrl.*" -\}\}/);
  });
});

describe('the ServiceAccount', () => {
  it('validates, and carries no token', () => {
    const sa = one('serviceaccount.yaml');
    expect(sa.automountServiceAccountToken).toBe(false);
    setPath(sa, 'metadata.name', FULLNAME);
    expect(() => MODELS['v1 ServiceAccount'](sa).validate()).not.toThrow();
    const text = sources.get('serviceaccount.yaml') ?? '';
    expect(text).toMatch(/^\{\{- if \.Values\.serviceAccount\.create \}\}/);
    expect(text).toContain('name: {{ include "sluice.serviceAccountName" . }}');
    expect(text).toContain('{{- with .Values.serviceAccount.annotations }}');
  });

  it('is named by one helper: its own name when created, else an existing account or the default', () => {
    const helper = defineBlock(sources.get('_helpers.tpl') ?? '', 'sluice.serviceAccountName');
    expect(helper).toContain('{{- if .Values.serviceAccount.create -}}\n{{- default (include "sluice.fullname" .) .Values.serviceAccount.name -}}');
    expect(helper).toContain('{{- else -}}\n{{- default "default" .Values.serviceAccount.name -}}');
    const named = (sa: JsonObject) => expectedServiceAccountName(mergeValues(defaultValues(), { serviceAccount: sa }) as JsonObject);
    expect(named({})).toBe(FULLNAME);
    expect(named({ name: 'sluice-runner' })).toBe('sluice-runner');
    expect(named({ create: false })).toBe('default');
    expect(named({ create: false, name: 'shared' })).toBe('shared');
    for (const f of ['api-deployment.yaml', 'worker-deployment.yaml', 'tests/test-connection.yaml']) {
      expect([f, sources.get(f)?.includes('serviceAccountName: {{ include "sluice.serviceAccountName" . }}')]).toEqual([f, true]);
    }
  });
});

describe('the helm test pod', () => {
  const FILE = 'tests/test-connection.yaml';
  /** The test's documents as rendered for `v`, with the values-driven fields set. */
  function rendered(v: JsonObject): JsonObject[] {
    const docs = docsWith(FILE, { 'if .Values.tests.enabled': true, 'if .Values.tests.apiKey': expectedTestKey(v) === 'tests.apiKey' });
    const pod = byKind(docs, 'Pod');
    const c = 'spec.containers.0';
    setPath(pod, 'metadata.name', `${FULLNAME}-test-connection`);
    setPath(pod, 'spec.serviceAccountName', expectedServiceAccountName(v));
    setPath(pod, `${c}.image`, `${String(lookup(v, 'tests.image.repository'))}:${String(lookup(v, 'tests.image.tag'))}`);
    setPath(pod, `${c}.imagePullPolicy`, lookup(v, 'tests.image.pullPolicy') ?? null);
    setPath(pod, `${c}.resources`, lookup(v, 'tests.resources') ?? null);
    setPath(pod, `${c}.env.0.value`, `http://${FULLNAME}-api:${num(lookup(v, 'api.service.port'))}`);
    const secretName = String(lookup(v, 'secret.existingSecret') || `${FULLNAME}-secret`);
    setPath(pod, `${c}.env.1.valueFrom.secretKeyRef.name`, expectedTestKey(v) === 'tests.apiKey' ? `${FULLNAME}-test` : secretName);
    for (const d of docs.filter((x) => x.kind === 'Secret')) {
      setPath(d, 'metadata.name', `${FULLNAME}-test`);
      setPath(d, 'data.API_KEY', Buffer.from(String(lookup(v, 'tests.apiKey'))).toString('base64'));
    }
    return docs;
  }
  const script = (pod: JsonObject): string => String(lookup(pod, 'spec.containers.0.args.0'));

  it('is a test hook, kept after its run for its logs, and never restarted', () => {
    const pod = byKind(rendered(withKeys({ API_KEYS: 'ci:key-1' })), 'Pod');
    expect(lookup(pod, 'metadata.annotations')).toEqual({ 'helm.sh/hook': 'test', 'helm.sh/hook-delete-policy': 'before-hook-creation' });
    expect(lookup(pod, 'spec.restartPolicy')).toBe('Never');
    expect(obj(lookup(pod, 'metadata.labels'))['app.kubernetes.io/component']).toBe('test');
    expect(sources.get(FILE)).toMatch(/^\{\{- if \.Values\.tests\.enabled \}\}\n/);
  });

  it('runs like the other pods: non-root, read-only root, no capabilities, no token', () => {
    const pod = byKind(rendered(withKeys({ API_KEYS: 'ci:key-1' })), 'Pod');
    expect(lookup(pod, 'spec.securityContext.runAsNonRoot')).toBe(true);
    // The curl image's USER is a name; runAsNonRoot needs a number to check.
    expect(typeof lookup(pod, 'spec.securityContext.runAsUser')).toBe('number');
    expect(lookup(pod, 'spec.securityContext.runAsUser')).not.toBe(0);
    expect(lookup(pod, 'spec.securityContext.seccompProfile.type')).toBe('RuntimeDefault');
    expect(lookup(pod, 'spec.automountServiceAccountToken')).toBe(false);
    expect(lookup(pod, 'spec.serviceAccountName')).toBe(FULLNAME);
    expect(lookup(pod, 'spec.containers.0.securityContext')).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('uses a small image pinned to an exact version', () => {
    const v = defaultValues();
    expect(lookup(v, 'tests.image.repository')).toBe('curlimages/curl');
    expect(lookup(v, 'tests.image.tag')).toMatch(/^\d+\.\d+\.\d+$/);
    expect(sources.get(FILE)).toContain('image: {{ printf "%s:%s" .Values.tests.image.repository .Values.tests.image.tag }}');
  });

  it('calls /health/ready, then GET /api/v1/tasks/metrics with X-API-Key, on the API Service', () => {
    const pod = byKind(rendered(withKeys({ API_KEYS: 'ci:key-1' })), 'Pod');
    expect(lookup(pod, 'spec.containers.0.env.0')).toEqual({ name: 'SLUICE_API_URL', value: `http://${FULLNAME}-api:80` });
    expect(sources.get(FILE)).toContain('value: "http://{{ include "sluice.fullname" . }}-api:{{ .Values.api.service.port }}"');
    const sh = script(pod);
    const ready = sh.indexOf('"$SLUICE_API_URL/health/ready"');
    const metrics = sh.indexOf('"$SLUICE_API_URL/api/v1/tasks/metrics"');
    expect(ready).toBeGreaterThan(0);
    expect(metrics).toBeGreaterThan(ready);
    expect(sh).toMatch(/curl -fsS [^\n]*"\$SLUICE_API_URL\/health\/ready"/);
    // The key goes to curl on stdin, not on its command line.
    expect(sh).toMatch(/printf 'header = "X-API-Key: %s"\\n' "\$key" \| curl -fsS [^\n]*--config - "\$SLUICE_API_URL\/api\/v1\/tasks\/metrics"/);
    expect(sh).toContain('set -eu');
    // The routes it calls exist.
    expect(readFileSync(join(REPO_ROOT, 'src', 'health', 'health.controller.ts'), 'utf8')).toMatch(/@Controller\('health'\)[\s\S]*@Get\('ready'\)/);
    expect(readFileSync(join(REPO_ROOT, 'src', 'metrics', 'metrics.controller.ts'), 'utf8')).toMatch(/@Controller\('api\/v1\/tasks'\)[\s\S]*@Get\('metrics'\)/);
  });

  it.each(valueSets)('with the %s, takes the key from API_KEYS in the Secret the pods use, and validates', (_name, base) => {
    const v = base.secret && lookup(base, 'secret.existingSecret') ? base : withKeys({ API_KEYS: 'ci:key-1' });
    expect(expectedTestKey(v)).toBe('API_KEYS');
    const docs = rendered(v);
    expect(docs.map((d) => d.kind)).toEqual(['Pod']);
    const pod = docs[0];
    expect(lookup(pod, 'spec.containers.0.env.1')).toEqual({
      name: 'API_KEYS',
      valueFrom: { secretKeyRef: { name: String(lookup(v, 'secret.existingSecret') || `${FULLNAME}-secret`), key: 'API_KEYS', optional: true } },
    });
    expect(sources.get(FILE)).toMatch(/secretKeyRef:\n\s+name: \{\{ include "sluice\.secretName" \. \}\}\n\s+key: API_KEYS\n/);
    expect(placeholderPaths(pod)).toEqual([]);
    expect(() => MODELS['v1 Pod'](pod).validate()).not.toThrow();
  });

  it('with only key hashes, sends tests.apiKey from a Secret of its own that the test creates first', () => {
    const v = withKeys({ API_KEY_HASHES: `ci:${HASH}` }, { apiKey: 'the-plain-key' });
    expect(expectedTestKey(v)).toBe('tests.apiKey');
    const docs = rendered(v);
    expect(docs.map((d) => d.kind)).toEqual(['Secret', 'Pod']);
    const [secret, pod] = docs;
    expect(lookup(pod, 'spec.containers.0.env.1')).toEqual({ name: 'API_KEY', valueFrom: { secretKeyRef: { name: `${FULLNAME}-test`, key: 'API_KEY' } } });
    expect(lookup(secret, 'metadata.annotations')).toEqual({
      'helm.sh/hook': 'test',
      'helm.sh/hook-weight': '-1',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(Buffer.from(String(lookup(secret, 'data.API_KEY')), 'base64').toString()).toBe('the-plain-key');
    expect(sources.get(FILE)).toContain('API_KEY: {{ .Values.tests.apiKey | b64enc | quote }}');
    expect(sources.get(FILE)).toMatch(/secretKeyRef:\n\s+name: \{\{ include "sluice\.fullname" \. \}\}-test\n\s+key: API_KEY\n/);
    for (const d of docs) expect([d.kind, placeholderPaths(d)]).toEqual([d.kind, []]);
    expect(() => MODELS['v1 Secret'](secret).validate()).not.toThrow();
    expect(() => MODELS['v1 Pod'](pod).validate()).not.toThrow();
    // tests.apiKey wins over API_KEYS too.
    expect(expectedTestKey(withKeys({ API_KEYS: 'k' }, { apiKey: 'other' }))).toBe('tests.apiKey');
  });

  it('with only key hashes and no tests.apiKey, the chart refuses to render; with tests.enabled=false there is no test', () => {
    // The refusal itself is the sluice.validate check asserted above.
    expect(expectedTestKey(withKeys({ API_KEY_HASHES: HASH }))).toBe('refused');
    expect(docsWith(FILE, { 'if .Values.tests.enabled': false })).toEqual([]);
    expect(docsWith('networkpolicy.yaml', { 'if .Values.tests.enabled': false }).map((d) => lookup(d, 'metadata.name'))).toEqual([
      `${PLACEHOLDER}-api`,
      `${PLACEHOLDER}-worker`,
    ]);
  });

  it('finds the key as the application does: the first entry of API_KEYS, trimmed, without its label', () => {
    const sh = script(byKind(rendered(withKeys({ API_KEYS: 'k' })), 'Pod'));
    // Restated in TypeScript and compared with src/config/api-keys.ts's parsing on a few inputs.
    expect(sh).toContain(`entry=$(printf '%s' "\${API_KEYS:-}" | tr ',' '\\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep -m 1 . || true)`);
    expect(sh).toContain('key=${entry#*:}');
    const shellKey = (keys: string): string => {
      const entry = keys.split(',').map((e) => e.trim()).find((e) => e.length > 0) ?? '';
      return entry.includes(':') ? entry.slice(entry.indexOf(':') + 1) : entry;
    };
    const { parseApiKeys, sha256Hex } = jest.requireActual<typeof import('../../src/config/api-keys')>('../../src/config/api-keys');
    for (const keys of ['plain-key', ' ci:key-1 , ops:key-2', ',,lbl:k:with:colons']) {
      const first = parseApiKeys(keys, undefined, [])[0];
      expect([keys, sha256Hex(shellKey(keys))]).toEqual([keys, first.sha256]);
    }
    expect(sh).toMatch(/if \[ -z "\$key" \]; then\n\s+echo "FAIL [^"]*tests\.apiKey" >&2\n\s+exit 1/);
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

  it('the PrometheusRule carries files/alerts.yaml, its runbook links on alerts.runbookBaseUrl', () => {
    const text = sources.get('prometheusrule.yaml') ?? '';
    expect(text).toMatch(/^\{\{- if \.Values\.prometheusRule\.enabled \}\}/);
    expect(text).toContain(
      `{{- .Files.Get "files/alerts.yaml" | replace "${RUNBOOK_PLACEHOLDER}#" (printf "%s#" .Values.alerts.runbookBaseUrl) | nindent 2 }}`,
    );
    // What that line renders, restated, with the production example's base URL.
    const base = String(lookup(valueSets[1][1], 'alerts.runbookBaseUrl'));
    expect(base).toMatch(/^https:\/\/.+\/docs\/operations\.md$/);
    const alertsText = readFileSync(join(CHART_DIR, 'files', 'alerts.yaml'), 'utf8').split(`${RUNBOOK_PLACEHOLDER}#`).join(`${base}#`);
    expect(alertsText).not.toContain(`${RUNBOOK_PLACEHOLDER}#`);
    const rule = { ...one('prometheusrule.yaml'), spec: yaml.load(alertsText) as Json };
    const groups = lookup(rule, 'spec.groups') as { rules: { alert?: string; annotations?: Record<string, string> }[] }[];
    expect(groups.length).toBeGreaterThan(0);
    const anchors = markdownAnchors(readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8'));
    const alertRules = groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alertRules.length).toBeGreaterThan(0);
    for (const r of alertRules) {
      const url = r.annotations?.runbook_url ?? '';
      expect([r.alert, url.startsWith(`${base}#`), anchors.has(url.slice(base.length + 1))]).toEqual([r.alert, true, true]);
    }
    expect(JSON.stringify(rule.spec)).not.toContain('sluice.invalid');
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
