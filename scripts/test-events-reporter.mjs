// A node:test reporter for scripts/run-tests.mjs: one JSON line per finished test or suite, with what the
// runner needs for honest totals (node's own summary counts a test cancelled by a failed hook as `cancelled`
// under `fail 0`, and does not count the failed hook at all).

function firstLine(error) {
  const cause = error?.cause instanceof Error ? error.cause : error;
  const text = cause?.message ?? String(cause ?? '');
  return text.split('\n').find((line) => line.trim() !== '') ?? '';
}

export default async function* testEvents(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    yield `${JSON.stringify({
      outcome: event.type === 'test:pass' ? 'pass' : 'fail',
      file: data.file,
      name: data.name,
      nesting: data.nesting,
      suite: data.details?.type === 'suite',
      skip: data.skip === undefined ? undefined : data.skip === true ? '' : String(data.skip),
      todo: data.todo === undefined ? undefined : String(data.todo),
      failureType: data.details?.error?.failureType,
      message: event.type === 'test:fail' ? firstLine(data.details?.error) : undefined,
    })}\n`;
  }
}
