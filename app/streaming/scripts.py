"""The Lua scripts behind the stream protocol (`protocol.py` calls them, and names the keys).

Each runs atomically in Redis: a slot's guard keys and its buffer change together or not at
all, whichever worker, socket or watchdog calls.
"""

# KEYS: final, lease, attempt, buffer, last seq, owner.
# ARGV: channel, lease ms, ttl s, slot, max attempts, '1' if the slot was started before,
# a fresh id for the reset event, the lease token ('': the attempt's number).
BEGIN_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local attempt = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
if attempt > tonumber(ARGV[5]) then return -attempt end
local holder = ARGV[8]
if holder == '' then holder = tostring(attempt) end
redis.call('SET', KEYS[2], holder, 'PX', ARGV[2])
redis.call('SET', KEYS[6], holder, 'EX', ARGV[3])
redis.call('DEL', KEYS[5])
if attempt > 1 or ARGV[6] == '1' then
  local event = cjson.encode({type='reset', slot=ARGV[4], attempt=attempt, id=ARGV[7]})
  redis.call('DEL', KEYS[4])
  redis.call('RPUSH', KEYS[4], event)
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  redis.call('PUBLISH', ARGV[1], event)
end
return attempt
"""

# KEYS: buffer, final, lease, last seq. ARGV: channel, event, ttl s, lease token, lease ms, seq.
# A call that is sent again (a client retrying after a timeout) appends nothing twice.
# -1: the lease is gone (Redis restarted empty, or the lease lapsed): `SlotWriter.restore`,
# then send it again.
APPEND_TOKEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local holder = redis.call('GET', KEYS[3])
if not holder then return -1 end
if holder ~= ARGV[4] then return 0 end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[6]) then return 1 end
redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[3])
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
"""

# KEYS: lease. ARGV: lease token, lease ms. -1: the lease is gone (restore it).
RENEW_LEASE = """
local holder = redis.call('GET', KEYS[1])
if not holder then return -1 end
if holder ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: final, lease, owner, attempt, buffer, last seq.
# ARGV: lease token, lease ms, ttl s, attempt number, last seq, "ask" or "events", then
# (with "events") the attempt's events.
# Gives a running attempt its lease back, and its keys and events when Redis lost them:
# 0 if the slot was claimed or another attempt began, 1 if only the lease had to be
# retaken, 2 if the slot was rebuilt, 3 if it needs rebuilding and "ask" sent no events
# (nothing was written: call again with them).
RESTORE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 0 end
local owner = redis.call('GET', KEYS[3])
if owner and owner ~= ARGV[1] then return 0 end
-- No owner: Redis lost the slot (then it lost its counter and buffer too), or a retry
-- reopened it (which leaves a buffer), or an older version began the attempt.
if not owner and (redis.call('EXISTS', KEYS[4]) == 1 or redis.call('EXISTS', KEYS[5]) == 1) then
  return 0
end
local last = tonumber(redis.call('GET', KEYS[6]) or '0')
if owner and last >= tonumber(ARGV[5]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return 1
end
-- Asked without the events: write nothing, so the rebuild stays one atomic step.
if ARGV[6] == 'ask' then return 3 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[3])
redis.call('SET', KEYS[6], ARGV[5], 'EX', ARGV[3])
redis.call('DEL', KEYS[5])
for i = 7, #ARGV do redis.call('RPUSH', KEYS[5], ARGV[i]) end
redis.call('EXPIRE', KEYS[5], ARGV[3])
return 2
"""

# KEYS: the slot's orphan mark. ARGV: grace ms.
# 1 once the slot has been seen without its keys for `grace` ms (by any watchdog), else 0.
ORPHANED_FOR = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local since = redis.call('GET', KEYS[1])
if not since then
  redis.call('SET', KEYS[1], ms, 'PX', 3 * tonumber(ARGV[1]))
  return 0
end
if ms - tonumber(since) >= tonumber(ARGV[1]) then return 1 end
return 0
"""

# KEYS: buffer. ARGV: ttl s, events. Fills a buffer that Redis lost, only if it is empty.
REFILL = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS: final, lease. ARGV: ttl s, lease token ('' when ending from outside the generating task).
CLAIM = """
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if redis.call('SET', KEYS[1], 'claimed', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
"""

# KEYS: buffer, final. ARGV: channel, event, ttl s.
EMIT_TERMINAL = """
if redis.call('GET', KEYS[2]) == 'emitted' then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], 'emitted', 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""

# KEYS: restart pending, restart count. ARGV: wait ms, ttl s.
REQUEST_RESTART = """
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) == false then return -1 end
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return n
"""

# KEYS: final, lease, attempt, buffer, last seq, restart pending, restarts, owner.
# ARGV: channel, ttl s, slot, max attempts, a fresh id for the reset event.
# The lease fences a superseded attempt by its number, so a reopened slot's next attempt
# must not take a number a live attempt holds: the count goes on while numbers are left;
# once they are used up it starts again, but only when no attempt holds the lease. Without
# an owner, a stopped attempt cannot take the slot back (`RESTORE`).
REOPEN = """
local leased = redis.call('EXISTS', KEYS[2]) == 1
if leased and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  if leased then return -1 end
  redis.call('DEL', KEYS[3])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
local event = cjson.encode({type='reset', slot=ARGV[3], id=ARGV[5]})
redis.call('DEL', KEYS[4])
redis.call('RPUSH', KEYS[4], event)
redis.call('EXPIRE', KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[1], event)
return 1
"""
