// child_process (with the dgram module it pulls in) costs every command ~8 ms to load, and only the
// --pre-check/--post-check commands need it: main.ts imports this file when it runs one.
export { spawn } from "node:child_process";
