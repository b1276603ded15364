/**
 * Reads a child process's stdout (a web ReadableStream, as Bun and Deno give it) line by line, for
 * the runners' `spawn` facility. A read left pending by a timeout is picked up by the next call.
 */
export function lineReader(stream: ReadableStream<Uint8Array>): { read(timeoutMs: number): Promise<string>; cancel(): Promise<void> } {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let ended = false;
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  return {
    async read(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const newline = text.indexOf("\n");
        if (newline >= 0) {
          const line = text.slice(0, newline);
          text = text.slice(newline + 1);
          return line;
        }
        if (ended) throw new Error(`child's stdout ended (partial line ${JSON.stringify(text)})`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no line from the child within ${timeoutMs} ms`)), Math.max(0, deadline - performance.now()));
        });
        pending ??= reader.read();
        try {
          const { value, done } = await Promise.race([pending, timeout]);
          pending = undefined;
          if (done) ended = true;
          else text += decoder.decode(value, { stream: true });
        } finally {
          clearTimeout(timer);
        }
      }
    },
    async cancel() {
      await reader.cancel().catch(() => {});
    },
  };
}
