// Triton's sequence extension parameters on a request: sequence_id, sequence_start, sequence_end.
import { badRequest } from './errors';
import type { Parameters } from './protocol';

export interface SequenceFlags {
  sequenceId: string | number;
  start: boolean;
  end: boolean;
}

/** The sequence parameters of a request, or undefined when it is not part of a sequence. */
export function sequenceFlags(parameters: Parameters | undefined): SequenceFlags | undefined {
  const id = parameters?.sequence_id;
  const { sequence_start: start = false, sequence_end: end = false } = parameters ?? {};
  if (id === undefined) {
    if (start !== false || end !== false) throw badRequest('parameters.sequence_start and sequence_end need parameters.sequence_id');
    return undefined;
  }
  const validId = (typeof id === 'string' && id.length > 0 && id.length <= 128) || (Number.isSafeInteger(id) && id !== 0);
  if (!validId) throw badRequest('parameters.sequence_id must be a non-zero integer or a string of 1-128 characters');
  if (typeof start !== 'boolean') throw badRequest('parameters.sequence_start must be true or false');
  if (typeof end !== 'boolean') throw badRequest('parameters.sequence_end must be true or false');
  return { sequenceId: id as string | number, start, end };
}
