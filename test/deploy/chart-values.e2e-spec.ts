import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { getMetadataStorage } from 'class-validator';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARIABLES, EnvironmentVariables } from '../../src/config/env.schema';
import {
  CHART_DIR,
  Json,
  JsonObject,
  defaultValues,
  isObject,
  leafPaths,
  lookup,
  mergeValues,
  readYaml,
  templateSources,
  valuesPathsUsed,
} from './chart-source';

/**
 * Values rendered verbatim with toYaml into the object they name. Their inner keys are
 * Kubernetes' (resources, affinity, ...), not the chart's, so a template never names them.
 */
const PASS_THROUGH = [
  'imagePullSecrets',
  ...['api', 'worker'].flatMap((role) => [
    `${role}.livenessProbe`,
    `${role}.readinessProbe`,
    `${role}.startupProbe`,
    `${role}.extraEnv`,
    `${role}.podAnnotations`,
    `${role}.podLabels`,
    `${role}.nodeSelector`,
    `${role}.tolerations`,
    `${role}.affinity`,
    `${role}.topologySpreadConstraints`,
  ]),
  'api.resources',
  // The worker's limits.memory is computed when empty, so only these two are verbatim.
  'worker.resources.requests',
  'worker.resources.limits',
  'networkPolicy.apiIngressFrom',
  'networkPolicy.metricsIngressFrom',
  'networkPolicy.redis.to',
  'networkPolicy.extraEgress',
  'metrics.serviceMonitor.labels',
  'prometheusRule.labels',
  'dashboard.annotations',
  'serviceAccount.annotations',
  'tests.resources',
];

const SECRET_VARIABLES = ['API_KEYS', 'API_KEY_HASHES', 'REDIS_URL', 'CALLBACK_SECRET'];
const BAD_DIR = join(__dirname, 'fixtures', 'values-bad');

function compileSchema(): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as object;
  return new Ajv({ allErrors: true, strict: true }).compile(schema);
}

/** Where an error points, down to the offending key for unknown and missing keys. */
function errorPath(e: ErrorObject): string {
  const params = e.params as { additionalProperty?: string; missingProperty?: string };
  const key = params.additionalProperty ?? params.missingProperty;
  return key === undefined ? e.instancePath : `${e.instancePath}/${key}`;
}

