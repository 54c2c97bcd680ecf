import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, notLike } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { BrazeClient } from '../braze/client';
import { BrazeError, BrazePermanentError } from '../braze/errors';
import type { Config } from '../config';
import { lastFour, type SecretBox } from '../crypto/secret-box';
import {
  type BrazeRegion,
  partnerApiKeyFor,
  restEndpointChoices,
  validateBrazeEndpoint,
} from '../domain/braze-endpoint';
import { NotFoundError, RefusedFieldError, UpstreamError, ValidationError } from './errors';

export interface BrazeConnectionView {
  rest_endpoint: string;
  region: 'US' | 'EU' | 'AU';
  data_import_key: string;
  /** When Braze last accepted the key; null when it was saved with `?verify=false` and not checked since. */
  key_verified_at: string | null;
  created_at: string;
  updated_at: string;
}

/** What `resealAll` did; it names keys by id only. */
export interface ResealReport {
  /** The id of the key everything is now sealed with. */
  keyId: string;
  resealed: number;
  /** Rows saved anew (PUT) between the read and the update: already sealed with the newest key. */
  changedMeanwhile: number;
  unreadable: { workspaceId: string; reason: string }[];
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

  private async row(workspaceId: string) {
    const { brazeConnections } = this.db.tables;
    const [row] = await this.db
      .select()
      .from(brazeConnections)
      .where(eq(brazeConnections.workspaceId, workspaceId))
      .limit(1);
    return row;
  }

  /** Saves the connection; unless `verify` is false, only after Braze accepted the key. */
  async put(
    workspaceId: string,
    input: { rest_endpoint: string; data_import_key: string },
    opts: { verify: boolean } = { verify: true },
  ): Promise<BrazeConnectionView> {
    const { brazeConnections } = this.db.tables;
    const endpoint = validateBrazeEndpoint(input.rest_endpoint, this.braze.endpointAllowlist);
    if (!endpoint.ok) throw new ValidationError([{ path: 'rest_endpoint', message: endpoint.message }]);
    if (!KEY_PATTERN.test(input.data_import_key)) {
      throw new ValidationError([
        { path: 'data_import_key', message: 'must be 8 to 256 printable characters without spaces, as shown by Braze' },
      ]);
    }
    if (opts.verify) await this.checkKeys(endpoint.endpoint, endpoint.region, input.data_import_key);
    const now = new Date();
    const existing = await this.row(workspaceId);
    // Same endpoint: Braze still knows what we told it. New endpoint: start over (full import).
    const syncScope = existing && existing.restEndpoint === endpoint.endpoint ? existing.syncScope : randomUUID();
    const values = {
      workspaceId,
      restEndpoint: endpoint.endpoint,
      region: endpoint.region,
      dataImportKeySealed: this.box.seal(input.data_import_key, workspaceId),
      dataImportKeyLast4: lastFour(input.data_import_key),
      syncScope,
      keyVerifiedAt: opts.verify ? now : null,
      updatedAt: now,
    };
    await this.db
      .insert(brazeConnections)
      .values({ ...values, createdAt: now })
      .onConflictDoUpdate({ target: brazeConnections.workspaceId, set: values });
    return this.get(workspaceId);
  }

  async exists(workspaceId: string): Promise<boolean> {
    return (await this.row(workspaceId)) !== undefined;
  }

  /** The scope what Braze was told is recorded under (no key opened): for a plan's diff. */
  async syncScope(workspaceId: string): Promise<string | undefined> {
    return (await this.row(workspaceId))?.syncScope;
  }

