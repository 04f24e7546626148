// Descriptors of Triton's ModelConfig and every message and enum it reaches: mirrors model_config.proto (BSD-3, Triton).
export type ScalarType = 'double' | 'float' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'bool' | 'string' | 'bytes';
export type MapKeyType = 'int32' | 'int64' | 'uint32' | 'uint64' | 'bool' | 'string';
export type FieldType = ScalarType | `message:${string}` | `enum:${string}`;

export interface FieldDescriptor {
  readonly type: FieldType;
  readonly repeated?: true;
  /** Set for `map<mapKey, type>`: written in text format as repeated `{ key: … value: … }` entries. */
  readonly mapKey?: MapKeyType;
  readonly oneof?: string;
}

/** Fields by proto (snake_case) name. Nested messages and enums are named `Outer.Inner`. */
export type MessageDescriptor = Readonly<Record<string, FieldDescriptor>>;

/** Value names indexed by number: every enum in model_config.proto numbers its values 0, 1, 2, … in order. */
export const ENUMS: Readonly<Record<string, readonly string[]>> = {
  DataType: [
    'TYPE_INVALID',
    'TYPE_BOOL',
    'TYPE_UINT8',
    'TYPE_UINT16',
    'TYPE_UINT32',
    'TYPE_UINT64',
    'TYPE_INT8',
    'TYPE_INT16',
    'TYPE_INT32',
    'TYPE_INT64',
    'TYPE_FP16',
    'TYPE_FP32',
    'TYPE_FP64',
    'TYPE_STRING',
    'TYPE_BF16',
  ],
  'ModelInstanceGroup.Kind': ['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL'],
  'ModelInstanceGroup.SecondaryDevice.SecondaryDeviceKind': ['KIND_NVDLA'],
  'ModelInput.Format': ['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW'],
  'BatchInput.Kind': [
    'BATCH_ELEMENT_COUNT',
    'BATCH_ACCUMULATED_ELEMENT_COUNT',
    'BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO',
    'BATCH_MAX_ELEMENT_COUNT_AS_SHAPE',
    'BATCH_ITEM_SHAPE',
    'BATCH_ITEM_SHAPE_FLATTEN',
  ],
  'BatchOutput.Kind': ['BATCH_SCATTER_WITH_INPUT_SHAPE'],
  'ModelOptimizationPolicy.ModelPriority': ['PRIORITY_DEFAULT', 'PRIORITY_MAX', 'PRIORITY_MIN'],
  'ModelQueuePolicy.TimeoutAction': ['REJECT', 'DELAY'],
  'ModelSequenceBatching.Control.Kind': [
    'CONTROL_SEQUENCE_START',
    'CONTROL_SEQUENCE_READY',
    'CONTROL_SEQUENCE_END',
    'CONTROL_SEQUENCE_CORRID',
  ],
};

