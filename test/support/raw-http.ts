import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are over a fresh TCP connection: for requests fetch will not make (paths with `..`,
 * bodies cut short, lengths that lie). With `cut`, the connection is closed after writing, without waiting.
 * A HEAD request must ask for `Connection: close`: its answer is read until the server closes.
 */
export function rawRequest(
  hostPort: string,
  head: string,
  body: Buffer = Buffer.alloc(0),
  cut = false,
): Promise<RawResponse | undefined> {
  const [host, port] = [
    hostPort.slice(0, hostPort.lastIndexOf(':')),
    Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.write(head.replace(/\n/g, '\r\n'));
      socket.write(body, () => {
        if (cut) {
          socket.destroy();
          resolve(undefined);
        }
      });
    });
    let data = Buffer.alloc(0);
    const parse = (): RawResponse | undefined => {
      const text = data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
      }
      const rest = data.subarray(end + 4);
      const length = Number(headers['content-length'] ?? 0);
      if (!isHead && rest.length < length) return undefined;
      return {
        status: Number(statusLine?.split(' ')[1]),
        headers,
        body: (isHead ? rest : rest.subarray(0, length)).toString(),
      };
    };
    // A response to HEAD announces the length of a body it must not send: read until the server closes, so
    // that any byte sent after the head shows up in `body`.
    const isHead = head.startsWith('HEAD ');
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (isHead) return;
      const response = parse();
      if (response) {
        socket.destroy();
        resolve(response);
      }
    });
    socket.on('end', () => {
      if (isHead) resolve(parse());
    });
    socket.on('error', (error) => (cut ? resolve(undefined) : reject(error)));
  });
}
