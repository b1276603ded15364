// Interop client: connects to an interop server (ports in args), exchanges messages in both
// directions over both protocols, checks every byte, prints a JSON verdict and exits 0 or 1.
import { args, entry, exit, print, runtime } from "./runtime.mjs";

const { connect } = await import(entry);
const [fwPort, rawPort, serverRuntime] = [Number(args[0]), Number(args[1]), args[2]];
const N = 2000;
const problems = [];
const deadline = setTimeout(() => {
  print(JSON.stringify({ runtime, ok: false, problems: [...problems, "timed out"] }));
  exit(1);
}, 20_000);

function check(condition, what) {
  if (!condition) problems.push(what);
}

// framewire protocol, JSON
const fw = await connect({ host: "127.0.0.1", port: fwPort, codec: "json", tags: { runtime } });
check(fw.peerTags.runtime === serverRuntime, `server tags ${JSON.stringify(fw.peerTags)}`);
const fwReplies = [];
let greeting;
const fwDone = new Promise((resolve) =>
  fw.on("message", (m) => {
    if (m.hello !== undefined) greeting = m;
    else fwReplies.push(m);
    if (fwReplies.length === N) resolve();
  }),
);
for (let seq = 0; seq < N; seq++) {
  if (fw.send({ seq, body: { text: `é${seq}✓`, n: seq * 3 } }) === "backpressure") await fw.drained();
}
await fwDone;
check(greeting?.hello === serverRuntime && greeting.session === fw.sessionId, `greeting ${JSON.stringify(greeting)}`);
for (let seq = 0; seq < N; seq++) {
  const r = fwReplies[seq];
  if (r.seq !== seq || r.from !== serverRuntime || r.echo.text !== `é${seq}✓` || r.echo.n !== seq * 3) {
    problems.push(`framewire reply ${seq}: ${JSON.stringify(r)}`);
    break;
  }
}
await fw.close();

// raw protocol, bytes
const raw = await connect({ host: "127.0.0.1", port: rawPort, protocol: "raw" });
const rawReplies = [];
const rawDone = new Promise((resolve) =>
  raw.on("message", (m) => {
    rawReplies.push(m.slice());
    if (rawReplies.length === N + 1) resolve();
  }),
);
const payload = (i) => Uint8Array.from({ length: (i % 300) + 1 }, (_, k) => (i + k) & 0xff);
for (let i = 0; i < N; i++) if (raw.send(payload(i)) === "backpressure") await raw.drained();
await rawDone;
check(new TextDecoder().decode(rawReplies[0]) === `hello from ${serverRuntime}`, "raw greeting");
for (let i = 0; i < N; i++) {
  const expected = payload(i).reverse();
  const got = rawReplies[i + 1];
  if (got.length !== expected.length || got.some((b, k) => b !== expected[k])) {
    problems.push(`raw reply ${i} differs`);
    break;
  }
}
await raw.close();

clearTimeout(deadline);
print(JSON.stringify({ runtime, adapter: fw.adapter.name, server: serverRuntime, ok: problems.length === 0, problems }));
exit(problems.length === 0 ? 0 : 1);
