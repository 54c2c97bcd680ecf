import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from '../logger';

/**
 * Sends notification emails: over SMTP when `SMTP_URL` is set, otherwise as `.eml` files in
 * an outbox folder where a developer can open them. Errors propagate; the notifications
 * queue decides about retries.
 */
export interface MailerOptions {
  /** smtp://host:587 (STARTTLS when offered) or smtps://host:465 (TLS from the start); '' = write files. */
  smtpUrl: string;
  from: string;
  outboxDir: string;
  log: Logger;
  /** Connection, greeting and socket timeouts; a stuck SMTP server fails the attempt instead of holding the worker. */
  timeoutMs?: number;
}

export interface OutgoingEmail {
  to: string[];
  subject: string;
  text: string;
  html: string;
  /** Becomes the Message-ID header, so a resend of the same run's email is recognisably the same message. */
  messageId: string;
}

export interface SendResult {
  via: 'smtp' | 'file';
  /** The written `.eml` file, when `via` is 'file'. */
  path?: string;
}

export interface Mailer {
  send(message: OutgoingEmail): Promise<SendResult>;
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl ? smtpMailer(options) : outboxMailer(options);
}

function smtpMailer({ smtpUrl, from, log, timeoutMs = DEFAULT_TIMEOUT_MS }: MailerOptions): Mailer {
  // The URL's scheme picks implicit TLS (smtps) or plain/STARTTLS (smtp); its query may
  // override any of these options, e.g. ?pool=false or ?tls.rejectUnauthorized=false.
  const transport = nodemailer.createTransport(
    {
      url: smtpUrl,
      pool: true,
      maxConnections: 2,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
    },
    { from },
  );
  return {
    async send(message) {
      assertRecipients(message);
      const info = await transport.sendMail(mailOptions(message));
      // Some recipients accepted: retrying would send the others a duplicate, so it counts as sent.
      if (info.rejected.length > 0) {
        log.warn(
          { messageId: message.messageId, rejected: info.rejected.length, accepted: info.accepted.length },
          'SMTP server refused some recipients',
        );
      }
      log.info({ messageId: message.messageId, recipients: message.to.length }, 'email sent over SMTP');
      return { via: 'smtp' };
    },
    async close() {
      transport.close();
    },
  };
}

function outboxMailer({ from, outboxDir, log }: MailerOptions): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' }, { from });
  return {
    async send(message) {
      assertRecipients(message);
      const info = await transport.sendMail(mailOptions(message));
      await mkdir(outboxDir, { recursive: true });
      const file = path.join(outboxDir, outboxFileName(message.messageId));
      // Written aside and renamed, so a reader never sees half a message; the same message id
      // lands in the same file, so a resend replaces the earlier copy.
      const partial = `${file}.${randomUUID()}.partial`;
      await writeFile(partial, info.message as Buffer);
      await rename(partial, file);
      log.info({ messageId: message.messageId, path: file }, 'no SMTP_URL configured: email written to the outbox');
      return { via: 'file', path: file };
    },
    async close() {
      // Nothing is held open between messages.
    },
  };
}

function mailOptions(message: OutgoingEmail) {
  return {
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: message.messageId,
  };
}

function assertRecipients(message: OutgoingEmail): void {
  if (message.to.length === 0) throw new Error(`email ${message.messageId} has no recipients`);
}

/** Letters, digits, dot, dash and underscore only: "<run-01J@cohort-import>" → "run-01J_cohort-import.eml". */
export function outboxFileName(messageId: string): string {
  const safe = messageId
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|_+$/g, '')
    .slice(0, 200);
  return `${safe || `message-${Date.now()}-${randomUUID()}`}.eml`;
}
