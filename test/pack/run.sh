#!/usr/bin/env bash
# Proves the package as a user gets it: `npm pack`, then three fresh projects install the tarball
# and run a small echo — Bun (bun add), Node (plain .mjs, plus a TypeScript file type-checked by
# tsc with @types/node only: no bun-types, no Deno lib), Deno (an npm: specifier), and the native
# path from the platform package (framewire-native-linux-x64-gnu) on Node and Bun.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/node_modules/.bin"
work="$(mktemp -d /tmp/framewire-pack.XXXXXX)"
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
echo "== packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

echo "== Bun project"
mkdir "$work/bun-app" && cd "$work/bun-app"
echo '{ "name": "bun-app", "private": true, "type": "module" }' > package.json
"$bin/bun" add "$tarball" > /dev/null
cp "$root/test/pack/echo.mjs" echo.mjs
timeout 60 "$bin/bun" echo.mjs framewire
timeout 60 "$bin/bun" echo.mjs framewire/bun
node "$root/test/pack/readme-example.mjs" "$root/README.md" bun > readme.ts
timeout 60 "$bin/bun" readme.ts | tee readme.out
grep -q 'hello: "world"' readme.out
grep -q "} via bun" readme.out

echo "== Node project"
mkdir "$work/node-app" && cd "$work/node-app"
echo '{ "name": "node-app", "private": true, "type": "module" }' > package.json
npm install --silent --no-audit --no-fund "$tarball" typescript@5.9.3 @types/node@22.20.7 > /dev/null
cp "$root/test/pack/echo.mjs" echo.mjs
timeout 60 node echo.mjs framewire
timeout 60 node echo.mjs framewire/node
node "$root/test/pack/readme-example.mjs" "$root/README.md" node > readme.mjs
timeout 60 node readme.mjs | tee readme.out
grep -q "HELLO FROM NODE via node" readme.out
cp "$root/test/pack/typed.ts" typed.ts
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
  "strict": true, "noEmit": true, "skipLibCheck": false, "types": ["node"] }, "files": ["typed.ts"] }
JSON
./node_modules/.bin/tsc -p tsconfig.json
echo "tsc: typed.ts type-checks against framewire/node with @types/node only"

echo "== Deno project"
mkdir "$work/deno-app" && cd "$work/deno-app"
echo '{ "name": "deno-app", "private": true, "type": "module" }' > package.json
npm install --silent --no-audit --no-fund "$tarball" > /dev/null
echo '{ "nodeModulesDir": "manual" }' > deno.json
cp "$root/test/pack/echo.mjs" echo.mjs
timeout 60 "$bin/deno" run -A echo.mjs npm:framewire
timeout 60 "$bin/deno" run -A echo.mjs npm:framewire/deno
node "$root/test/pack/readme-example.mjs" "$root/README.md" deno > readme.ts
timeout 60 "$bin/deno" run -A readme.ts | tee readme.out
grep -q "3, 2, 1 \] via deno" readme.out
echo "README examples: the Bun, Node and Deno blocks ran as written"
echo "== Native project: the main tarball plus the platform package, no toolchain at install"
platform="$(bash "$root/zig/stage-platform-package.sh" "$work")"
echo "== packed $(basename "$platform") ($(du -k "$platform" | cut -f1) KiB)"
mkdir "$work/native-app" && cd "$work/native-app"
echo '{ "name": "native-app", "private": true, "type": "module" }' > package.json
npm install --silent --no-audit --no-fund "$tarball" "$platform" > /dev/null
cp "$root/test/pack/native.mjs" native.mjs
timeout 60 node native.mjs
timeout 60 "$bin/bun" native.mjs
echo "== pack check: all four projects ran"
