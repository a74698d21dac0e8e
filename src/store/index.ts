// The store's public surface: what the CLI, the server and the demo use.
export type * from './types.js';
export { LOG_BASES, LOG_EVENTS, LOG_OUTCOMES, PROGRAMME_PRICINGS } from './types.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/store.js';
export {
  DataDirError,
  DB_FILE,
  initDataDir,
  loadServerSecrets,
  openDataDirStore,
  type ServerSecrets,
} from './data-dir.js';
export {
  AdminError,
  createProgramme,
  createService,
  DEFAULT_CRYPTO_PERIOD_MS,
  DEFAULT_MKI_LENGTH_BYTES,
  DEFAULT_SEGMENT_LENGTH_MS,
  DEFAULT_SERVER_URL,
  enrolClient,
  grantSegments,
  grantSubscription,
  isMulticastGroup,
  isPeriod,
  periodOf,
  type EnrolInput,
  type ProgrammeInput,
} from './admin.js';
export { exportContentKeys, mkiHex, type ExportedContentKey, type KeysExport } from './keys-export.js';
export {
  canonicalLogRecord,
  GENESIS_HASH,
  logRecordHash,
  verifyLog,
  type VerifyLogResult,
} from './log-chain.js';
export {
  openClientKey,
  openContentKey,
  openSegmentKey,
  openServiceKey,
  sealContentKey,
  sealSegmentKey,
  sealServiceKey,
  VaultError,
} from './vault.js';
