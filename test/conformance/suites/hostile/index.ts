/** The hostile-input battery (the harness is ./kit.ts): every attack with a bystander, a memory check and no unhandled errors. */
import type { Scenario } from "../../kit.ts";
import { codecAttacks } from "./codecs.ts";
import { handlerAttacks } from "./failing-handlers.ts";
import { floodAttacks } from "./floods.ts";
import { frameAttacks } from "./frames.ts";
import { handshakeAttacks } from "./handshake.ts";
import { peerAttacks } from "./peers.ts";

export const hostileScenarios: Scenario[] = [...handshakeAttacks, ...frameAttacks, ...floodAttacks, ...peerAttacks, ...codecAttacks, ...handlerAttacks];
