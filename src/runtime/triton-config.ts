// Triton's model configuration extension: the config as Triton prints it (ModelConfig JSON), plus the server's own fields.
import { configDatatype, type ModelInfo, type TensorSpec } from './loaded-model';
import type { TensorConfig } from './model-config';
import { publicTensors } from './sequence-batching';

const tensorConfig = (batched: boolean, declared: TensorConfig[] | undefined, defaults: object) => (spec: TensorSpec) => ({
  name: spec.name,
  data_type: configDatatype(spec.datatype),
  ...defaults,
  // With batching, Triton's dims leave out the batch dimension.
  dims: batched ? spec.shape.slice(1) : spec.shape,
  ...declared?.find((d) => d.name === spec.name),
});

export function tritonConfig(model: ModelInfo) {
  const { max_batch_size, platform, input, output, ...rest } = model.config;
  // Sequence controls and state appear under sequence_batching only, as in Triton.
  const visible = publicTensors(model);
  const batched = max_batch_size > 0 && [...model.inputs, ...model.outputs].every((s) => s.shape[0] === -1);
  return {
    ...rest,
    name: model.name,
    platform,
    backend: 'onnxruntime',
    // Without a version_policy every version serves (Triton's own default is the latest one).
    version_policy: rest.version_policy ?? { all: {} },
    max_batch_size: batched ? max_batch_size : 0,
    input: visible.inputs.map(tensorConfig(batched, input, { format: 'FORMAT_NONE', is_shape_tensor: false, allow_ragged_batch: false, optional: false })),
    output: visible.outputs.map(tensorConfig(batched, output, { label_filename: '', is_shape_tensor: false })),
    instance_group: rest.instance_group ?? [{ name: model.name, kind: 'KIND_CPU', count: 1, gpus: [] }],
    default_model_filename: 'model.onnx',
  };
}
