import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer, type Server } from 'node:net';

export interface RunningProcess {
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM, then the exit code (SIGKILL after the timeout). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Starts a TypeScript entry point as a real child process and waits for a line that says it is ready. */
export async function startProcess(
  script: string,
  env: Record<string, string>,
  readyPattern: RegExp,
  timeoutMs = 30_000,
): Promise<RunningProcess> {
  // node --import tsx: one process (the tsx CLI would run the script in a child that a SIGKILL of
  // the CLI leaves behind).
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Never leave a process behind that a failed test can no longer stop.
      proc.kill('SIGKILL');
      reject(new Error(`${script} not ready after ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (readyPattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', check);
    proc.stderr?.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop(timeout = 20_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        const killer = setTimeout(() => proc.kill('SIGKILL'), timeout);
        proc.once('exit', (code) => {
          clearTimeout(killer);
          resolve(code);
        });
        proc.kill('SIGTERM');
      });
    },
  };
}

/** Runs a TypeScript entry point that is expected to exit; kills it after the timeout. */
export async function runToExit(
  script: string,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // node --import tsx: one process (the tsx CLI would run the script in a child that a SIGKILL of
  // the CLI leaves behind).
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  clearTimeout(killer);
  return { code, stdout, stderr };
}

/** Holds a port the way another program would: listening on loopback until `server.close()`. */
export async function occupyPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A port nothing listens on right now (for a process that must be told its port). */
export async function freePort(): Promise<number> {
  const { server, port } = await occupyPort();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
