import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { apiTokens, workspaces } from '../../db/schema';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class WorkspaceService {
  constructor(private readonly db: ControlDb) {}

  /** Creates a workspace and its first API token; the token is returned once and only hashed at rest. */
  create(name: string): { id: string; name: string; api_token: string; created_at: string } {
    const id = randomUUID();
    const token = `ci_${randomBytes(24).toString('base64url')}`;
    const createdAt = new Date();
    this.db.transaction((tx) => {
      tx.insert(workspaces).values({ id, name, createdAt }).run();
      tx.insert(apiTokens)
        .values({ id: randomUUID(), workspaceId: id, tokenHash: hashToken(token), createdAt })
        .run();
    });
    return { id, name, api_token: token, created_at: createdAt.toISOString() };
  }

  /** The workspace a bearer token belongs to, or null. */
  authenticate(token: string): { workspaceId: string } | null {
    const row = this.db
      .select({ workspaceId: apiTokens.workspaceId })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)))
      .get();
    return row ?? null;
  }

  exists(id: string): boolean {
    return this.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, id)).get() !== undefined;
  }
}
