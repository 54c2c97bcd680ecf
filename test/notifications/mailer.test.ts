import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { createMailer, outboxFileName, type Mailer, type OutgoingEmail } from '../../src/notifications/mailer';
import { composeRunEmail } from '../../src/notifications/run-email';
import type { RunView } from '../../src/runs/run-store';
import { startSmtpServer, type InProcessSmtpServer } from '../support/smtp-server';
import { parseMimeMessage } from '../support/mime-message';
import { scratchDir } from '../support/scratch';

const FROM = 'Cohort Import <cohort-import@example.com>';

function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('mailer-test', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

const run: RunView = {
  id: `run_${randomUUID()}`,
  cohort_id: 'coh_1',
  trigger: 'scheduled',
  status: 'succeeded',
  full_resync: false,
  recipients: [],
  created_at: '2026-07-15T13:00:00.000Z',
  started_at: '2026-07-15T13:00:04.000Z',
  finished_at: '2026-07-15T13:02:00.000Z',
  cohort_size: 12_345,
  added: 1_234,
  removed: 56,
  unmatchable: 7,
  failed: 0,
  error: null,
  guardrail: true,
  planned: null,
  hold_reason: null,
};

function runEmail(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  const composed = composeRunEmail({ run, cohortName: 'Compradores lusófonos <VIP>', timezone: 'America/New_York' });
  return {
    to: ['ops@example.com', 'growth@example.org'],
    ...composed,
    messageId: `<${run.id}.completion@cohort-import.local>`,
    ...overrides,
  };
}

/** Checks the parts of a real MIME message against what was sent. */
function expectSameMessage(raw: Buffer, sent: OutgoingEmail) {
  const parsed = parseMimeMessage(raw);
  expect(parsed.header('to')).toBe(sent.to.join(', '));
  expect(parsed.header('from')).toBe(FROM);
  expect(parsed.header('subject')).toBe(sent.subject);
  expect(parsed.header('message-id')).toBe(sent.messageId);
  const text = parsed.parts.find((p) => p.contentType === 'text/plain');
  const html = parsed.parts.find((p) => p.contentType === 'text/html');
  expect(text?.body.replace(/\r\n/g, '\n')).toContain(sent.text);
  expect(html?.body.replace(/\r\n/g, '\n')).toContain(sent.html);
}

describe('createMailer over SMTP', () => {
  let smtp: InProcessSmtpServer | undefined;
  let mailer: Mailer | undefined;

  afterEach(async () => {
    await mailer?.close();
    await smtp?.close();
    mailer = undefined;
    smtp = undefined;
  });

  it('delivers the message with its recipients, subject, Message-ID and both parts', async () => {
    smtp = await startSmtpServer();
    const { log } = capturedLog();
    mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${smtp.port}`, from: FROM, outboxDir: '/nonexistent', log });
    const message = runEmail();

    await expect(mailer.send(message)).resolves.toEqual({ via: 'smtp' });

    expect(smtp.received).toHaveLength(1);
    const [delivered] = smtp.received;
    expect(delivered!.rcptTo).toEqual(message.to);
    expect(delivered!.mailFrom).toBe('cohort-import@example.com');
    expect(message.subject).toContain('−56');
    expectSameMessage(delivered!.raw, message);
  });

  it('keeps one pooled connection open for consecutive messages', async () => {
    smtp = await startSmtpServer();
    mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
    });

    await mailer.send(runEmail({ messageId: '<first@cohort-import.local>' }));
    await mailer.send(runEmail({ messageId: '<second@cohort-import.local>' }));

    expect(smtp.received.map((m) => parseMimeMessage(m.raw).header('message-id'))).toEqual([
      '<first@cohort-import.local>',
      '<second@cohort-import.local>',
    ]);
    expect(smtp.connections).toBe(1);
  });

  it('rejects when the server refuses the recipients (451), and a later attempt succeeds', async () => {
    let refusals = 1;
    smtp = await startSmtpServer({
      faults: { rcptTo: () => (refusals-- > 0 ? { code: 451, message: 'Try again later' } : undefined) },
    });
    mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
    });
    const message = runEmail({ to: ['ops@example.com'] });

    await expect(mailer.send(message)).rejects.toMatchObject({
      responseCode: 451,
      message: expect.stringContaining('Try again later'),
    });
    expect(smtp.received).toHaveLength(0);

    await expect(mailer.send(message)).resolves.toEqual({ via: 'smtp' });
    expect(smtp.received).toHaveLength(1);
  });

  it('rejects when the server refuses the message after DATA', async () => {
    smtp = await startSmtpServer({ faults: { data: () => ({ code: 554, message: 'Message rejected as spam' }) } });
    mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
    });

    await expect(mailer.send(runEmail())).rejects.toMatchObject({ responseCode: 554 });
    expect(smtp.received).toHaveLength(0);
  });

  it('counts a message as sent when only some recipients are refused, and warns', async () => {
    smtp = await startSmtpServer({
      faults: {
        rcptTo: (address) =>
          address.address === 'gone@example.com' ? { code: 550, message: 'No such user' } : undefined,
      },
    });
    const { log, lines } = capturedLog();
    mailer = createMailer({ smtpUrl: `smtp://127.0.0.1:${smtp.port}`, from: FROM, outboxDir: '/nonexistent', log });

    await expect(mailer.send(runEmail({ to: ['ops@example.com', 'gone@example.com'] }))).resolves.toEqual({
      via: 'smtp',
    });

    expect(smtp.received.map((m) => m.rcptTo)).toEqual([['ops@example.com']]);
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, rejected: 1, accepted: 1 }));
  });

  it('refuses a message without recipients before connecting', async () => {
    smtp = await startSmtpServer();
    mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
    });

    await expect(mailer.send(runEmail({ to: [] }))).rejects.toThrow(/no recipients/);
    expect(smtp.connections).toBe(0);
  });

  it('uses TLS from the start for smtps:// URLs', async () => {
    smtp = await startSmtpServer({ secure: true });
    // The in-process server's certificate is self-signed; the URL's query passes TLS options through.
    mailer = createMailer({
      smtpUrl: `smtps://127.0.0.1:${smtp.port}/?tls.rejectUnauthorized=false`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
    });

    await mailer.send(runEmail());

    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.secure).toBe(true);
  });

  it('speaks plain SMTP for smtp:// URLs, so an smtps:// URL against a plain server fails', async () => {
    smtp = await startSmtpServer({ secure: false });
    mailer = createMailer({
      smtpUrl: `smtps://127.0.0.1:${smtp.port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
      timeoutMs: 2_000,
    });

    await expect(mailer.send(runEmail())).rejects.toThrow();
    expect(smtp.received).toHaveLength(0);
  });
});

describe('createMailer against a server that never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeEach(async () => {
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  // nodemailer's own defaults would wait 30 s for a greeting; the test's time limit catches that.
  it('gives up after the timeout instead of waiting for the greeting forever', { timeout: 5_000 }, async () => {
    const { port } = silent.address() as AddressInfo;
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: FROM,
      outboxDir: '/nonexistent',
      log: capturedLog().log,
      timeoutMs: 300,
    });
    try {
      await expect(mailer.send(runEmail())).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      await mailer.close();
    }
  });
});

describe('createMailer without SMTP: the outbox', () => {
  let root: string;

  beforeEach(() => {
    root = scratchDir('outbox');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a parsable .eml into a folder it creates and logs the path', async () => {
    const outboxDir = join(root, 'data', 'outbox');
    const { log, lines } = capturedLog();
    const mailer = createMailer({ smtpUrl: '', from: FROM, outboxDir, log });
    const message = runEmail();

    const result = await mailer.send(message);

    expect(result.via).toBe('file');
    expect(result.path).toBe(join(outboxDir, `${run.id}.completion_cohort-import.local.eml`));
    expect(await readdir(outboxDir)).toEqual([`${run.id}.completion_cohort-import.local.eml`]);
    const raw = await readFile(result.path!);
    expect(raw.includes('\r\n')).toBe(true);
    expectSameMessage(raw, message);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 30, path: result.path, messageId: message.messageId }),
    );
    await mailer.close();
  });

  it('writes a resend of the same message over the same file', async () => {
    const mailer = createMailer({ smtpUrl: '', from: FROM, outboxDir: root, log: capturedLog().log });

    const first = await mailer.send(runEmail({ subject: 'first attempt' }));
    const second = await mailer.send(runEmail({ subject: 'second attempt' }));

    expect(second.path).toBe(first.path);
    expect(await readdir(root)).toHaveLength(1);
    expect(parseMimeMessage(await readFile(second.path!)).header('subject')).toBe('second attempt');
  });

  it('keeps a hostile message id inside the outbox folder', async () => {
    const mailer = createMailer({ smtpUrl: '', from: FROM, outboxDir: root, log: capturedLog().log });

    const { path } = await mailer.send(runEmail({ messageId: '<../../etc/passwd@x>' }));

    expect(path).toBe(join(root, 'etc_passwd_x.eml'));
    expect(await readdir(root)).toEqual(['etc_passwd_x.eml']);
  });
});

describe('outboxFileName', () => {
  it.each([
    ['<run_01J.completion@cohort-import.local>', 'run_01J.completion_cohort-import.local.eml'],
    ['plain-id', 'plain-id.eml'],
    ['<a b/c\\d:e>', 'a_b_c_d_e.eml'],
  ])('%s → %s', (messageId, fileName) => {
    expect(outboxFileName(messageId)).toBe(fileName);
  });

  it('invents a name when nothing safe is left', () => {
    expect(outboxFileName('<@@@>')).toMatch(/^message-\d+-[0-9a-f-]{36}\.eml$/);
  });
});
