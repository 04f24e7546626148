// Triton's sequence extension on /infer: a request with parameters.sequence_id goes to that sequence's object.
import { metrics } from '../metrics/recorder';
import type { DecodedBody } from '../runtime/binary-body';
import type { InferenceResult } from '../runtime/inference';
import { unwrap } from '../runtime/outcome';
import type { SequenceFlags } from '../runtime/sequence-flags';
import { sequenceStub } from './sequence-object';

export async function runSequence(
  env: Env,
  call: { consumer: string; model: string; version?: string; flags: SequenceFlags; decoded: DecodedBody },
): Promise<InferenceResult> {
  const { consumer, model, version, flags, decoded } = call;
  const stub = sequenceStub(env, consumer, model, flags.sequenceId);
  const result = unwrap<InferenceResult>(await stub.step({ model, version, ...flags, request: decoded.request, binary: decoded.binary }));
  // The step succeeded, so `model` is a real model's name.
  if (flags.start) metrics.add('edge_sequences_started_total', { model });
  if (flags.end) metrics.add('edge_sequences_ended_total', { model });
  return result;
}
