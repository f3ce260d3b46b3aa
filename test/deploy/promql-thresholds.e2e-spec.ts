import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { CHART_DIR } from './chart-source';
import { withoutThresholds } from './promql-thresholds';

const rules = (yaml.load(readFileSync(join(CHART_DIR, 'files', 'alerts.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap(
  (g) => g.rules,
);

describe('withoutThresholds (used by prometheus-live to query alert expressions while they do not fire)', () => {
  it('keeps the side of a top-level comparison that is not a number', () => {
    expect(withoutThresholds('x > 1536 * 1024 * 1024')).toEqual({ expr: 'x', arms: ['x'], thresholds: ['> 1536 * 1024 * 1024'] });
    expect(withoutThresholds('0.5 <= rate(x[5m])').expr).toBe('rate(x[5m])');
    expect(withoutThresholds('(a) / (b) > bool 3').expr).toBe('(a) / (b)');
  });

  it('splits at top-level set operators, keeping their matching modifiers', () => {
    expect(withoutThresholds('a > 0.1 and on (ns, queue) b >= 10')).toEqual({ expr: 'a and on (ns, queue) b', arms: ['a', 'b'], thresholds: ['> 0.1', '>= 10'] });
    expect(withoutThresholds('(a > 1 or b unless c < 2)').arms).toEqual(['a', 'b', 'c']);
  });

  it('leaves nested comparisons, comparisons between series, and operators in strings and brackets alone', () => {
    expect(withoutThresholds('sum(x > 3) > 1').expr).toBe('sum(x > 3)');
    expect(withoutThresholds('a > b')).toEqual({ expr: 'a > b', arms: ['a > b'], thresholds: [] });
    expect(withoutThresholds('x{l="a or b > 1"} > 2').expr).toBe('x{l="a or b > 1"}');
    expect(withoutThresholds('x{l=~"a|b"} or y[5m:1m] > 2').arms).toEqual(['x{l=~"a|b"}', 'y[5m:1m]']);
  });

  it('finds a threshold in every rule of alerts.yaml, and leaves none at the top of any arm', () => {
    for (const r of rules) {
      const u = withoutThresholds(r.expr);
      expect([r.alert, u.thresholds.length > 0]).toEqual([r.alert, true]);
      for (const t of u.thresholds) expect([r.alert, t]).toEqual([r.alert, expect.stringMatching(/^(>|<|>=|<=|==|!=) [\d. *]+$/)]);
      for (const arm of [u.expr, ...u.arms]) expect([r.alert, withoutThresholds(arm).thresholds]).toEqual([r.alert, []]);
    }
  });
});
