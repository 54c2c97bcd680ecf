import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

/** What the server accepted: the SMTP envelope and the message exactly as it came over the wire. */
export interface ReceivedMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  secure: boolean;
}

/** Return an error with a `responseCode` to answer that command with it; undefined to accept. */
export interface SmtpFaults {
  rcptTo?(address: SMTPServerAddress, session: SMTPServerSession): SmtpReply | undefined;
  data?(message: ReceivedMessage): SmtpReply | undefined;
}

export interface SmtpReply {
  code: number;
  message: string;
}

export interface InProcessSmtpServer {
  port: number;
  received: ReceivedMessage[];
  /** Client connections opened so far. */
  connections: number;
  close(): Promise<void>;
}

export async function startSmtpServer(
  options: { secure?: boolean; faults?: SmtpFaults } = {},
): Promise<InProcessSmtpServer> {
  const { faults = {} } = options;
  const received: ReceivedMessage[] = [];
  const state = { connections: 0 };
  const server = new SMTPServer({
    secure: options.secure ?? false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 1_000,
    onConnect(_session, callback) {
      state.connections++;
      callback();
    },
    onRcptTo(address, session, callback) {
      const reply = faults.rcptTo?.(address, session);
      callback(reply ? smtpError(reply) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const message: ReceivedMessage = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((a) => a.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        const reply = faults.data?.(message);
        if (reply) return callback(smtpError(reply));
        received.push(message);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function smtpError(reply: SmtpReply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}
