// Removes the code signature from a thin 64-bit little-endian Mach-O executable, in place, the way
// `codesign --remove-signature` does on macOS (which is not available on the Linux machines that build
// the release): drop the LC_CODE_SIGNATURE load command, shrink __LINKEDIT by the signature's size and
// cut the signature off the end of the file. The official Node.js macOS binaries are signed; once
// postject has added the NODE_SEA segment that signature would no longer match the file, and a binary
// with a broken signature is killed by macOS, while an unsigned x86_64 binary runs.
//
//   node scripts/lib/macho-unsign.mjs FILE     prints "removed" or "not signed"; exits 1 on a file it cannot handle
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const MH_MAGIC_64 = 0xfeedfacf; // read little-endian: x86_64 and arm64 Mach-O files
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const HEADER_SIZE = 32; // mach_header_64

/** @param {Buffer} buf */
export function unsignMachO(buf) {
  if (buf.readUInt32LE(0) !== MH_MAGIC_64) throw new Error("not a thin 64-bit little-endian Mach-O file");
  const ncmds = buf.readUInt32LE(16);
  const sizeofcmds = buf.readUInt32LE(20);
  let linkedit = -1; // offset of the __LINKEDIT segment command
  let sig = -1; // offset of the LC_CODE_SIGNATURE command
  let off = HEADER_SIZE;
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(off);
    const cmdsize = buf.readUInt32LE(off + 4);
    if (cmd === LC_SEGMENT_64 && buf.toString("latin1", off + 8, off + 24).replace(/\0+$/, "") === "__LINKEDIT") linkedit = off;
    if (cmd === LC_CODE_SIGNATURE) sig = off;
    off += cmdsize;
  }
  if (off !== HEADER_SIZE + sizeofcmds) throw new Error("load commands do not add up to sizeofcmds");
  if (sig < 0) return null;
  if (linkedit < 0) throw new Error("signed, but no __LINKEDIT segment");
  const sigCmdSize = buf.readUInt32LE(sig + 4);
  const dataoff = buf.readUInt32LE(sig + 8);
  const datasize = buf.readUInt32LE(sig + 12);
  if (dataoff + datasize !== buf.length) throw new Error("the signature is not at the end of the file");
  const segFileoff = Number(buf.readBigUInt64LE(linkedit + 40));
  const segFilesize = Number(buf.readBigUInt64LE(linkedit + 48));
  if (segFileoff + segFilesize !== buf.length) throw new Error("__LINKEDIT does not end at the end of the file");

  const out = Buffer.from(buf.subarray(0, dataoff));
  // Drop the load command: move the ones after it up and clear the freed space.
  const cmdsEnd = HEADER_SIZE + sizeofcmds;
  out.copy(out, sig, sig + sigCmdSize, cmdsEnd);
  out.fill(0, cmdsEnd - sigCmdSize, cmdsEnd);
  out.writeUInt32LE(ncmds - 1, 16);
  out.writeUInt32LE(sizeofcmds - sigCmdSize, 20);
  // __LINKEDIT now ends where the signature began (its vmsize stays: it still covers the data).
  out.writeBigUInt64LE(BigInt(dataoff - segFileoff), linkedit + 48);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node macho-unsign.mjs FILE");
    process.exit(2);
  }
  try {
    const out = unsignMachO(readFileSync(file));
    if (out) writeFileSync(file, out);
    console.log(out ? "removed" : "not signed");
  } catch (e) {
    console.error(`macho-unsign: ${file}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
