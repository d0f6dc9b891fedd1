// SPDX-License-Identifier: Apache-2.0
// MurmurHash3 x86_32 and x64_128 (seed 0), written from the published algorithm, so tests can
// compute Tyk's Redis key names independently of the gateway's C code.

export function murmur32(str) {
  const data = Buffer.from(str, 'utf8');
  const c1 = 0xcc9e2d51, c2 = 0x1b873593;
  let h = 0;
  const nblocks = data.length >> 2;
  for (let i = 0; i < nblocks; i++) {
    let k = data.readUInt32LE(i * 4);
    k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2);
    h ^= k; h = (h << 13) | (h >>> 19); h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const tail = nblocks * 4;
  switch (data.length & 3) {
    case 3: k ^= data[tail + 2] << 16; // fallthrough
    case 2: k ^= data[tail + 1] << 8; // fallthrough
    case 1: k ^= data[tail]; k = Math.imul(k, c1); k = (k << 15) | (k >>> 17); k = Math.imul(k, c2); h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return (h >>> 0).toString(16).padStart(8, '0');
}

const M64 = (1n << 64n) - 1n;
const rotl64 = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const fmix64 = (k) => {
  k ^= k >> 33n; k = (k * 0xff51afd7ed558ccdn) & M64; k ^= k >> 33n; k = (k * 0xc4ceb9fe1a85ec53n) & M64; k ^= k >> 33n;
  return k;
};

export function murmur128(str) {
  const data = Buffer.from(str, 'utf8');
  const c1 = 0x87c37b91114253d5n, c2 = 0x4cf5ad432745937fn;
  let h1 = 0n, h2 = 0n;
  const nblocks = data.length >> 4;
  for (let i = 0; i < nblocks; i++) {
    let k1 = data.readBigUInt64LE(i * 16), k2 = data.readBigUInt64LE(i * 16 + 8);
    k1 = (k1 * c1) & M64; k1 = rotl64(k1, 31); k1 = (k1 * c2) & M64; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 = (h1 + h2) & M64; h1 = (h1 * 5n + 0x52dce729n) & M64;
    k2 = (k2 * c2) & M64; k2 = rotl64(k2, 33); k2 = (k2 * c1) & M64; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 = (h2 + h1) & M64; h2 = (h2 * 5n + 0x38495ab5n) & M64;
  }
  const tail = data.subarray(nblocks * 16);
  let k1 = 0n, k2 = 0n;
  for (let i = tail.length - 1; i >= 8; i--) k2 ^= BigInt(tail[i]) << BigInt((i - 8) * 8);
  if (tail.length > 8) { k2 = (k2 * c2) & M64; k2 = rotl64(k2, 33); k2 = (k2 * c1) & M64; h2 ^= k2; }
  for (let i = Math.min(tail.length, 8) - 1; i >= 0; i--) k1 ^= BigInt(tail[i]) << BigInt(i * 8);
  if (tail.length > 0) { k1 = (k1 * c1) & M64; k1 = rotl64(k1, 31); k1 = (k1 * c2) & M64; h1 ^= k1; }
  const len = BigInt(data.length);
  h1 ^= len; h2 ^= len;
  h1 = (h1 + h2) & M64; h2 = (h2 + h1) & M64;
  h1 = fmix64(h1); h2 = fmix64(h2);
  h1 = (h1 + h2) & M64; h2 = (h2 + h1) & M64;
  return h1.toString(16).padStart(16, '0') + h2.toString(16).padStart(16, '0');
}
export const murmur64 = (s) => murmur128(s).slice(0, 16);

/* generateToken(org, id) with a hash_key_function set: base64 of the exact JSON text. */
