// Checks a packaged executable without running it (it may be for another OS or CPU):
//   - it is a Node.js single executable application: postject flipped the sentinel fuse and the blob
//     made by scripts/package.sh is in the file, byte for byte;
//   - a Mach-O file carries a valid ad-hoc code signature made after the injection: its code directories
//     (SHA-256, and SHA-1 if present) hash every page of the file up to the signature, and the
//     requirements and entitlements they name; an arm64 Mach-O with no valid signature does not run on
//     Apple silicon. (rcodesign verify expects a CMS signature, which an ad-hoc one has not.)
//   - a PE file carries no Authenticode signature that the injection broke: an empty certificate table.
//
//   node scripts/lib/check-sea.mjs EXECUTABLE BLOB      prints what it found; exits 1 on a failed check
//   node scripts/lib/check-sea.mjs --signature MACHO    only the signature's hashes, of any kind (ad hoc or not)
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

// Node.js's single-executable sentinel, from scripts/lib/release.sh (which exports it).
const FUSE = process.env.BLUEGREEN_SEA_FUSE ?? "";
const CPU = new Map([
  [0x01000007, "x86_64"],
  [0x0100000c, "arm64"],
]);
/** @type {Record<number, string>} */
const HASHES = { 1: "sha1", 2: "sha256" };
const SPECIAL_SLOTS = { 2: "requirements", 5: "entitlements", 7: "DER entitlements" }; // slot -k holds the blob of type k

/**
 * The code directories of the signature at [off, off+size), each checked against the file; throws at the first mismatch.
 * @param {Buffer} buf @param {number} off @param {number} size @param {boolean} adhoc
 */
function checkSignature(buf, off, size, adhoc) {
  if (off + size > buf.length) throw new Error("Mach-O: the code signature runs past the end of the file");
  if (buf.readUInt32BE(off) !== 0xfade0cc0) throw new Error("Mach-O: the code signature is not a SuperBlob");
  if (buf.readUInt32BE(off + 4) > size) throw new Error("Mach-O: the SuperBlob is larger than LC_CODE_SIGNATURE says");
  const blobs = new Map();
  for (let i = 0, n = buf.readUInt32BE(off + 8); i < n; i++) {
    const type = buf.readUInt32BE(off + 12 + 8 * i);
    const at = off + buf.readUInt32BE(off + 16 + 8 * i);
    blobs.set(type, buf.subarray(at, at + buf.readUInt32BE(at + 4)));
  }
  const found = [];
  for (const [type, cd] of blobs) {
    if (type !== 0 && (type < 0x1000 || type >= 0x1005)) continue; // the code directory and its alternates
    if (cd.readUInt32BE(0) !== 0xfade0c02) throw new Error(`Mach-O: blob ${type} is not a code directory`);
    const flags = cd.readUInt32BE(12);
    const hashOffset = cd.readUInt32BE(16);
    const identifier = cd.toString("latin1", cd.readUInt32BE(20), cd.indexOf(0, cd.readUInt32BE(20)));
    const nSpecial = cd.readUInt32BE(24);
    const nCode = cd.readUInt32BE(28);
    const codeLimit = cd.readUInt32BE(32);
    const hashSize = cd[36] ?? 0;
    const algorithm = HASHES[cd[37] ?? 0];
    const pageSize = 2 ** (cd[39] ?? 0);
    if (!algorithm) throw new Error(`Mach-O: unknown hash type ${cd[37]}`);
    if (adhoc && !(flags & 0x2)) throw new Error(`Mach-O: code directory ${identifier} is not ad hoc (flags ${flags.toString(16)})`);
    if (codeLimit !== off) throw new Error(`Mach-O: the signature covers ${codeLimit} bytes, not the ${off} before it`);
    if (nCode !== Math.ceil(codeLimit / pageSize)) throw new Error(`Mach-O: ${nCode} page hashes for ${codeLimit} bytes`);
    const hash = (/** @type {Buffer} */ data) => createHash(algorithm).update(data).digest();
    for (let page = 0; page < nCode; page++) {
      const want = cd.subarray(hashOffset + page * hashSize, hashOffset + (page + 1) * hashSize);
      if (!hash(buf.subarray(page * pageSize, Math.min((page + 1) * pageSize, codeLimit))).equals(want)) {
        throw new Error(`Mach-O: page ${page} does not match its ${algorithm} hash (the file changed after signing)`);
      }
    }
    for (const [slot, name] of Object.entries(SPECIAL_SLOTS)) {
      if (Number(slot) > nSpecial) continue;
      const want = cd.subarray(hashOffset - Number(slot) * hashSize, hashOffset - (Number(slot) - 1) * hashSize);
      const blob = blobs.get(Number(slot));
      const got = blob ? hash(blob) : Buffer.alloc(hashSize);
      if (!got.equals(want)) throw new Error(`Mach-O: the ${name} do not match their ${algorithm} hash`);
    }
    found.push(`${identifier}: ${flags & 0x2 ? "ad hoc, " : ""}${algorithm}, ${nCode} pages`);
  }
  if (found.length === 0) throw new Error("Mach-O: the signature has no code directory");
  return found;
}

