// A model version with its ORT session and its tensor metadata, read from the ONNX graph itself.
import { datatypeOfOrt, type DatatypeName } from './datatypes';
import { badRequest } from './errors';
import type { ModelConfig } from './model-config';
import type { ModelVersion } from './model-repository';
import { createSession, type OrtSession } from './ort';

export interface TensorSpec {
  name: string;
  datatype: DatatypeName;
  /** -1 marks a dynamic dimension. */
  shape: number[];
}

/** What a model is, without its session: what callers outside the data plane may see. */
export interface ModelInfo {
  name: string;
  version: string;
  config: ModelConfig;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface LoadedModel extends ModelInfo {
  session: OrtSession;
}

type ValueMetadata = OrtSession['inputMetadata'][number];

function specOf(meta: ValueMetadata, role: string): TensorSpec {
  const datatype = meta.isTensor ? datatypeOfOrt(meta.type) : undefined;
  if (!meta.isTensor || !datatype) {
    throw badRequest(`${role} '${meta.name}' is ${meta.isTensor ? `a ${meta.type} tensor` : 'not a tensor'}, which the protocol cannot carry`);
  }
  return { name: meta.name, datatype, shape: meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

/** Creates the session; a file ORT cannot load, or whose tensors the protocol cannot carry, is a 400. */
export async function loadModel(version: ModelVersion): Promise<LoadedModel> {
  const bytes = await version.bytes();
  let session: OrtSession;
  try {
    session = await createSession(bytes);
  } catch (error) {
    throw badRequest(`model '${version.name}' version ${version.version} cannot be loaded by ONNX Runtime: ${String(error).slice(0, 300)}`);
  }
  try {
    return {
      name: version.name,
      version: version.version,
      config: version.config,
      session,
      inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
      outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
    };
  } catch (error) {
    await session.release();
    throw error;
  }
}
