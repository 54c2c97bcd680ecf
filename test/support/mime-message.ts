/**
 * Just enough of RFC 5322 / MIME to read back what nodemailer writes: unfolded headers with
 * RFC 2047 encoded words decoded, nested multiparts, and base64 / quoted-printable bodies.
 * No mail parser is installed, and the tests only need the headers and the text parts.
 */
export interface MimeMessage {
  /** Lower-case header name → decoded values, in order. */
  headers: Map<string, string[]>;
  header(name: string): string | undefined;
  /** Leaf parts, depth first. */
  parts: MimePart[];
}

export interface MimePart {
  contentType: string;
  body: string;
}

export function parseMimeMessage(raw: string | Buffer): MimeMessage {
  const { headers, body } = splitEntity(typeof raw === 'string' ? raw : raw.toString('utf8'));
  return {
    headers,
    header: (name) => headers.get(name.toLowerCase())?.[0],
    parts: leafParts(headers, body),
  };
}

function splitEntity(entity: string): { headers: Map<string, string[]>; body: string } {
  const normalised = entity.replace(/\r\n/g, '\n');
  const blank = normalised.indexOf('\n\n');
  const head = blank === -1 ? normalised : normalised.slice(0, blank);
  const body = blank === -1 ? '' : normalised.slice(blank + 2);
  const headers = new Map<string, string[]>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = decodeEncodedWords(line.slice(colon + 1).trim());
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  return { headers, body };
}

function leafParts(headers: Map<string, string[]>, body: string): MimePart[] {
  const contentType = headers.get('content-type')?.[0] ?? 'text/plain';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) throw new Error(`multipart without a boundary: ${contentType}`);
    const sections = body.split(`--${boundary}`).slice(1);
    return sections
      .filter((s) => !s.startsWith('--'))
      .flatMap((s) => {
        const part = splitEntity(s.replace(/^\n/, ''));
        return leafParts(part.headers, part.body);
      });
  }
  const encoding = (headers.get('content-transfer-encoding')?.[0] ?? '7bit').toLowerCase();
  return [{ contentType: mediaType, body: decodeBody(body, encoding) }];
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function decodeQuotedPrintable(s: string): string {
  return quotedPrintableBytes(s.replace(/=\n/g, '')).toString('utf8');
}

function quotedPrintableBytes(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const hex = s.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

const encodedWord = /=\?[^?]+\?([BbQq])\?([^?]*)\?=/g;

/** Adjacent encoded words are joined as bytes first: a character may be split across two. */
function decodeEncodedWords(value: string): string {
  return value.replace(/=\?[^?]+\?[BbQq]\?[^?]*\?=(?:\s+=\?[^?]+\?[BbQq]\?[^?]*\?=)*/g, (run) =>
    Buffer.concat(
      [...run.matchAll(encodedWord)].map(([, kind, text]) =>
        kind!.toUpperCase() === 'B' ? Buffer.from(text!, 'base64') : quotedPrintableBytes(text!.replace(/_/g, ' ')),
      ),
    ).toString('utf8'),
  );
}
