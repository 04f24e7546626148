// R2 event notifications (as delivered to a queue) and the inbox key that names a job's owner and model.
import { z } from 'zod';
import { sha256Hex } from '../runtime/ids';

export const notificationSchema = z.object({
  account: z.string(),
  action: z.string(),
  bucket: z.string(),
  object: z.object({ key: z.string(), size: z.number().optional(), eTag: z.string().optional() }),
  eventTime: z.string(),
  copySource: z.object({ bucket: z.string(), object: z.string() }).partial().optional(),
});

export type R2Notification = z.infer<typeof notificationSchema>;

const CREATE_ACTIONS = new Set(['PutObject', 'CompleteMultipartUpload', 'CopyObject']);

export const isCreate = (n: R2Notification) => CREATE_ACTIONS.has(n.action);

export interface InboxKey {
  consumer: string;
  model: string;
  file: string;
}

const INBOX = /^inbox\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\/([^/]{1,200})$/;

/** `inbox/<consumer>/<model>/<file>`, or undefined for keys outside the inbox layout. */
export function parseInboxKey(key: string): InboxKey | undefined {
  const match = INBOX.exec(key);
  return match ? { consumer: match[1]!, model: match[2]!, file: match[3]! } : undefined;
}

/** One job per uploaded object version and model: a re-delivered notification maps to the same job. */
export async function jobIdFor(bucket: string, key: string, eTag: string): Promise<string> {
  return (await sha256Hex(`${bucket}\n${key}\n${eTag}`)).slice(0, 32);
}