/** @param {Buffer} buf */
function machO(buf, { sea = true, adhoc = true } = {}) {
  const cpu = CPU.get(buf.readUInt32LE(4)) ?? `CPU ${buf.readUInt32LE(4).toString(16)}`;
  const ncmds = buf.readUInt32LE(16);
  const segments = [];
  /** @type {[number, number] | undefined} offset and size of the signature */
  let signature;
  for (let i = 0, off = 32; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(off);
    if (cmd === 0x19) segments.push(buf.toString("latin1", off + 8, off + 24).replace(/\0+$/, "")); // LC_SEGMENT_64
    if (cmd === 0x1d) signature = [buf.readUInt32LE(off + 8), buf.readUInt32LE(off + 12)]; // LC_CODE_SIGNATURE
    off += buf.readUInt32LE(off + 4);
  }
  if (sea && !segments.includes("NODE_SEA")) throw new Error(`Mach-O: no NODE_SEA segment (segments: ${segments.join(", ")})`);
  if (!signature) throw new Error("Mach-O: not signed (an arm64 executable without a signature does not run)");
  const found = checkSignature(buf, ...signature, adhoc);
  return `Mach-O ${cpu}${sea ? ", NODE_SEA segment" : ""}, signature's hashes valid (${found.join("; ")})`;
}

/** @param {Buffer} buf */
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
  console.error("usage: node check-sea.mjs EXECUTABLE BLOB | --signature MACHO");
  process.exit(2);
}
if (file === "--signature") {
  try {
    console.log(machO(readFileSync(blobFile), { sea: false, adhoc: false }));
  } catch (e) {
    console.error(`${blobFile}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  process.exit(0);
}
try {
  const buf = readFileSync(file);
  const blob = readFileSync(blobFile);
  let format = "ELF";
  if (buf.readUInt32LE(0) === 0xfeedfacf) format = machO(buf);
  else if (buf.toString("latin1", 0, 2) === "MZ") format = pe(buf);
  else if (buf.toString("latin1", 0, 4) !== "\x7fELF") throw new Error("neither ELF, PE nor Mach-O");
  if (!FUSE) throw new Error("BLUEGREEN_SEA_FUSE is not set (scripts/lib/release.sh exports it)");
  if (!buf.includes(`${FUSE}:1`) || buf.includes(`${FUSE}:0`)) throw new Error("the SEA fuse is not set");
  if (!buf.includes(blob)) throw new Error(`${blobFile} is not embedded`);
  console.log(`${format}; fuse set; blob embedded (${blob.length} bytes)`);
} catch (e) {
  console.error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