describe('values.schema.json', () => {
  const validate = compileSchema();
  const defaults = defaultValues();

  it('accepts the default values.yaml', () => {
    expect(validate(defaults) ? [] : validate.errors).toEqual([]);
  });

  it('accepts the production example merged over the defaults, and the example alone', () => {
    const example = readYaml(join(CHART_DIR, 'examples', 'values-production.yaml'));
    expect(validate(mergeValues(defaults, example)) ? [] : validate.errors).toEqual([]);
    expect(validate(example) ? [] : validate.errors).toEqual([]);
  });

  const badFiles = readdirSync(BAD_DIR).filter((f) => f.endsWith('.yaml')).sort();

  it('has bad-values fixtures, each naming the error it expects', () => {
    expect(badFiles.length).toBeGreaterThanOrEqual(3);
  });

  it.each(badFiles)('rejects %s where the fixture says', (file) => {
    const text = readFileSync(join(BAD_DIR, file), 'utf8');
    const expected = /^# expect: (\S+)/.exec(text)?.[1];
    expect(expected).toBeDefined();
    const merged = mergeValues(defaults, readYaml(join(BAD_DIR, file)));
    expect(validate(merged)).toBe(false);
    expect((validate.errors ?? []).map(errorPath)).toContain(expected);
  });

  it('lists exactly the non-secret environment variables under config, with their ranges and types', () => {
    const config = lookup(compileSchemaJson(), 'properties.config.properties');
    expect(isObject(config)).toBe(true);
    const props = config as JsonObject;
    const nonSecret = ENV_VARIABLES.filter((v) => !SECRET_VARIABLES.includes(v));
    expect(Object.keys(props).sort()).toEqual([...new Set(nonSecret)].sort());

    const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentVariables, '', true, false);
    for (const name of Object.keys(props)) {
      const prop = props[name] as JsonObject;
      const rules = metadata.filter((m) => m.propertyName === name);
      const ruleNamed = (n: string) => rules.find((m) => m.name === n);
      const where = `config.${name}`;
      if (ruleNamed('isInt')) expect([where, prop.type]).toEqual([where, 'integer']);
      if (ruleNamed('isNumber')) expect([where, prop.type]).toEqual([where, 'number']);
      if (ruleNamed('isBoolean')) expect([where, prop.type]).toEqual([where, 'boolean']);
      const min = ruleNamed('min')?.constraints[0] as number | undefined;
      const max = ruleNamed('max')?.constraints[0] as number | undefined;
      expect([where, prop.minimum]).toEqual([where, min]);
      expect([where, prop.maximum]).toEqual([where, max]);
      const pattern = ruleNamed('matches')?.constraints[0] as RegExp | undefined;
      expect([where, prop.pattern]).toEqual([where, pattern?.source]);
      // Each IsIn rule's own list (LOG_LEVEL's levels, the endpoint access modes).
      const allowed = ruleNamed('isIn')?.constraints[0] as readonly string[] | undefined;
      if (allowed) expect([where, prop.enum]).toEqual([where, [...allowed]]);
    }
  });

  it('uses the application defaults as the chart defaults', () => {
    const appDefaults = new EnvironmentVariables() as unknown as Record<string, Json>;
    const config = defaults.config as JsonObject;
    for (const [name, value] of Object.entries(config)) expect([name, value]).toEqual([name, appDefaults[name]]);
  });

  it('allows no chart key that values.yaml leaves out (a setting that looks real but does nothing)', () => {
    const schema = compileSchemaJson();
    const missing: string[] = [];
    const walk = (node: Json, path: string): void => {
      if (!isObject(node) || PASS_THROUGH.includes(path)) return;
      const props = node.properties;
      if (!isObject(props) || node.additionalProperties !== false) return;
      for (const [key, sub] of Object.entries(props)) {
        const p = path ? `${path}.${key}` : key;
        if (p === 'global') continue; // set by a parent chart, never by this one
        if (lookup(defaults, p) === undefined) missing.push(p);
        else walk(sub, p);
      }
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });
});

function compileSchemaJson(): JsonObject {
  return JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as JsonObject;
}

describe('values.yaml against the templates', () => {
  const defaults = defaultValues();
  const sources = templateSources();
  const used = valuesPathsUsed(sources.values());
  const allText = [...sources.values()].join('\n');

  it('every .Values path a template uses exists in values.yaml', () => {
    expect([...used].filter((p) => lookup(defaults, p) === undefined)).toEqual([]);
  });

  it('every leaf of values.yaml is used by a template or lies under a pass-through key', () => {
    const unused = leafPaths(defaults).filter(
      (leaf) => !used.has(leaf) && !PASS_THROUGH.some((p) => leaf === p || leaf.startsWith(`${p}.`)),
    );
    expect(unused).toEqual([]);
  });

  it('renders every pass-through key verbatim, and only those', () => {
    for (const p of PASS_THROUGH) {
      const verbatim = new RegExp(`(toYaml|with|omit) \\.Values\\.${p.replace(/\./g, '\\.')}\\b`);
      expect([p, verbatim.test(allText)]).toEqual([p, true]);
    }
    const toYamlPaths = [...allText.matchAll(/toYaml \.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]);
    expect(toYamlPaths.filter((p) => !PASS_THROUGH.includes(p))).toEqual([]);
  });

  it('puts every config key into the ConfigMap under its own name', () => {
    const configMap = sources.get('configmap.yaml') ?? '';
    for (const name of Object.keys(defaults.config as JsonObject)) {
      expect(configMap).toMatch(new RegExp(`^  ${name}: \\{\\{ .*\\.Values\\.config\\.${name} \\| .*\\}\\}$`, 'm'));
    }
  });
});
