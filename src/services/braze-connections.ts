import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { brazeConnections } from '../../db/schema';
import { BrazeClient } from '../braze/client';
import { BrazePermanentError } from '../braze/errors';
import type { Config } from '../config';
import { lastFour, type SecretBox } from '../crypto/secret-box';
import { restEndpointChoices, validateBrazeEndpoint } from '../domain/braze-endpoint';
import { NotFoundError, ValidationError } from './errors';

export interface BrazeConnectionView {
  rest_endpoint: string;
  region: 'US' | 'EU' | 'AU';
  data_import_key: string;
  created_at: string;
  updated_at: string;
}

export interface ConnectionForRun {
  client: BrazeClient;
  syncScope: string;
}

const KEY_PATTERN = /^[\x21-\x7e]{8,256}$/;

export class BrazeConnectionService {
  constructor(
    private readonly db: ControlDb,
    private readonly box: SecretBox,
    private readonly braze: Config['braze'],
  ) {}

  put(workspaceId: string, input: { rest_endpoint: string; data_import_key: string }): BrazeConnectionView {
    const endpoint = validateBrazeEndpoint(input.rest_endpoint, this.braze.endpointAllowlist);
    if (!endpoint.ok) throw new ValidationError([{ path: 'rest_endpoint', message: endpoint.message }]);
    if (!KEY_PATTERN.test(input.data_import_key)) {
      throw new ValidationError([
        { path: 'data_import_key', message: 'must be 8 to 256 printable characters without spaces, as shown by Braze' },
      ]);
    }
    const now = new Date();
    const existing = this.db.select().from(brazeConnections).where(eq(brazeConnections.workspaceId, workspaceId)).get();
    // Same endpoint: Braze still knows what we told it. New endpoint: start over (full import).
    const syncScope = existing && existing.restEndpoint === endpoint.endpoint ? existing.syncScope : randomUUID();
    const values = {
      workspaceId,
      restEndpoint: endpoint.endpoint,
      region: endpoint.region,
      dataImportKeySealed: this.box.seal(input.data_import_key, workspaceId),
      dataImportKeyLast4: lastFour(input.data_import_key),
      syncScope,
      updatedAt: now,
    };
    this.db
      .insert(brazeConnections)
      .values({ ...values, createdAt: now })
      .onConflictDoUpdate({ target: brazeConnections.workspaceId, set: values })
      .run();
    return this.get(workspaceId);
  }

  get(workspaceId: string): BrazeConnectionView {
    const row = this.db.select().from(brazeConnections).where(eq(brazeConnections.workspaceId, workspaceId)).get();
    if (!row) throw new NotFoundError('Braze connection');
    return {
      rest_endpoint: row.restEndpoint,
      region: row.region,
      data_import_key: `…${row.dataImportKeyLast4}`,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  }

  /** The REST endpoints `put` accepts, for a client to offer as a list. */
  endpoints() {
    return { data: restEndpointChoices(this.braze.endpointAllowlist) };
  }

  delete(workspaceId: string): void {
    const res = this.db.delete(brazeConnections).where(eq(brazeConnections.workspaceId, workspaceId)).run();
    if (res.changes === 0) throw new NotFoundError('Braze connection');
  }

  /** Decrypted keys by their sealed form: a new key is a new entry, so a change applies at once. */
  private readonly openedKeys = new Map<string, string>();

  private openKey(sealed: string, workspaceId: string): string {
    const cacheKey = `${workspaceId}/${sealed}`;
    let key = this.openedKeys.get(cacheKey);
    if (key === undefined) {
      key = this.box.open(sealed, workspaceId);
      if (this.openedKeys.size >= 1000) this.openedKeys.clear();
      this.openedKeys.set(cacheKey, key);
    }
    return key;
  }

  /** A client holding the decrypted key, for a worker about to talk to Braze. */
  forRun(workspaceId: string): ConnectionForRun {
    const row = this.db.select().from(brazeConnections).where(eq(brazeConnections.workspaceId, workspaceId)).get();
    if (!row) {
      throw new BrazePermanentError(
        'This workspace has no Braze connection: save one with PUT /v1/braze-connection.',
        null,
      );
    }
    const partnerApiKey = this.braze.partnerApiKeys[row.region];
    if (!partnerApiKey) {
      throw new BrazePermanentError(`No partner API key is configured for Braze's ${row.region} region.`, null);
    }
    const client = new BrazeClient({
      endpoint: row.restEndpoint,
      partner: this.braze.partner,
      partnerApiKey,
      dataImportKey: this.openKey(row.dataImportKeySealed, workspaceId),
      userAgent: this.braze.userAgent,
      timeoutMs: this.braze.requestTimeoutMs,
    });
    return { client, syncScope: row.syncScope };
  }
}
