//! The seen-set's layout: binary fingerprints in small hashes, grown by linear hashing.
//!
//! Why not a set of URL strings: scrapy-redis keeps 40-char SHA-1 hex strings in a
//! set and pays about 88 bytes per URL. Here each partition's seen-set is a row of
//! small hashes `seen:0`, `seen:1`, ... whose fields are the 8-byte fingerprints
//! (values empty). A hash of up to `hash-max-listpack-entries` (128 by default)
//! small fields is stored as one listpack: a field costs its 8 bytes plus 2 of
//! header, the empty value 2 more, and the hash itself a key and an object
//! (~100 bytes) shared by its fields.
//!
//! The buckets must stay under 128 fields or Redis turns them into real hash
//! tables (~70 bytes a field, for good), yet no one knows at the start how many URLs
//! a partition will hold (one partition may hold one huge host). So the bucket row
//! grows by *linear hashing*: it starts at [`INITIAL_BUCKETS`]; each time the
//! partition's fingerprints exceed [`LOAD`] per bucket, the next bucket in turn is
//! split in two (its fields rehashed with one more bit). Buckets then hold between
//! about `LOAD/2` and `2*LOAD` fields, far from 128, and memory per URL stays near
//! 12 bytes plus the bucket's share (BENCHMARKS.md has the measured figure). A
//! lookup reads one bucket: `(level, split)` say which.
//!
//! All of it runs inside the enqueue script, on keys of one partition (the bucket
//! names are built from the partition's `seen` key, so they carry its hash tag).

/// Buckets a partition starts with.
pub const INITIAL_BUCKETS: u32 = 8;
/// Mean fingerprints per bucket before the next split.
pub const LOAD: u32 = 32;

/// Lua: `seen_add(meta, fp)` adds fingerprint `fp` (8 bytes) to the seen-set whose
/// state is the hash `meta` and returns true when it was new.
pub(crate) fn lua() -> String {
    format!(
        r#"
local SEEN_N0 = {INITIAL_BUCKETS}
local SEEN_LOAD = {LOAD}
local function seen_hash(fp)
  local a, b, c, d = string.byte(fp, 1, 4)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
local function seen_state(meta)
  local s = redis.call('HMGET', meta, 'n', 'level', 'split')
  return {{ n = tonumber(s[1]) or 0, level = tonumber(s[2]) or 0, split = tonumber(s[3]) or 0 }}
end
local function seen_bucket(state, h)
  local m = SEEN_N0 * 2 ^ state.level
  local b = h % m
  if b < state.split then b = h % (m * 2) end
  return b
end
local function seen_split(meta, state)
  local m = SEEN_N0 * 2 ^ state.level
  local from = meta .. ':' .. state.split
  local to = meta .. ':' .. (state.split + m)
  local fields = redis.call('HKEYS', from)
  for _, f in ipairs(fields) do
    if seen_hash(f) % (m * 2) ~= state.split then
      redis.call('HDEL', from, f)
      redis.call('HSET', to, f, '')
    end
  end
  state.split = state.split + 1
  if state.split >= m then
    state.level = state.level + 1
    state.split = 0
  end
end
local function seen_add(meta, state, fp)
  local b = seen_bucket(state, seen_hash(fp))
  if redis.call('HSETNX', meta .. ':' .. b, fp, '') == 0 then return false end
  state.n = state.n + 1
  while state.n > SEEN_LOAD * (SEEN_N0 * 2 ^ state.level + state.split) do
    seen_split(meta, state)
  end
  return true
end
local function seen_save(meta, state)
  redis.call('HSET', meta, 'n', state.n, 'level', state.level, 'split', state.split)
end
"#
    )
}
