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

// KEYS[1] = NAME:outputs; ARGV[1] = the job's entry id, ARGV[2] = a file name.
// Returns 1 when the name is now reserved for this job, 2 when it already was, 0 when another
// job (or a file that was there first) has it.
inline constexpr const char* kReserveOutput = R"lua(
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if not owner then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
if owner == ARGV[1] then return 2 end
return 0
)lua";

}  // namespace fetchpipe::queue::scripts