/** Every message by name; a config.pbtxt is a `ModelConfig`. */
export const MESSAGES: Readonly<Record<string, MessageDescriptor>> = {
  ModelRateLimiter: {
    resources: { type: 'message:ModelRateLimiter.Resource', repeated: true },
    priority: { type: 'uint32' },
  },
  'ModelRateLimiter.Resource': {
    name: { type: 'string' },
    global: { type: 'bool' },
    count: { type: 'uint32' },
  },
  ModelInstanceGroup: {
    name: { type: 'string' },
    kind: { type: 'enum:ModelInstanceGroup.Kind' },
    count: { type: 'int32' },
    rate_limiter: { type: 'message:ModelRateLimiter' },
    gpus: { type: 'int32', repeated: true },
    secondary_devices: { type: 'message:ModelInstanceGroup.SecondaryDevice', repeated: true },
    profile: { type: 'string', repeated: true },
    passive: { type: 'bool' },
    host_policy: { type: 'string' },
  },
  'ModelInstanceGroup.SecondaryDevice': {
    kind: { type: 'enum:ModelInstanceGroup.SecondaryDevice.SecondaryDeviceKind' },
    device_id: { type: 'int64' },
  },
  ModelTensorReshape: {
    shape: { type: 'int64', repeated: true },
  },
  ModelInput: {
    name: { type: 'string' },
    data_type: { type: 'enum:DataType' },
    format: { type: 'enum:ModelInput.Format' },
    dims: { type: 'int64', repeated: true },
    reshape: { type: 'message:ModelTensorReshape' },
    is_shape_tensor: { type: 'bool' },
    allow_ragged_batch: { type: 'bool' },
    optional: { type: 'bool' },
    is_non_linear_format_io: { type: 'bool' },
  },
  ModelOutput: {
    name: { type: 'string' },
    data_type: { type: 'enum:DataType' },
    dims: { type: 'int64', repeated: true },
    reshape: { type: 'message:ModelTensorReshape' },
    label_filename: { type: 'string' },
    is_shape_tensor: { type: 'bool' },
    is_non_linear_format_io: { type: 'bool' },
  },
  BatchInput: {
    kind: { type: 'enum:BatchInput.Kind' },
    target_name: { type: 'string', repeated: true },
    data_type: { type: 'enum:DataType' },
    source_input: { type: 'string', repeated: true },
  },
  BatchOutput: {
    target_name: { type: 'string', repeated: true },
    kind: { type: 'enum:BatchOutput.Kind' },
    source_input: { type: 'string', repeated: true },
  },
  ModelVersionPolicy: {
    latest: { type: 'message:ModelVersionPolicy.Latest', oneof: 'policy_choice' },
    all: { type: 'message:ModelVersionPolicy.All', oneof: 'policy_choice' },
    specific: { type: 'message:ModelVersionPolicy.Specific', oneof: 'policy_choice' },
  },
  'ModelVersionPolicy.Latest': {
    num_versions: { type: 'uint32' },
  },
  'ModelVersionPolicy.All': {},
  'ModelVersionPolicy.Specific': {
    versions: { type: 'int64', repeated: true },
  },
  ModelOptimizationPolicy: {
    graph: { type: 'message:ModelOptimizationPolicy.Graph' },
    priority: { type: 'enum:ModelOptimizationPolicy.ModelPriority' },
    cuda: { type: 'message:ModelOptimizationPolicy.Cuda' },
    execution_accelerators: { type: 'message:ModelOptimizationPolicy.ExecutionAccelerators' },
    input_pinned_memory: { type: 'message:ModelOptimizationPolicy.PinnedMemoryBuffer' },
    output_pinned_memory: { type: 'message:ModelOptimizationPolicy.PinnedMemoryBuffer' },
    gather_kernel_buffer_threshold: { type: 'uint32' },
    eager_batching: { type: 'bool' },
  },
  'ModelOptimizationPolicy.Graph': {
    level: { type: 'int32' },
  },
  'ModelOptimizationPolicy.Cuda': {
    graphs: { type: 'bool' },
    busy_wait_events: { type: 'bool' },
    graph_spec: { type: 'message:ModelOptimizationPolicy.Cuda.GraphSpec', repeated: true },
    output_copy_stream: { type: 'bool' },
  },
  'ModelOptimizationPolicy.Cuda.GraphSpec': {
    batch_size: { type: 'int32' },
    input: { type: 'message:ModelOptimizationPolicy.Cuda.GraphSpec.Shape', mapKey: 'string' },
    graph_lower_bound: { type: 'message:ModelOptimizationPolicy.Cuda.GraphSpec.LowerBound' },
  },
  'ModelOptimizationPolicy.Cuda.GraphSpec.Shape': {
    dim: { type: 'int64', repeated: true },
  },
  'ModelOptimizationPolicy.Cuda.GraphSpec.LowerBound': {
    batch_size: { type: 'int32' },
    input: { type: 'message:ModelOptimizationPolicy.Cuda.GraphSpec.Shape', mapKey: 'string' },
  },
  'ModelOptimizationPolicy.ExecutionAccelerators': {
    gpu_execution_accelerator: { type: 'message:ModelOptimizationPolicy.ExecutionAccelerators.Accelerator', repeated: true },
    cpu_execution_accelerator: { type: 'message:ModelOptimizationPolicy.ExecutionAccelerators.Accelerator', repeated: true },
  },
  'ModelOptimizationPolicy.ExecutionAccelerators.Accelerator': {
    name: { type: 'string' },
    parameters: { type: 'string', mapKey: 'string' },
  },
  'ModelOptimizationPolicy.PinnedMemoryBuffer': {
    enable: { type: 'bool' },
  },
  ModelQueuePolicy: {
    timeout_action: { type: 'enum:ModelQueuePolicy.TimeoutAction' },
    default_timeout_microseconds: { type: 'uint64' },
    allow_timeout_override: { type: 'bool' },
    max_queue_size: { type: 'uint32' },
  },
  ModelDynamicBatching: {
    preferred_batch_size: { type: 'int32', repeated: true },
    max_queue_delay_microseconds: { type: 'uint64' },
    preserve_ordering: { type: 'bool' },
    priority_levels: { type: 'uint64' },
    default_priority_level: { type: 'uint64' },
    default_queue_policy: { type: 'message:ModelQueuePolicy' },
    priority_queue_policy: { type: 'message:ModelQueuePolicy', mapKey: 'uint64' },
  },
  ModelSequenceBatching: {
    direct: { type: 'message:ModelSequenceBatching.StrategyDirect', oneof: 'strategy_choice' },
    oldest: { type: 'message:ModelSequenceBatching.StrategyOldest', oneof: 'strategy_choice' },
    max_sequence_idle_microseconds: { type: 'uint64' },
    control_input: { type: 'message:ModelSequenceBatching.ControlInput', repeated: true },
    state: { type: 'message:ModelSequenceBatching.State', repeated: true },
    iterative_sequence: { type: 'bool' },
  },
  'ModelSequenceBatching.Control': {
    kind: { type: 'enum:ModelSequenceBatching.Control.Kind' },
    int32_false_true: { type: 'int32', repeated: true },
    fp32_false_true: { type: 'float', repeated: true },
    bool_false_true: { type: 'bool', repeated: true },
    data_type: { type: 'enum:DataType' },
  },
  'ModelSequenceBatching.ControlInput': {
    name: { type: 'string' },
    control: { type: 'message:ModelSequenceBatching.Control', repeated: true },
  },
  'ModelSequenceBatching.InitialState': {
    data_type: { type: 'enum:DataType' },
    dims: { type: 'int64', repeated: true },
    zero_data: { type: 'bool', oneof: 'state_data' },
    data_file: { type: 'string', oneof: 'state_data' },
    name: { type: 'string' },
  },
  'ModelSequenceBatching.State': {
    input_name: { type: 'string' },
    output_name: { type: 'string' },
    data_type: { type: 'enum:DataType' },
    dims: { type: 'int64', repeated: true },
    initial_state: { type: 'message:ModelSequenceBatching.InitialState', repeated: true },
    use_same_buffer_for_input_output: { type: 'bool' },
    use_growable_memory: { type: 'bool' },
  },
  'ModelSequenceBatching.StrategyDirect': {
    max_queue_delay_microseconds: { type: 'uint64' },
    minimum_slot_utilization: { type: 'float' },
  },
  'ModelSequenceBatching.StrategyOldest': {
    max_candidate_sequences: { type: 'int32' },
    preferred_batch_size: { type: 'int32', repeated: true },
    max_queue_delay_microseconds: { type: 'uint64' },
    preserve_ordering: { type: 'bool' },
  },
  ModelEnsembling: {
    step: { type: 'message:ModelEnsembling.Step', repeated: true },
    max_inflight_requests: { type: 'uint32' },
  },
  'ModelEnsembling.Step': {
    model_name: { type: 'string' },
    model_version: { type: 'int64' },
    input_map: { type: 'string', mapKey: 'string' },
    output_map: { type: 'string', mapKey: 'string' },
    model_namespace: { type: 'string' },
  },
  ModelParameter: {
    string_value: { type: 'string' },
  },
  ModelWarmup: {
    name: { type: 'string' },
    batch_size: { type: 'uint32' },
    inputs: { type: 'message:ModelWarmup.Input', mapKey: 'string' },
    count: { type: 'uint32' },
  },
  'ModelWarmup.Input': {
    data_type: { type: 'enum:DataType' },
    dims: { type: 'int64', repeated: true },
    zero_data: { type: 'bool', oneof: 'input_data_type' },
    random_data: { type: 'bool', oneof: 'input_data_type' },
    input_data_file: { type: 'string', oneof: 'input_data_type' },
  },
  ModelOperations: {
    op_library_filename: { type: 'string', repeated: true },
  },
  ModelTransactionPolicy: {
    decoupled: { type: 'bool' },
  },
  ModelRepositoryAgents: {
    agents: { type: 'message:ModelRepositoryAgents.Agent', repeated: true },
  },
  'ModelRepositoryAgents.Agent': {
    name: { type: 'string' },
    parameters: { type: 'string', mapKey: 'string' },
  },
  ModelResponseCache: {
    enable: { type: 'bool' },
  },
  ModelMetrics: {
    metric_control: { type: 'message:ModelMetrics.MetricControl', repeated: true },
  },
  'ModelMetrics.MetricControl': {
    metric_identifier: { type: 'message:ModelMetrics.MetricControl.MetricIdentifier' },
    histogram_options: { type: 'message:ModelMetrics.MetricControl.HistogramOptions', oneof: 'metric_options' },
  },
  'ModelMetrics.MetricControl.MetricIdentifier': {
    family: { type: 'string' },
  },
  'ModelMetrics.MetricControl.HistogramOptions': {
    buckets: { type: 'double', repeated: true },
  },
  ModelConfig: {
    name: { type: 'string' },
    platform: { type: 'string' },
    backend: { type: 'string' },
    runtime: { type: 'string' },
    version_policy: { type: 'message:ModelVersionPolicy' },
    max_batch_size: { type: 'int32' },
    input: { type: 'message:ModelInput', repeated: true },
    output: { type: 'message:ModelOutput', repeated: true },
    batch_input: { type: 'message:BatchInput', repeated: true },
    batch_output: { type: 'message:BatchOutput', repeated: true },
    optimization: { type: 'message:ModelOptimizationPolicy' },
    dynamic_batching: { type: 'message:ModelDynamicBatching', oneof: 'scheduling_choice' },
    sequence_batching: { type: 'message:ModelSequenceBatching', oneof: 'scheduling_choice' },
    ensemble_scheduling: { type: 'message:ModelEnsembling', oneof: 'scheduling_choice' },
    instance_group: { type: 'message:ModelInstanceGroup', repeated: true },
    default_model_filename: { type: 'string' },
    cc_model_filenames: { type: 'string', mapKey: 'string' },
    metric_tags: { type: 'string', mapKey: 'string' },
    parameters: { type: 'message:ModelParameter', mapKey: 'string' },
    model_warmup: { type: 'message:ModelWarmup', repeated: true },
    model_operations: { type: 'message:ModelOperations' },
    model_transaction_policy: { type: 'message:ModelTransactionPolicy' },
    model_repository_agents: { type: 'message:ModelRepositoryAgents' },
    response_cache: { type: 'message:ModelResponseCache' },
    model_metrics: { type: 'message:ModelMetrics' },
  },
};
