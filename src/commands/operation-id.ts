// The one source of randomness in a command: the id its records carry (kept out of src/bluegreen, which is pure).
import { randomBytes } from "node:crypto";

/** A fresh operation id for a record: a switch, a deploy, a scale-down mark. */
export const operationId = (): string => randomBytes(8).toString("hex");
