// A model's config.json: what the ONNX graph cannot say (labels, feature names, batch limit).
import { z } from 'zod';

export const modelConfigSchema = z.looseObject({
  description: z.string().optional(),
  platform: z.string().default('onnxruntime_onnx'),
  /** Largest first (batch) dimension accepted; 0 means the model takes no batch dimension. */
  max_batch_size: z.int().nonnegative().default(0),
  labels: z.array(z.string()).optional(),
  features: z.array(z.string()).optional(),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
