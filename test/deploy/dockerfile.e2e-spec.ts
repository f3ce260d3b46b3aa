import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { REPO_ROOT } from './chart-source';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
/** DiagnosticSeverity.Error in the Language Server Protocol, which dockerfile-utils reports in. */
const LSP_ERROR = 1;

/** Instructions in order, continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!pending && (trimmed === '' || trimmed.startsWith('#'))) continue;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    const full = (pending + trimmed).trim();
    pending = '';
    const [keyword, ...rest] = full.split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(' ') });
  }
  return out;
}

function stages(list: Instruction[]): Stage[] {
  const out: Stage[] = [];
  for (const i of list) {
    if (i.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      out.push({ from: m?.[1] ?? '', name: m?.[2], instructions: [] });
    } else {
      out[out.length - 1]?.instructions.push(i);
    }
  }
  return out;
}

const all = stages(instructions(dockerfile));
const runtime = all[all.length - 1];
const argsOf = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe('Dockerfile', () => {
  it('has no error-level diagnostics from dockerfile-utils, even with every check at error level', () => {
    const strict = {
      deprecatedMaintainer: ValidationSeverity.ERROR,
      directiveCasing: ValidationSeverity.ERROR,
      emptyContinuationLine: ValidationSeverity.ERROR,
      instructionCasing: ValidationSeverity.ERROR,
      instructionCmdMultiple: ValidationSeverity.ERROR,
      instructionEntrypointMultiple: ValidationSeverity.ERROR,
      instructionHealthcheckMultiple: ValidationSeverity.ERROR,
      instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
      instructionWorkdirRelative: ValidationSeverity.ERROR,
    };
    expect(validate(dockerfile).filter((d) => d.severity === LSP_ERROR)).toEqual([]);
    expect(validate(dockerfile, strict)).toEqual([]);
  });

  it('is multi-stage, every stage on the same Node 22 LTS image, pinned to an exact version', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const s of all) expect(s.from).toBe('node:22.23.5-bookworm-slim');
  });

  it('builds with npm ci and npm run build', () => {
    const build = all.find((s) => argsOf(s, 'RUN').some((r) => r.includes('npm run build')));
    expect(build).toBeDefined();
    expect(argsOf(build as Stage, 'RUN').some((r) => /npm ci(?!.*--omit=dev)/.test(r))).toBe(true);
  });

  it('ships production dependencies only, and the compiled dist/', () => {
    const copies = argsOf(runtime, 'COPY');
    const modulesFrom = /--from=(\S+)\s+\S*node_modules/.exec(copies.join('\n'))?.[1];
    const depsStage = all.find((s) => s.name === modulesFrom);
    expect(depsStage).toBeDefined();
    expect(argsOf(depsStage as Stage, 'RUN').some((r) => r.includes('npm ci --omit=dev'))).toBe(true);
    expect(argsOf(depsStage as Stage, 'RUN').some((r) => /npm run build/.test(r))).toBe(false);
    const buildStage = all.find((s) => argsOf(s, 'RUN').some((r) => r.includes('npm run build')));
    expect(copies.some((c) => c.startsWith(`--from=${buildStage?.name} `) && c.includes('/app/dist'))).toBe(true);
    expect(copies.some((c) => c.startsWith(`--from=${buildStage?.name} `) && c.includes('node_modules'))).toBe(false);
  });

  it('runs as a numeric non-root user', () => {
    const users = argsOf(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid] = users[0].split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
  });

  it('starts through an init process and runs the API by default', () => {
    const entry = JSON.parse(argsOf(runtime, 'ENTRYPOINT')[0]) as string[];
    expect(entry[0]).toMatch(/(^|\/)(tini|dumb-init)$/);
    expect(argsOf(runtime, 'RUN').some((r) => /apt-get install .*\b(tini|dumb-init)\b/.test(r))).toBe(true);
    expect(JSON.parse(argsOf(runtime, 'CMD')[0])).toEqual(['node', 'dist/main.js']);
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const sources = all
      .flatMap((s) => argsOf(s, 'COPY'))
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect([src, existsSync(join(REPO_ROOT, src))]).toEqual([src, true]);
      expect(dockerignore).not.toContain(src);
      expect(dockerignore).not.toContain(src.replace(/\/$/, ''));
    }
    for (const heavy of ['node_modules', 'dist', '.git']) expect(dockerignore).toContain(heavy);
  });

  it('the worker entry point that the chart runs is built from the same sources', () => {
    expect(existsSync(join(REPO_ROOT, 'src', 'worker.ts'))).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'src', 'main.ts'))).toBe(true);
  });
});
