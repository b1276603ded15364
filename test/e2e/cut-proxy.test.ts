/** Self-test of test/fixtures/cut_proxy.py: seeded cuts by RST at a byte budget, then clean forwarding. */
import { expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { HOST, within } from "./helpers.ts";

const PROXY = `${import.meta.dir}/../fixtures/cut_proxy.py`;
// random.Random(7).randint(1000, 5000) three times: the budgets are reproducible from the seed.
const BUDGETS = [2326, 4882, 1617];

/** The child's stdout as lines; `next` waits at most `ms` for one. */
function lineQueue(stream: ReadableStream<Uint8Array>) {
  const lines: string[] = [];
  let ended = false;
  let wake = () => {};
  void (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const parts = text.split("\n");
      text = parts.pop() ?? "";
      lines.push(...parts);
      wake();
    }
    ended = true;
    wake();
  })();
  return async (ms: number): Promise<string> =>
    within(
      (async () => {
        while (lines.length === 0) {
          if (ended) throw new Error("proxy stdout ended");
          await new Promise<void>((resolve) => (wake = resolve));
        }
        return lines.shift() as string;
      })(),
      ms,
      "a line from the proxy",
    );
}

/** A plain TCP echo server that respects backpressure. */
function echoServer(): TCPSocketListener<{ pending: Uint8Array[] }> {
  const flush = (s: Socket<{ pending: Uint8Array[] }>) => {
    while (s.data.pending.length > 0) {
      const chunk = s.data.pending[0];
      const n = s.write(chunk);
      if (n < chunk.length) {
        if (n > 0) s.data.pending[0] = chunk.subarray(n);
        return;
      }
      s.data.pending.shift();
    }
  };
  return Bun.listen<{ pending: Uint8Array[] }>({
    hostname: HOST,
    port: 0,
    socket: {
      open: (s) => void (s.data = { pending: [] }),
      data: (s, d) => {
        s.data.pending.push(new Uint8Array(d));
        flush(s);
      },
      drain: flush,
      error: () => {}, // the proxy's RSTs reach this side too
    },
  });
}

/** A client through the proxy that writes `stream` from the start and records what comes back. */
async function dial(port: number, stream: Uint8Array) {
  const received: Uint8Array[] = [];
  let sent = 0;
  let target = 0;
  let closed = false;
  let onClose!: () => void;
  const gone = new Promise<void>((resolve) => (onClose = resolve));
  const onChange: (() => void)[] = [];
  const socket = await Bun.connect({
    hostname: HOST,
    port,
    socket: {
      binaryType: "uint8array",
      data: (_s, d) => {
        received.push(new Uint8Array(d));
        for (const f of onChange.splice(0)) f();
      },
      drain: () => write(),
      close: () => {
        closed = true;
        onClose();
      },
      error: () => {
        closed = true;
        onClose();
      },
    },
  });
  const write = () => {
    while (!closed && sent < target) {
      const n = socket.write(stream.subarray(sent, target));
      if (n <= 0) return;
      sent += n;
    }
  };
  const client = {
    gone,
    get sent() {
      return sent;
    },
    get closed() {
      return closed;
    },
    bytes: () => Buffer.concat(received),
    /** Sends the stream up to byte `upTo`, the rest on drain. */
    pump(upTo = stream.length) {
      target = Math.max(target, upTo);
      write();
    },
    async receive(count: number) {
      while (client.bytes().length < count && !closed) await new Promise<void>((r) => onChange.push(r));
    },
    end: () => socket.end(),
  };
  return client;
}

test("cut_proxy cuts three connections at seeded budgets with an RST, then forwards cleanly", async () => {
  const echo = echoServer();
  const proxy = Bun.spawn(
    ["python3", PROXY, String(echo.port), "--cuts", "3", "--min-bytes", "1000", "--max-bytes", "5000", "--seed", "7", "--lifetime", "30"],
    { stdin: "pipe", stdout: "pipe", stderr: "pipe" },
  );
  const nextLine = lineQueue(proxy.stdout);
  const stream = crypto.getRandomValues(new Uint8Array(100 * 1024));
  try {
    const portLine = await nextLine(5000);
    expect(portLine).toMatch(/^PORT \d+$/);
    const port = Number(portLine.split(" ")[1]);

    for (let index = 0; index < 3; index++) {
      const client = await within(dial(port, stream), 2000, "connect through the proxy");
      // A steady stream: 256 bytes every 2 ms until the proxy cuts the connection.
      const ticker = setInterval(() => client.pump(Math.min(client.sent + 256, stream.length)), 2);
      try {
        await within(client.gone, 5000, `connection ${index} cut`);
      } finally {
        clearInterval(ticker);
      }
      const cut = (await nextLine(5000)).split(" ");
      expect(cut[0]).toBe("CUT");
      const [i, c2s, s2c] = cut.slice(1).map(Number);
      expect(i).toBe(index);
      expect(c2s + s2c).toBe(BUDGETS[index]); // both directions count by default
      expect(c2s).toBeLessThanOrEqual(client.sent);
      const echoed = client.bytes();
      expect(echoed.length).toBeLessThanOrEqual(s2c);
      expect(Buffer.from(echoed).equals(Buffer.from(stream.subarray(0, echoed.length)))).toBe(true);
    }

    // The cuts are used up: 100 KiB goes through and comes back byte for byte.
    const clean = await within(dial(port, stream), 2000, "connect after the cuts");
    clean.pump();
    await within(clean.receive(stream.length), 5000, "100 KiB echoed");
    expect(clean.closed).toBe(false);
    expect(Buffer.from(clean.bytes()).equals(Buffer.from(stream))).toBe(true);
    clean.end();
    await within(clean.gone, 5000, "clean close");

    // Closing stdin stops the proxy.
    void proxy.stdin.end();
    expect(await nextLine(5000)).toBe("EXIT");
    expect(await within(proxy.exited, 5000, "proxy exit")).toBe(0);
  } finally {
    proxy.kill();
    await within(proxy.exited, 5000, "proxy killed").catch(() => {});
    echo.stop(true);
  }
});
