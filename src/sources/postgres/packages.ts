import type pg from 'pg';
import { importOptional } from '../../optional-peers.ts';

/** The optional packages the Postgres source needs (optional peer dependencies), loaded on first use. */
export const POSTGRES_PACKAGES = ['pg', 'pg-logical-replication'] as const;
const FEATURE = 'the Postgres source';

export async function loadPg(): Promise<typeof pg> {
  return (await importOptional(FEATURE, POSTGRES_PACKAGES, () => import('pg'))).default;
}

/** What the replication stream needs: the service, and the pgoutput plugin with our value decoding. */
export interface ReplicationPackages {
  readonly LogicalReplicationService: (typeof import('pg-logical-replication'))['LogicalReplicationService'];
  readonly DecodingPgoutputPlugin: (typeof import('./pgoutput-plugin.ts'))['DecodingPgoutputPlugin'];
}

export async function loadReplication(): Promise<ReplicationPackages> {
  const [{ LogicalReplicationService }, { DecodingPgoutputPlugin }] = await Promise.all([
    importOptional(FEATURE, POSTGRES_PACKAGES, () => import('pg-logical-replication')),
    importOptional(FEATURE, POSTGRES_PACKAGES, () => import('./pgoutput-plugin.ts')),
  ]);
  return { LogicalReplicationService, DecodingPgoutputPlugin };
}
