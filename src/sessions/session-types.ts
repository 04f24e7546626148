// What a session object is sent, what it answers, and what it stores.
import type { Rating, RecommendedItem } from './recommender';

export interface SessionStart {
  id: string;
  consumer: string;
  model: string;
  version: string;
  idleTimeoutSeconds: number;
  ratings: Rating[];
  exclude: number[];
}

export type Feedback = { item_id: number; action: 'accept' | 'reject' } | { item_id: number; action: 'rate'; rating: number };

export interface SessionSummary {
  id: string;
  model: string;
  model_version: string;
  created_at: string;
  last_active_at: string;
  expires_at: string;
  ratings: number;
  shown: number;
  history: Step[];
}

export interface Step {
  step: number;
  at: string;
  action: 'start' | 'recommend' | 'try_again' | 'accept' | 'reject' | 'rate' | 'exclude';
  items?: RecommendedItem[];
  item_id?: number;
  rating?: number;
}

export interface Answer {
  id: string;
  model_name: string;
  model_version: string;
  step: number;
  items: RecommendedItem[];
}

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
