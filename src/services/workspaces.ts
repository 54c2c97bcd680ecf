import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class WorkspaceService {
  constructor(private readonly db: ControlDb) {}

  /** Creates a workspace and its first API token; the token is returned once and only hashed at rest. */
  async create(name: string): Promise<{ id: string; name: string; api_token: string; created_at: string }> {
    const { workspaces, apiTokens } = this.db.tables;
    const id = randomUUID();
    const token = `ci_${randomBytes(24).toString('base64url')}`;
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
