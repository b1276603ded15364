/**
 * The conformance suite: behavioural scenarios written once, run against every adapter by its
 * real runtime — Bun (`bun test`), Node (`node --test`, on the built output) and Deno (`deno test`).
 * Each runtime's runner registers `scenarios` with its own test function; `test/conformance/kit.ts`
 * says what a runner provides.
 */
import type { Scenario } from "./kit.ts";
import { authScenarios } from "./suites/auth.ts";
import { coreScenarios } from "./suites/core.ts";
import { decodingScenarios } from "./suites/decoding.ts";
import { floodScenarios } from "./suites/flood.ts";
import { handlerScenarios } from "./suites/handlers.ts";
import { hostileScenarios } from "./suites/hostile/index.ts";
import { limitScenarios } from "./suites/limits.ts";
import { memoryScenarios } from "./suites/memory.ts";
import { optionScenarios } from "./suites/options.ts";
import { protocolScenarios } from "./suites/protocol.ts";
import { queueScenarios } from "./suites/queues.ts";
import { rateLimitScenarios } from "./suites/rate-limit.ts";
import { rateTransferScenarios } from "./suites/rate-transfer.ts";
import { reconnectScenarios } from "./suites/reconnect.ts";
import { resumeScenarios } from "./suites/resume.ts";
import { writtenBufferScenarios } from "./suites/written-buffers.ts";
import { tlsScenarios } from "./suites/tls.ts";
import { bindingScenarios } from "./suites/binding.ts";

export type { ChildProcess, ConformanceContext, NeverAcceptingPort, Scenario } from "./kit.ts";
export { AssertionFailed } from "./kit.ts";

export const scenarios: Scenario[] = [...coreScenarios, ...handlerScenarios, ...optionScenarios, ...protocolScenarios, ...queueScenarios, ...writtenBufferScenarios, ...memoryScenarios, ...decodingScenarios, ...floodScenarios, ...reconnectScenarios, ...resumeScenarios, ...limitScenarios, ...hostileScenarios, ...rateLimitScenarios, ...rateTransferScenarios, ...authScenarios, ...tlsScenarios, ...bindingScenarios];
