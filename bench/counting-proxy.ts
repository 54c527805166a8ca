import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that counts the bytes each way: what a client really sent a registry, headers and
 * retries included. `onUpstreamBytes` sees the running total after every chunk, so a test can act (kill the
 * client) at an exact point of the push.
 */
export class CountingProxy {
  /** Bytes client → registry. */
  sent = 0;
  /** Bytes registry → client. */
  received = 0;
  connections = 0;
  onUpstreamBytes: ((total: number) => void) | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CountingProxy> {
    let proxy: CountingProxy | undefined;
    const server = createServer((client) => proxy?.connect(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address !== 'object') throw new Error('proxy has no port');
    proxy = new CountingProxy(server, address.port);
    return proxy;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  private connect(client: Socket, targetPort: number): void {
    this.connections++;
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      this.sent += chunk.length;
      this.onUpstreamBytes?.(this.sent);
    });
    upstream.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    // A client killed mid-request resets its socket: pass the break on so the registry sees it too.
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
