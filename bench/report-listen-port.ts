/**
 * Preloaded into every process the bench starts (`node --import tsx --import ./bench/report-listen-port.ts`).
 *
 * 1. The processes listen on port 0, and `web` logs the port it was given (0), not the one the
 *    kernel chose: this tells the bench, over the IPC channel, the port of the first server
 *    that starts listening.
 * 2. On request, the process' own event-loop delay since the last reading: tells a blocked event
 *    loop apart from a machine too busy to run the process.
 * 3. The IPC channel closes when the bench dies, even by SIGKILL: the process then shuts itself
 *    down, so no bench leaves processes behind.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const listen = net.Server.prototype.listen;
  let reported = false;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    this.once('listening', () => {
      const address = this.address();
      if (reported || !address || typeof address === 'string') return;
      reported = true;
      process.send?.({ listening: address.port });
    });
    return listen.apply(this, args as Parameters<typeof listen>);
  } as typeof listen;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  process.on('message', (message: { eventLoopDelay?: boolean }) => {
    if (!message.eventLoopDelay) return;
    const ms = (ns: number) => ns / 1e6;
    process.send?.({ eventLoopDelay: { p99: ms(delay.percentile(99)), max: ms(delay.max) } });
    delay.reset();
  });
  // The channel must not keep a process alive that would otherwise exit.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
