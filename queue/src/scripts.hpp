// scripts.hpp — the Lua scripts the queue runs inside Redis. Each runs atomically (Redis runs one
// script at a time), which is what makes "acknowledge, and record only if that acknowledgement
// removed the job" a single step no other worker can interleave with.
#pragma once

namespace fetchpipe::queue::scripts {

// KEYS[1] = the job stream, KEYS[2] = where to record (NAME:results or NAME:dead);
// ARGV[1] = the group, ARGV[2] = the job's entry id, ARGV[3..] = field, value, ...
// Returns 1 when this call removed the job from the pending list and recorded, else 0.
inline constexpr const char* kAckAndRecord = R"lua(
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
  return 1
end
return 0
)lua";

// Output names, all in the hash KEYS[1] = NAME:outputs: field "n:NAME" = the job id owning
// NAME, "j:ID" = the name of job ID, "x:BASE" = the next suffix to try for BASE (a hint that keeps
// ten thousand jobs wanting "index.html" linear instead of quadratic).
// ARGV[1] = job id, ARGV[2] = base name, ARGV[3] = "1" to give up the name held so far (it turned
// out to be taken on disk; it stays owned, so nothing else gets it either).
// Returns {name, 1} for a name reserved now, {name, 0} for the name this job already had.
inline constexpr const char* kReserveOutput = R"lua(
local h = KEYS[1]
if ARGV[3] == '1' then redis.call('HDEL', h, 'j:' .. ARGV[1]) end
local mine = redis.call('HGET', h, 'j:' .. ARGV[1])
if mine then return {mine, 0} end
local first = tonumber(redis.call('HGET', h, 'x:' .. ARGV[2]) or '0')
for i = first, first + 10000 do
  local name = ARGV[2]
  if i > 0 then name = name .. '.' .. i end
  if redis.call('HSETNX', h, 'n:' .. name, ARGV[1]) == 1 then
    redis.call('HSET', h, 'j:' .. ARGV[1], name, 'x:' .. ARGV[2], i + 1)
    return {name, 1}
  end
end
return redis.error_reply('no free output name for ' .. ARGV[2])
)lua";

}  // namespace fetchpipe::queue::scripts
