import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** VmRSS from the text of /proc/<pid>/status, in bytes; null if absent (a zombie has none). */
export function parseVmRssBytes(status: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * Resident set size of a process, read from procfs: about 20 µs, where spawning `ps` costs
 * milliseconds. status is used rather than statm because it is in kB, whatever the page size.
 * Null when the process is gone or procfs is unavailable.
 */
export function readRssBytes(pid: number): number | null {
  try {
    return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'latin1'));
  } catch {
    return null;
  }
}

/**
 * Reads one process' RSS through a descriptor kept open on its /proc status file: one pread per
 * sample instead of open, read and close (each syscall is dear here, see docs/BENCHMARKS.md). The
 * descriptor stays bound to that process, so a reused pid cannot be misread.
 */
export class RssReader {
  private fd: number | null = null;
  private readonly buffer = Buffer.alloc(4096);

  constructor(private readonly pid: number) {}

  read(): number | null {
    try {
      this.fd ??= openSync(`/proc/${this.pid}/status`, 'r');
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      return parseVmRssBytes(this.buffer.toString('latin1', 0, n));
    } catch {
      return null;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone with the process
    }
    this.fd = null;
  }
}
