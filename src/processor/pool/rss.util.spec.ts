import { RssReader, parseVmRssBytes, readRssBytes } from './rss.util';

const STATUS = ['Name:\tnode', 'State:\tS (sleeping)', 'VmPeak:\t 1234567 kB', 'VmHWM:\t   99999 kB', 'VmRSS:\t   51234 kB', 'RssAnon:\t   40000 kB', 'Threads:\t7', ''].join('\n');

describe('parseVmRssBytes', () => {
  it('reads VmRSS in kB, not the other Vm* lines', () => {
    expect(parseVmRssBytes(STATUS)).toBe(51234 * 1024);
  });

  it('returns null when there is no VmRSS line, as for a zombie or a kernel thread', () => {
    expect(parseVmRssBytes('Name:\tkthreadd\nState:\tS (sleeping)\n')).toBeNull();
  });
});

describe('readRssBytes', () => {
  it('reads this process within a few MiB of what Node reports', () => {
    const rss = readRssBytes(process.pid);
    expect(rss).not.toBeNull();
    expect(Math.abs(rss! - process.memoryUsage.rss())).toBeLessThan(16 * 1024 * 1024);
  });

  it('returns null for a pid that does not exist', () => {
    expect(readRssBytes(2 ** 22 + 1)).toBeNull();
  });
});

describe('RssReader', () => {
  it('reads the same figure as a fresh read, repeatedly through one descriptor', () => {
    const reader = new RssReader(process.pid);
    const a = reader.read();
    const b = reader.read();
    expect(a).toBeGreaterThan(1024 * 1024);
    expect(Math.abs(b! - readRssBytes(process.pid)!)).toBeLessThan(64 * 1024 * 1024);
    reader.close();
  });

  it('answers null for a process that does not exist', () => {
    expect(new RssReader(2 ** 22 + 1).read()).toBeNull();
  });
});
