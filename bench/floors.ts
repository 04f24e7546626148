// The floor under any server on each runtime: a handler that reads the request body and answers a fixed JSON
// document, no routing, auth or model. Measured with the same load as the real servers, it shows how much of a
// request's cost is the runtime's own HTTP path and how much is ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, type LoadResult } from './load.ts';
import { WORK, readProjectSettings } from './project.ts';
import { freePort, serverCpuSeconds, workerdBinary, type Server } from './servers.ts';

export const FLOORS = ['workerd', 'node'] as const;
export type Floor = (typeof FLOORS)[number];

const ANSWER = '{"model_name":"floor","outputs":[]}';

const WORKER = `export default { async fetch(request) { await request.arrayBuffer(); return new Response('${ANSWER}', { headers: { 'Content-Type': 'application/json' } }); } };`;

const NODE = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('${ANSWER}'); }); }).listen(Number(process.env.PORT), '127.0.0.1');`;

function spawnFloor(floor: Floor, port: number): ChildProcess {
  if (floor === 'node') return spawn(process.execPath, ['-e', NODE], { env: { ...process.env, PORT: String(port) }, detached: true, stdio: 'ignore' });
  writeFileSync(join(WORK, 'floor.js'), WORKER);
  const config = join(WORK, 'floor.capnp');
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = ( services = [ (name = "main", worker = .worker) ], sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ] );
const worker :Workerd.Worker = ( modules = [ (name = "floor.js", esModule = embed "floor.js") ], compatibilityDate = "${readProjectSettings().compatibilityDate}" );
`,
  );
  return spawn(workerdBinary(), ['serve', config], { detached: true, stdio: 'ignore' });
}

/** Load on the floor server of `floor` with the same request and settings the real servers get. */
export async function measureFloor(floor: Floor, load: { body: string; headers: Record<string, string>; connections: number; warmupSeconds: number; seconds: number }): Promise<LoadResult> {
  const port = await freePort();
  const child = spawnFloor(floor, port);
  try {
    const url = `http://127.0.0.1:${port}/v2/models/floor/infer`;
    for (let tries = 0; ; tries++) {
      try {
        if ((await fetch(url, { method: 'POST', body: '{}' })).ok) break;
      } catch {
        if (tries > 200) throw new Error(`the ${floor} floor server did not come up`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return await runLoad({ url, ...load }, () => serverCpuSeconds({ child } as Server));
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