  async get(workspaceId: string): Promise<BrazeConnectionView> {
    const row = await this.row(workspaceId);
    if (!row) throw new NotFoundError('Braze connection');
    return {
      rest_endpoint: row.restEndpoint,
      region: row.region,
      data_import_key: `…${row.dataImportKeyLast4}`,
      key_verified_at: row.keyVerifiedAt?.toISOString() ?? null,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  }

  /** Checks the saved key with Braze again and records when it passed. */
  async verify(workspaceId: string): Promise<BrazeConnectionView> {
    const { brazeConnections } = this.db.tables;
    const row = await this.row(workspaceId);
    if (!row) throw new NotFoundError('Braze connection');
    await this.checkKeys(row.restEndpoint, row.region, this.openKey(row.dataImportKeySealed, workspaceId));
    await this.db
      .update(brazeConnections)
      .set({ keyVerifiedAt: new Date() })
      .where(eq(brazeConnections.workspaceId, workspaceId));
    return this.get(workspaceId);
  }

  /** One call to Braze that changes nothing; a refusal becomes the API error naming what to fix. */
  private async checkKeys(endpoint: string, region: BrazeRegion, dataImportKey: string): Promise<void> {
    try {
      await this.client(endpoint, region, dataImportKey, this.braze.keyCheckTimeoutMs).checkKeys();
    } catch (err) {
      if (err instanceof BrazeError) throw keyCheckFailure(err);
      throw err;
    }
  }

  /** The REST endpoints `put` accepts, for a client to offer as a list. */
  endpoints() {
    return { data: restEndpointChoices(this.braze.endpointAllowlist) };
  }

  async delete(workspaceId: string): Promise<void> {
    const { brazeConnections } = this.db.tables;
    const deleted = await this.db
      .delete(brazeConnections)
      .where(eq(brazeConnections.workspaceId, workspaceId))
      .returning({ workspaceId: brazeConnections.workspaceId });
    if (deleted.length === 0) throw new NotFoundError('Braze connection');
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

  /**
   * Seals every stored data import key again with the newest encryption key, row by row: each row
   * is one conditional UPDATE (it applies only if the row still holds what was read, so a PUT in
   * between wins), hence safe beside running processes, resumable after a crash and a no-op the
   * second time. A key that opens with none of the configured keys is listed and left alone.
   */
  async resealAll(batchSize = 100): Promise<ResealReport> {
    const { brazeConnections: bc } = this.db.tables;
    const report: ResealReport = { keyId: this.box.currentKeyId, resealed: 0, changedMeanwhile: 0, unreadable: [] };
    let after = '';
    for (;;) {
      const rows = await this.db
        .select({ workspaceId: bc.workspaceId, sealed: bc.dataImportKeySealed })
        .from(bc)
        .where(and(gt(bc.workspaceId, after), notLike(bc.dataImportKeySealed, `v2.${this.box.currentKeyId}.%`)))
        .orderBy(asc(bc.workspaceId))
        .limit(batchSize);
      for (const row of rows) {
        let plaintext: string;
        try {
          plaintext = this.box.open(row.sealed, row.workspaceId);
        } catch (err) {
          report.unreadable.push({ workspaceId: row.workspaceId, reason: (err as Error).message });
          continue;
        }
        const updated = await this.db
          .update(bc)
          .set({ dataImportKeySealed: this.box.seal(plaintext, row.workspaceId) })
          .where(and(eq(bc.workspaceId, row.workspaceId), eq(bc.dataImportKeySealed, row.sealed)))
          .returning({ workspaceId: bc.workspaceId });
        if (updated.length > 0) report.resealed += 1;
        else report.changedMeanwhile += 1;
      }
      if (rows.length < batchSize) return report;
      after = rows[rows.length - 1]!.workspaceId;
    }
  }

  /** A client holding the decrypted key, for a worker about to talk to Braze. */
  async forRun(workspaceId: string): Promise<ConnectionForRun> {
    const row = await this.row(workspaceId);
    if (!row) {
      throw new BrazePermanentError(
        'This workspace has no Braze connection: save one with PUT /v1/braze-connection.',
        null,
      );
    }
    const dataImportKey = this.openKey(row.dataImportKeySealed, workspaceId);
    const client = this.client(row.restEndpoint, row.region, dataImportKey, this.braze.requestTimeoutMs);
    return { client, syncScope: row.syncScope };
  }

  private client(endpoint: string, region: BrazeRegion, dataImportKey: string, timeoutMs: number): BrazeClient {
    const partnerKey = partnerApiKeyFor(region, this.braze.partnerApiKeys);
    if (!partnerKey) {
      const variable = region === 'AU' ? 'BRAZE_PARTNER_API_KEY_AU or _US' : `BRAZE_PARTNER_API_KEY_${region}`;
      throw new BrazePermanentError(
        `No partner API key is configured for Braze's ${region} region: the operator should set ${variable}.`,
        null,
        'partner_api_key',
      );
    }
    return new BrazeClient({
      endpoint,
      partner: this.braze.partner,
      partnerApiKey: partnerKey.key,
      partnerApiKeyVariable: partnerKey.variable,
      dataImportKey,
      userAgent: this.braze.userAgent,
      timeoutMs,
    });
  }
}

/** What the API answers when the key check fails: 422 naming the field to fix, or 502. */
function keyCheckFailure(err: BrazeError): Error {
  if (err instanceof BrazePermanentError) {
    switch (err.refusal) {
      case 'data_import_key':
      case 'account':
        return new RefusedFieldError(`braze_refused_${err.refusal === 'account' ? 'account' : 'key'}`, {
          path: 'data_import_key',
          message: err.message,
        });
      case 'endpoint':
        return new RefusedFieldError('braze_refused_endpoint', { path: 'rest_endpoint', message: err.message });
      case 'partner_api_key':
        // No key configured for the endpoint's region: the endpoint cannot be used from here.
        if (err.status === null) {
          return new RefusedFieldError('braze_region_unavailable', { path: 'rest_endpoint', message: err.message });
        }
        return new UpstreamError('braze_refused_partner_key', err.message);
      default:
        return new UpstreamError('braze_error', `Braze refused the key check: ${err.message}`);
    }
  }
  return new UpstreamError(
    'braze_unavailable',
    `Braze could not check the key (${err.message}). Try again, or save the connection without the check with ?verify=false.`,
  );
}
