// Writes the "what this shows" paragraphs from the numbers alone.
import { DISTURBED_CORES } from './load.ts';
import type { BenchData } from './report.ts';
import { bestRps, int, loadAt, ms, ratio } from './format.ts';
import { TARGETS } from './servers.ts';

export function findings(data: BenchData): string[] {
  const out: string[] = [];
  const top = Math.max(...data.settings.concurrencies);
  for (const model of data.models) {
    const w1 = loadAt(data, 'workerd', model, 1);
    const n1 = loadAt(data, 'node', model, 1);
    const wBest = bestRps(data, 'workerd', model);
    const nBest = bestRps(data, 'node', model);
    const dBest = bestRps(data, 'wrangler-dev', model);
    const wTop = loadAt(data, 'workerd', model, top);
    const nTop = loadAt(data, 'node', model, top);
    if (!w1 || !n1 || !wBest || !nBest) continue;
    const parts = [
      `**${model}**: one request at a time, workerd direct answers in ${ms(w1.p50)} ms at the median against ${ms(n1.p50)} ms for the node peer (${ratio(w1.p50, n1.p50)}).`,
      `Its best throughput is ${int(wBest.rps)} req/s (at concurrency ${wBest.connections}) against the peer's ${int(nBest.rps)} req/s (at ${nBest.connections}), ${ratio(wBest.rps, nBest.rps)}.`,
    ];
    if (wTop && nTop) parts.push(`At concurrency ${top} the p99 is ${ms(wTop.p99)} ms vs ${ms(nTop.p99)} ms.`);
    if (wTop && nTop) {
      parts.push(
        `Under that load the server spends ${wTop.serverCpuMsPerRequest.toFixed(3)} ms of CPU per request and keeps ${wTop.serverCores.toFixed(2)} cores busy in workerd, ` +
          `against ${nTop.serverCpuMsPerRequest.toFixed(3)} ms and ${nTop.serverCores.toFixed(2)} cores for the node peer ` +
          `(workerd needs ${ratio(wTop.serverCpuMsPerRequest, nTop.serverCpuMsPerRequest)} the CPU per request).`,
      );
      const cpus = data.machine.cpus;
      const saturated = [wTop, nTop].filter((r) => r.serverCores + r.clientCores + r.otherCores > 0.9 * cpus);
      if (saturated.length) {
        parts.push(
          `In ${saturated.length === 2 ? 'both runs' : saturated[0] === wTop ? 'the workerd run' : 'the node run'} server, load generator and other work together kept all ${cpus} CPUs busy, ` +
            `so that throughput is bounded by the shared machine as much as by the server; CPU per request is the fairer comparison.`,
        );
      }
    }
    if (dBest) parts.push(`wrangler dev peaks at ${int(dBest.rps)} req/s, ${ratio(dBest.rps, wBest.rps)} of workerd direct.`);
    out.push(parts.join(' '));
  }
  const cells = TARGETS.flatMap((t) => data.models.flatMap((m) => data.load[t]?.[m] ?? []));
  const disturbed = cells.filter((r) => r.otherCores > DISTURBED_CORES).length;
  if (disturbed) out.push(`**Noise**: ${disturbed} of ${cells.length} load cells ran while other processes used more than ${DISTURBED_CORES} of a core (marked †); read those rows with care.`);
  for (const model of data.models) {
    const b = loadAt(data, 'workerd', model, top);
    const u = loadAt(data, 'workerd-unbatched', model, top);
    const n = loadAt(data, 'node', model, top);
    const b1 = loadAt(data, 'workerd', model, 1);
    const u1 = loadAt(data, 'workerd-unbatched', model, 1);
    if (!b || !u || !n) continue;
    out.push(
      `**Dynamic batching (${model})**: at concurrency ${top} the batched server answers ${int(b.rps)} req/s against ${int(u.rps)} unbatched (${ratio(b.rps, u.rps)}) ` +
        `and ${int(n.rps)} for the node peer (${ratio(b.rps, n.rps)} of the peer, unbatched ${ratio(u.rps, n.rps)}); CPU per request ${b.serverCpuMsPerRequest.toFixed(3)} vs ${u.serverCpuMsPerRequest.toFixed(3)} ms. ` +
        (b1 && u1 ? `One request at a time nothing waits: p50 ${ms(b1.p50)} ms batched vs ${ms(u1.p50)} ms unbatched.` : ''),
    );
  }
  const fw = data.floors.workerd;
  const fn = data.floors.node;
  const wIris = loadAt(data, 'workerd', 'iris', top);
  const nIris = loadAt(data, 'node', 'iris', top);
  if (fw && fn && wIris && nIris) {
    out.push(
      `**The floor**: before any server code, workerd spends ${fw.serverCpuMsPerRequest.toFixed(3)} ms of CPU per request (${int(fw.rps)} req/s) and node ${fn.serverCpuMsPerRequest.toFixed(3)} ms (${int(fn.rps)} req/s): ` +
        `workerd's own HTTP path alone costs ${ratio(fw.serverCpuMsPerRequest, nIris.serverCpuMsPerRequest)} of the node peer's whole iris request. ` +
        `Above its floor the Worker spends ${(wIris.serverCpuMsPerRequest - fw.serverCpuMsPerRequest).toFixed(3)} ms per iris request (routing, auth, limits, logs, metrics, validation, ONNX Runtime, encoding), the peer ${(nIris.serverCpuMsPerRequest - fn.serverCpuMsPerRequest).toFixed(3)} ms.`,
    );
  }
  const wc = data.cold.workerd;
  const nc = data.cold.node;
  if (wc && nc) {
    const first = data.models[0]!;
    out.push(
      `**Cold start**: workerd direct is live ${int(wc.spawnToLiveMs)} ms after spawn and its first ${first} infer takes ${ms(wc.firstInferMs[first])} ms ` +
        `(ONNX Runtime started while the isolate loaded; the model's session starts on that request); the node peer, which creates its sessions before listening, ` +
        `is live after ${int(nc.spawnToLiveMs)} ms and its first infer takes ${ms(nc.firstInferMs[first])} ms. Spawn to first answer: ${int(wc.spawnToFirstInferMs)} ms vs ${int(nc.spawnToFirstInferMs)} ms.`,
    );
  }
  for (const model of data.models) {
    const w = data.timing.workerd?.[model];
    const n = data.timing.node?.[model];
    const o = data.ortAlone.find((r) => r.model === model);
    if (!w || !n || !o) continue;
    out.push(
      `**Where the time goes (${model}, sequential)**: ONNX Runtime alone needs ${o.wasmMs.toFixed(3)} ms per run as wasm and ${o.nativeMs.toFixed(3)} ms native. ` +
        `A workerd infer round trip takes ${ms(w.clientMs)} ms, of which an empty health check already costs ${ms(w.liveMs)} ms, so the infer route adds ${ms(w.clientMs - w.liveMs)} ms; ` +
        `the node peer takes ${ms(n.clientMs)} ms with a ${ms(n.liveMs)} ms health check, adding ${ms(n.clientMs - n.liveMs)} ms. ` +
        `Inside workerd the Server-Timing header read infer = 0 in ${(w.zeroInferShare * 100).toFixed(0)} % of samples (median infer ${ms(w.inferMs)} ms, rest ${ms(w.restMs)} ms, timer step ${Number.isFinite(w.resolutionMs) ? w.resolutionMs.toFixed(3) : '–'} ms), ` +
        `so it cannot split the handler's time there; the node peer's header gives ${ms(n.inferMs)} ms around \`session.run\` (${o.nativeMs.toFixed(3)} ms in a tight loop without HTTP) and ${ms(n.restMs)} ms for the rest of its handler.`,
    );
  }
  return out;
}
