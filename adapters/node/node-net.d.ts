/**
 * The smallest ambient view of `node:net` that lets `adapter.ts` import it without @types/node.
 * The functions return `unknown`: the adapter narrows them to its own structural types, so these
 * overloads merge harmlessly with @types/node's if both are ever in one compilation. Compile-time
 * only; nothing in the emitted declarations refers to it.
 */
declare module "node:net" {
  export function createServer(options?: object): unknown;
  export function connect(options: object): unknown;
}
declare module "node:tls" {
  export function createServer(options?: object): unknown;
  export function connect(options: object): unknown;
  export function checkServerIdentity(hostname: string, cert: object): unknown;
}
declare module "node:crypto" {
  export function createHash(algorithm: string): unknown;
}
declare module "node:os" {
  export function networkInterfaces(): unknown;
}
