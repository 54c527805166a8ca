import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** Asks one line on the terminal; with `secret` the answer is not echoed. */
export async function promptLine(question: string, secret = false): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = secret;
    const line = await answer;
    if (secret) process.stderr.write('\n');
    return line;
  } finally {
    rl.close();
  }
}
