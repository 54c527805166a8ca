import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const SAMPLE_MS = 50;
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

export interface PhaseUsage {
  /** Bytes. */
  peakRss: number;
  /** User plus system CPU time the server spent in the phase: its cost, less sensitive to a noisy machine. */
  cpuSeconds: number;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * User plus system CPU time of this process's children that have exited and been waited for (cutime +
 * cstime), their own waited-for children included. Read before and after a client command, the difference
 * is that client's CPU time, every thread of it, as long as no other child exits in between.
 */
export function exitedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process now, in bytes (undefined once it is gone). */
export function residentBytes(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/**
 * CPU time and peak resident memory of one server process, overall and per phase. Samples VmRSS every 50 ms and also reads the
 * kernel's own high-water mark (VmHWM), which catches spikes between samples; at each phase start the mark is
 * reset through /proc/PID/clear_refs (value 5), so a phase's peak is its own and not the startup's.
 */
export class ServerMeter {
  private overall = 0;
  private phase = 0;
  private readonly timer: NodeJS.Timeout;
  private hwmResettable = true;
  private cpuAtStart = 0;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.sample();
  }

  private sample(): void {
    const rss = statusField(this.pid, 'VmRSS');
    if (rss === undefined) return;
    if (rss > this.phase) this.phase = rss;
    if (rss > this.overall) this.overall = rss;
  }

  /** Folds in the kernel's high-water mark since the last reset. */
  private foldHwm(): void {
    const hwm = statusField(this.pid, 'VmHWM');
    if (hwm === undefined) return;
    if (this.hwmResettable && hwm > this.phase) this.phase = hwm;
    if (hwm > this.overall) this.overall = hwm;
  }

  beginPhase(): void {
    this.foldHwm();
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      // Without the reset VmHWM would carry earlier phases' peaks; fall back to the 50 ms samples alone.
      this.hwmResettable = false;
    }
    this.phase = 0;
    this.sample();
    this.cpuAtStart = cpuSeconds(this.pid);
  }

  /** Usage in the phase begun last. */
  endPhase(): PhaseUsage {
    const cpu = cpuSeconds(this.pid) - this.cpuAtStart;
    this.sample();
    this.foldHwm();
    return { peakRss: this.phase, cpuSeconds: cpu };
  }

  /** The peak over the whole life of the sampler, in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    this.foldHwm();
    return this.overall;
  }
}
