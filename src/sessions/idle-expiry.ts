// Sessions and sequences expire when idle: their alarm erases them once the idle time has passed since the last call.
export async function expireIfIdle(
  storage: DurableObjectStorage,
  row: { last_active: number; idle_timeout: number } | undefined,
  erase: () => Promise<void>,
): Promise<void> {
  if (!row) return;
  const due = row.last_active + row.idle_timeout * 1000;
  // A call since the alarm was set moved the deadline: wait for the new one.
  if (Date.now() < due) return storage.setAlarm(due);
  await erase();
}
