import { jsonNestsDeeperThan } from './json-depth';

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

describe('jsonNestsDeeperThan', () => {
  it('counts objects and arrays alike, up to and past the limit', () => {
    expect(jsonNestsDeeperThan(nested(64), 64)).toBe(false);
    expect(jsonNestsDeeperThan(nested(65), 64)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":'.repeat(65) + '1' + '}'.repeat(65), 64)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":[{"b":[1,2]}],"c":{"d":3}}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[{"b":[1,2]}],"c":{"d":3}}', 3)).toBe(true);
  });

  it('measures depth, not the number of brackets', () => {
    expect(jsonNestsDeeperThan(`[${'[1],'.repeat(10_000)}[1]]`, 2)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(JSON.stringify({ s: '[[[[[[[[[[' }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(JSON.stringify({ s: 'a\\"[[[[' }), 1)).toBe(false);
    expect(jsonNestsDeeperThan(JSON.stringify({ s: 'a\\' , t: [[[1]]] }), 3)).toBe(true);
    expect(jsonNestsDeeperThan(JSON.stringify({ s: 'a"[[[[' }), 1)).toBe(false);
  });

  it('leaves malformed text to the parser', () => {
    expect(jsonNestsDeeperThan('{"unterminated: [[[[', 1)).toBe(false);
    expect(jsonNestsDeeperThan('', 1)).toBe(false);
  });
});
