// Objects that delete all their storage when they end create their tables lazily; reading must not need them.
export function storedRow<T extends Record<string, SqlStorageValue>>(sql: SqlStorage, table: string): T | undefined {
  const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", table).toArray().length > 0;
  return exists ? sql.exec<T>(`SELECT * FROM ${table}`).toArray()[0] : undefined;
}
