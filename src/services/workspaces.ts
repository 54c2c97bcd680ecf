import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, asc, count, eq, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { ConflictError, NotFoundError } from './errors';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Live (unrevoked) tokens a workspace may hold: the old and the new one during a rotation. */
export const MAX_LIVE_TOKENS = 2;

export interface IssuedToken {
  id: string;
  api_token: string;
  created_at: string;
}

export interface TokenView {
  id: string;
  created_at: string;
  revoked_at: string | null;
}

function newToken(): string {
  return `ci_${randomBytes(24).toString('base64url')}`;
}

export class WorkspaceService {
  constructor(private readonly db: ControlDb) {}

  /** Creates a workspace and its first API token; the token is returned once and only hashed at rest. */
  async create(name: string): Promise<{ id: string; name: string; api_token: string; created_at: string }> {
    const { workspaces, apiTokens } = this.db.tables;
    const id = randomUUID();
    const token = newToken();
    const createdAt = new Date();
    await this.db.insert(workspaces).values({ id, name, createdAt });
    try {
      await this.db
        .insert(apiTokens)
        .values({ id: randomUUID(), workspaceId: id, tokenHash: hashToken(token), createdAt });
    } catch (err) {
      // No workspace without its token: the caller never learns of it, so take it back.
      await this.db.delete(workspaces).where(eq(workspaces.id, id));
      throw err;
    }
    return { id, name, api_token: token, created_at: createdAt.toISOString() };
  }

  /**
   * A further token for a rotation; the token is returned once. Inserted first and counted after,
   * so two concurrent issues can never leave three live tokens: one past the limit is taken back
   * before anyone has seen it (both may be refused in a race; the caller asks again).
   */
  async issueToken(workspaceId: string): Promise<IssuedToken> {
    const { apiTokens } = this.db.tables;
    if (!(await this.exists(workspaceId))) throw new NotFoundError('Workspace');
    const id = randomUUID();
    const token = newToken();
    const createdAt = new Date();
    await this.db.insert(apiTokens).values({ id, workspaceId, tokenHash: hashToken(token), createdAt });
    const [live] = await this.db
      .select({ n: count() })
      .from(apiTokens)
      .where(and(eq(apiTokens.workspaceId, workspaceId), isNull(apiTokens.revokedAt)));
    if (Number(live!.n) > MAX_LIVE_TOKENS) {
      await this.db.delete(apiTokens).where(eq(apiTokens.id, id));
      throw new ConflictError(
        'token_limit',
        `A workspace holds at most ${MAX_LIVE_TOKENS} live tokens; revoke the old one (DELETE /v1/workspaces/${workspaceId}/tokens/<id>) before issuing another.`,
        { limit: MAX_LIVE_TOKENS },
      );
    }
    return { id, api_token: token, created_at: createdAt.toISOString() };
  }

  /** Revokes a token at once (no cache outlives it); revoking a revoked token changes nothing. */
  async revokeToken(workspaceId: string, tokenId: string): Promise<void> {
    const { apiTokens } = this.db.tables;
    if (!(await this.exists(workspaceId))) throw new NotFoundError('Workspace');
    const ofWorkspace = and(eq(apiTokens.id, tokenId), eq(apiTokens.workspaceId, workspaceId));
    const revoked = await this.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(ofWorkspace, isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (revoked.length > 0) return;
    const [known] = await this.db.select({ id: apiTokens.id }).from(apiTokens).where(ofWorkspace).limit(1);
    if (!known) throw new NotFoundError('Token');
  }

  /** The workspace's tokens, oldest first: ids and dates, never a token or its hash. */
  async listTokens(workspaceId: string): Promise<TokenView[]> {
    const { apiTokens } = this.db.tables;
    if (!(await this.exists(workspaceId))) throw new NotFoundError('Workspace');
    const rows = await this.db
      .select({ id: apiTokens.id, createdAt: apiTokens.createdAt, revokedAt: apiTokens.revokedAt })
      .from(apiTokens)
      .where(eq(apiTokens.workspaceId, workspaceId))
      .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
    return rows.map((r) => ({
      id: r.id,
      created_at: r.createdAt.toISOString(),
      revoked_at: r.revokedAt ? r.revokedAt.toISOString() : null,
    }));
  }

  /** The workspace a bearer token belongs to, or null. */
  async authenticate(token: string): Promise<{ workspaceId: string } | null> {
    const { apiTokens } = this.db.tables;
    const [row] = await this.db
      .select({ workspaceId: apiTokens.workspaceId })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)))
      .limit(1);
    return row ?? null;
  }

  async exists(id: string): Promise<boolean> {
    const { workspaces } = this.db.tables;
    const rows = await this.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, id)).limit(1);
    return rows.length > 0;
  }
}
