/**
 * Preloaded into every process the bench starts (`node --import tsx --import ./bench/report-listen-port.ts`).
 *
 * 1. The processes listen on port 0, and `web` logs the port it was given (0), not the one the
 *    kernel chose: this tells the bench, over the IPC channel, the port of the first server
 *    that starts listening.
 * 2. The IPC channel closes when the bench dies, even by SIGKILL: the process then shuts itself
 *    down, so no bench leaves processes behind.
 */
import net from 'node:net';

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
  // The channel must not keep a process alive that would otherwise exit.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
