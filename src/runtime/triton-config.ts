// Triton's model configuration extension: the config as Triton's ModelConfig JSON, plus our own fields.
import type { ModelInfo, TensorSpec } from './loaded-model';

const tensorConfig = (batched: boolean) => (spec: TensorSpec) => ({
  name: spec.name,
  data_type: `TYPE_${spec.datatype === 'BYTES' ? 'STRING' : spec.datatype}`,
  // With batching, Triton's dims leave out the batch dimension.
  dims: batched ? spec.shape.slice(1) : spec.shape,
});

export function tritonConfig(model: ModelInfo) {
  const { max_batch_size, platform, ...rest } = model.config;
  const batched = max_batch_size > 0 && [...model.inputs, ...model.outputs].every((s) => s.shape[0] === -1);
  return {
    ...rest,
    name: model.name,
    platform,
    backend: 'onnxruntime',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: batched ? max_batch_size : 0,
    input: model.inputs.map(tensorConfig(batched)),
    output: model.outputs.map(tensorConfig(batched)),
  };
}
