/** Readiness (SPEC §6): the database and the blob store both answer. */
import type { BlobStore } from '../objects/blob-store.js';
import type { MaintenanceStore } from './maintenance-store.js';

export interface Readiness {
  ready: boolean;
  checks: { database: 'ok' | 'failing'; blob_store: 'ok' | 'failing' };
  /** What the blob store is, for the message of a failing check. */
  blobStore: string;
}

export class HealthService {
  constructor(
    private readonly maintenance: MaintenanceStore,
    private readonly blobs: BlobStore,
    /** Told why a check failed (the log). */
    private readonly warn: (err: unknown, message: string) => void,
  ) {}

  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = { database: 'ok', blob_store: 'ok' };
    await this.maintenance.ping().catch((err: unknown) => {
      this.warn(err, 'readiness: the database does not answer');
      checks.database = 'failing';
    });
    await this.blobs.ping().catch((err: unknown) => {
      this.warn(err, 'readiness: the blob store does not answer');
      checks.blob_store = 'failing';
    });
    return { ready: checks.database === 'ok' && checks.blob_store === 'ok', checks, blobStore: this.blobs.kind };
  }
}
