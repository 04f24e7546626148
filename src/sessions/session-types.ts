// What a session object is sent, what it answers, and what it stores. Answers are zod schemas so
// that the API document is generated from the same definitions as the types.
import { z } from 'zod';

export const itemIdSchema = z.int().positive();
export const ratingSchema = z.object({ item_id: itemIdSchema, rating: z.number().min(0.5).max(5) });
export type Rating = z.infer<typeof ratingSchema>;

export const recommendedItemSchema = z.object({ item_id: z.int(), title: z.string(), score: z.number() });
export type RecommendedItem = z.infer<typeof recommendedItemSchema>;

export interface SessionStart {
  id: string;
  consumer: string;
  model: string;
  version: string;
  idleTimeoutSeconds: number;
  ratings: Rating[];
  exclude: number[];
}

export const feedbackSchema = z.discriminatedUnion('action', [
  z.object({ action: z.enum(['accept', 'reject']), item_id: itemIdSchema }),
  z.object({ action: z.literal('rate'), item_id: itemIdSchema, rating: z.number().min(0.5).max(5) }),
]);
export type Feedback = z.infer<typeof feedbackSchema>;

export const stepSchema = z.object({
  step: z.int(),
  at: z.iso.datetime(),
  action: z.enum(['start', 'recommend', 'try_again', 'accept', 'reject', 'rate', 'exclude']),
  items: z.array(recommendedItemSchema).optional(),
  item_id: z.int().optional(),
  rating: z.number().optional(),
});
export type Step = z.infer<typeof stepSchema>;

export const sessionSummarySchema = z.object({
  id: z.string(),
  model: z.string(),
  model_version: z.string(),
  created_at: z.iso.datetime(),
  last_active_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  ratings: z.int(),
  shown: z.int(),
  history: z.array(stepSchema),
});
export type SessionSummary = z.infer<typeof sessionSummarySchema>;

export const answerSchema = z.object({
  id: z.string(),
  model_name: z.string(),
  model_version: z.string(),
  step: z.int(),
  items: z.array(recommendedItemSchema),
});
export type Answer = z.infer<typeof answerSchema>;

export const sessionListingSchema = z.object({ id: z.string(), model: z.string(), model_version: z.string(), created_at: z.iso.datetime() });
export type SessionListing = z.infer<typeof sessionListingSchema>;

export interface SessionRow extends Record<string, SqlStorageValue> {
  id: string;
  consumer: string;
  model: string;
  version: string;
  created_at: number;
  last_active: number;
  idle_timeout: number;
}

export interface EventRow extends Record<string, SqlStorageValue> {
  step: number;
  at: number;
  action: Step['action'];
  item_id: number | null;
  title: string | null;
  score: number | null;
  rating: number | null;
}
