// The V8 inspector of a running Worker: a small request/response client over its WebSocket.
export interface Inspector {
  send(method: string, params?: object): Promise<any>;
  close(): void;
}

export async function connectInspector(port: number): Promise<Inspector> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // wrangler dev's inspector proxy accepts local origins only.
  const socket = new WebSocket(target!.webSocketDebuggerUrl, { headers: { Origin: 'http://127.0.0.1' } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', reject);
  });
  let nextId = 0;
  const waiting = new Map<number, (result: any) => void>();
  socket.addEventListener('message', async (event) => {
    // workerd sends text frames; wrangler dev's proxy may send binary ones.
    const data: unknown = event.data;
    const message = JSON.parse(typeof data === 'string' ? data : await (data as Blob).text());
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve) => {
        waiting.set(++nextId, resolve);
        socket.send(JSON.stringify({ id: nextId, method, params }));
      }),
    close: () => socket.close(),
  };
}

/** The isolate's JavaScript heap in use, garbage not yet collected included (workerd's inspector cannot force a collection). */
export async function heapUsedBytes(inspector: Inspector): Promise<number> {
  const { usedSize } = (await inspector.send('Runtime.getHeapUsage')) as { usedSize: number };
  return usedSize;
}
