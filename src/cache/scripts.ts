/**
 * Lua run inside Redis, so a sale-day order costs one command before its publish and one after
 * (each is one EVALSHA: one ioredis command object, one parse in Redis, atomic).
 */

/** INCRBY, then set the window only on the first increment, atomically. KEYS[1]; ARGV by, windowMs. */
export const INCR_WINDOW_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

/**
 * The first ARGV[1] keys are windowed counters (ARGV by, windowMs per counter, as INCR_WINDOW_SCRIPT);
 * the rest are read. Answers the counts, then the values (false → nil reply for a missing key, so
 * the array keeps its length).
 */
export const INCR_AND_GET_SCRIPT = `
local counters = tonumber(ARGV[1])
local out = {}
for i = 1, counters do
  local by = tonumber(ARGV[2 * i])
  local value = redis.call('INCRBY', KEYS[i], by)
  if value == by then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1]) end
  out[i] = value
end
for i = counters + 1, #KEYS do out[i] = redis.call('GET', KEYS[i]) end
return out`;

/** Every KEYS[i] set to ARGV value, ttlMs, ifAbsent ('1' → NX) per key. */
export const SET_MANY_SCRIPT = `
for i = 1, #KEYS do
  local at = 3 * (i - 1)
  if ARGV[at + 3] == '1' then
    redis.call('SET', KEYS[i], ARGV[at + 1], 'PX', ARGV[at + 2], 'NX')
  else
    redis.call('SET', KEYS[i], ARGV[at + 1], 'PX', ARGV[at + 2])
  end
end
return #KEYS`;
