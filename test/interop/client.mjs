// Interop client: connects to an interop server (ports in args), exchanges messages in both
// directions over both protocols, checks every byte, prints a JSON verdict and exits 0 or 1.
import { args, entry, exit, print, readText, runtime } from "./runtime.mjs";

const { connect } = await import(entry);
const [fwPort, rawPort, serverRuntime, tlsPort, pki] = [Number(args[0]), Number(args[1]), args[2], Number(args[3] ?? 0), args[4]];
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

// framewire inside TLS, verified against the test CA (the certificate names 127.0.0.1).
if (pki !== undefined) {
  const secure = await connect({ host: "127.0.0.1", port: tlsPort, codec: "json", tls: { ca: await readText(`${pki}/ca.crt`) } });
  check(secure.connection.tls !== undefined, "the TLS client has TLS facts");
  const replies = [];
  let hello;
  const done = new Promise((resolve) =>
    secure.on("message", (m) => {
      if (m.hello !== undefined) hello = m;
      else replies.push(m);
      if (replies.length === 200) resolve();
    }),
  );
  for (let seq = 0; seq < 200; seq++) secure.send({ seq, body: `tls ${seq}` });
  await done;
  check(hello?.hello === serverRuntime, `TLS greeting ${JSON.stringify(hello)}`);
  check(replies.every((r, seq) => r.seq === seq && r.echo === `tls ${seq}` && r.from === serverRuntime), "TLS replies in order");
  await secure.close();
}

clearTimeout(deadline);
print(JSON.stringify({ runtime, adapter: fw.adapter.name, server: serverRuntime, ok: problems.length === 0, problems }));
exit(problems.length === 0 ? 0 : 1);
