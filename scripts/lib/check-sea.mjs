// Checks a packaged executable without running it (it may be for another OS or CPU):
//   - it is a Node.js single executable application: postject flipped the sentinel fuse and the blob
//     made by scripts/package.sh is in the file, byte for byte;
//   - it carries no code signature that the injection broke: no LC_CODE_SIGNATURE in a Mach-O file,
//     an empty certificate table in a PE file.
//
//   node scripts/lib/check-sea.mjs EXECUTABLE BLOB      prints what it found; exits 1 on a failed check
import { readFileSync } from "node:fs";

const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

function machO(buf) {
  const ncmds = buf.readUInt32LE(16);
  const segments = [];
  let signed = false;
  for (let i = 0, off = 32; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(off);
    if (cmd === 0x19) segments.push(buf.toString("latin1", off + 8, off + 24).replace(/\0+$/, "")); // LC_SEGMENT_64
    if (cmd === 0x1d) signed = true; // LC_CODE_SIGNATURE
    off += buf.readUInt32LE(off + 4);
  }
  if (signed) throw new Error("Mach-O: still has LC_CODE_SIGNATURE (broken by the injection)");
  if (!segments.includes("NODE_SEA")) throw new Error(`Mach-O: no NODE_SEA segment (segments: ${segments.join(", ")})`);
  return "Mach-O, unsigned, NODE_SEA segment";
}

function pe(buf) {
  const header = buf.readUInt32LE(0x3c);
  if (buf.readUInt32LE(header) !== 0x4550) throw new Error("PE: no PE signature");
  const optional = header + 24;
  if (buf.readUInt16LE(optional) !== 0x20b) throw new Error("PE: not PE32+");
  // Data directory 4, the certificate table (Authenticode), follows 112 bytes of PE32+ optional header.
  const certSize = buf.readUInt32LE(optional + 112 + 4 * 8 + 4);
  if (certSize !== 0) throw new Error(`PE: still has an Authenticode certificate table (${certSize} bytes)`);
  return "PE32+, no Authenticode signature";
}

const [file, blobFile] = process.argv.slice(2);
if (!file || !blobFile) {
  console.error("usage: node check-sea.mjs EXECUTABLE BLOB");
  process.exit(2);
}
try {
  const buf = readFileSync(file);
  const blob = readFileSync(blobFile);
  let format = "ELF";
  if (buf.readUInt32LE(0) === 0xfeedfacf) format = machO(buf);
  else if (buf.toString("latin1", 0, 2) === "MZ") format = pe(buf);
  else if (buf.toString("latin1", 0, 4) !== "\x7fELF") throw new Error("neither ELF, PE nor Mach-O");
  if (!buf.includes(`${FUSE}:1`) || buf.includes(`${FUSE}:0`)) throw new Error("the SEA fuse is not set");
  if (!buf.includes(blob)) throw new Error(`${blobFile} is not embedded`);
  console.log(`${format}; fuse set; blob embedded (${blob.length} bytes)`);
} catch (e) {
  console.error(`${file}: ${e.message}`);
  process.exit(1);
}
