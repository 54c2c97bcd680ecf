import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const reportListenPort = fileURLToPath(new URL('./report-listen-port.ts', import.meta.url));

/** CPU seconds (user + system) from a process' or a thread's `stat` file; NaN once it is gone. */
function statCpuSeconds(statPath: string): number {
  try {
    const fields = readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
  } catch {
    return NaN;
  }
}

/** CPU seconds a live process has used (user + system), from the kernel; NaN once it is gone. */
export function cpuSecondsOf(pid: number | undefined): number {
  return pid ? statCpuSeconds(`/proc/${pid}/stat`) : NaN;
}

/** CPU seconds per thread of a live process (by thread id; the main thread's id is the pid). */
export function threadCpuSecondsOf(pid: number | undefined): Map<number, number> {
  const threads = new Map<number, number>();
  if (!pid) return threads;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    const seconds = statCpuSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (Number.isFinite(seconds)) threads.set(Number(tid), seconds);
  }
  return threads;
}

/** The machine's CPU time so far, all cores (clock ticks): busy, and in all (busy + idle + iowait). */
function machineTicks(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/**
 * Samples how busy the machine's cores are every 100 ms; `busyShare(from, to)` is the share of
 * all cores' time that was busy between two epoch-ms times (the samples nearest them).
 */
export function sampleMachineCpu() {
  const samples: { at: number; busy: number; total: number }[] = [];
  const take = () => samples.push({ at: Date.now(), ...machineTicks() });
  take();
  const timer = setInterval(take, 100);
  timer.unref();
  const nearest = (at: number) =>
    samples.reduce((best, s) => (Math.abs(s.at - at) < Math.abs(best.at - at) ? s : best), samples[0]!);
  return {
    busyShare(from: number, to: number): number {
      take();
      const a = nearest(from);
      const b = nearest(to);
      return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : NaN;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * The processes one bench run starts: one per role (`node --import tsx`, so each peak RSS is its
 * own), every one of them stopped by `stopAll`, and each stopping itself if the bench dies.
 */
export class BenchProcesses {
  private readonly children: { name: string; proc: ChildProcess }[] = [];

  constructor(private readonly env: Record<string, string>) {}

  /** Starts `script`; resolves with the port its first server listens on, if `listens`. */
  start(name: string, script: string, env: Record<string, string> = {}, listens = false): Promise<number | undefined> {
    // BENCH_CPU_PROF=dir: a V8 CPU profile per process and thread, named by pid.
    const profile = process.env.BENCH_CPU_PROF
      ? [`--cpu-prof`, `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, name)}`]
      : [];
    const proc = spawn(process.execPath, [...profile, '--import', 'tsx', '--import', reportListenPort, script], {
      env: { ...this.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.children.push({ name, proc });
    if (!listens) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not listen within 60 s`)), 60_000);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (code ${code}) before listening`));
      });
      proc.on('message', (message: { listening?: number }) => {
        if (typeof message.listening !== 'number') return;
        clearTimeout(timer);
        resolve(message.listening);
      });
    });
  }

  /** The process' event-loop delay (ms) since the previous call, measured inside it. */
  eventLoopDelay(name: string): Promise<{ p99: number; max: number }> {
    const proc = this.children.find((c) => c.name === name)?.proc;
    if (!proc?.connected) return Promise.resolve({ p99: NaN, max: NaN });
    return new Promise((resolve) => {
      const onMessage = (message: { eventLoopDelay?: { p99: number; max: number } }) => {
        if (!message.eventLoopDelay) return;
        proc.off('message', onMessage);
        resolve(message.eventLoopDelay);
      };
      proc.on('message', onMessage);
      proc.send({ eventLoopDelay: true });
    });
  }

  /** The processes still running. */
  names(): string[] {
    return this.children.filter((c) => isLive(c.proc)).map((c) => c.name);
  }

  pidOf(name: string): number | undefined {
    return this.pid(name);
  }

  /** SIGKILL (a crash: no clean-up, locks left to expire) or SIGTERM (a deploy), and waits for the exit. */
  async stop(name: string, signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM'): Promise<void> {
    const child = this.children.find((c) => c.name === name && isLive(c.proc));
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.proc.once('exit', () => resolve());
      child.proc.kill(signal);
      setTimeout(() => child.proc.kill('SIGKILL'), 10_000).unref();
    });
  }

  cpuSeconds(name: string): number {
    return cpuSecondsOf(this.pid(name));
  }

  /** Seconds the process' main thread has spent runnable but waiting for a core (schedstat); NaN if unknown. */
  runQueueSeconds(name: string): number {
    const pid = this.pid(name);
    if (!pid) return NaN;
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
    } catch {
      return NaN;
    }
  }

  threadCpuSeconds(name: string): Map<number, number> {
    return threadCpuSecondsOf(this.pid(name));
  }

  /** The process' main thread id (its pid). */
  mainThread(name: string): number | undefined {
    return this.pid(name);
  }

  /** Peak resident set size of a live process, from the kernel (VmHWM). */
  peakRssMb(name: string): number {
    const pid = this.pid(name);
    if (!pid) return NaN;
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  }

  /** SIGTERM to each live process, newest first (workers before web before the sandbox); SIGKILL after 10 s. */
  async stopAll(): Promise<void> {
    while (this.children.length) {
      const { proc } = this.children.pop()!;
      if (!isLive(proc)) continue;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      });
    }
  }

  private pid(name: string): number | undefined {
    const child = this.children.find((c) => c.name === name && isLive(c.proc));
    return child?.proc.pid;
  }
}

const isLive = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null;
