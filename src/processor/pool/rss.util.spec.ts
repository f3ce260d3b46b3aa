import { parseVmRssBytes, readRssBytes } from './rss.util';

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
