// Triton's sequence extension on /infer: a request with parameters.sequence_id goes to that sequence's object.
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
  return unwrap(await stub.step({ model, version, ...flags, request: decoded.request, binary: decoded.binary }));
}
