// The models bundled with the Worker, in Triton's layout: <name>/config.json and <name>/<version>/model.onnx.
import type { BundledModel } from '../src/runtime/model-repository';
import fashionMnistConfig from './fashion-mnist/config.json';
import fashionMnistV1 from './fashion-mnist/1/model.onnx';
import fashionMnistInt8Config from './fashion-mnist-int8/config.json';
import fashionMnistInt8V1 from './fashion-mnist-int8/1/model.onnx';
import flightsDelayConfig from './flights-delay/config.json';
import flightsDelayV1 from './flights-delay/1/model.onnx';
import irisConfig from './iris/config.json';
import irisV1 from './iris/1/model.onnx';
import movielensConfig from './movielens/config.json';
import movielensV1 from './movielens/1/model.onnx';
import sileroVadConfig from './silero-vad/config.json';
import sileroVadV1 from './silero-vad/1/model.onnx';

export const BUNDLED_MODELS: Record<string, BundledModel> = {
  iris: { config: irisConfig, versions: { '1': irisV1 } },
  'fashion-mnist': { config: fashionMnistConfig, versions: { '1': fashionMnistV1 } },
  // int8 variant of fashion-mnist, made by `node scripts/quantize.ts` (bench/results/int8-latest.md).
  'fashion-mnist-int8': { config: fashionMnistInt8Config, versions: { '1': fashionMnistInt8V1 } },
  'silero-vad': { config: sileroVadConfig, versions: { '1': sileroVadV1 } },
  movielens: { config: movielensConfig, versions: { '1': movielensV1 } },
  'flights-delay': { config: flightsDelayConfig, versions: { '1': flightsDelayV1 } },
};
