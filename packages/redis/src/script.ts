import { createHash } from 'node:crypto';

/**
 * The publish command, as one Lua script so that it is atomic:
 * 1. reads the id of the newest entry (the previous link of the chain, '' for an empty stream);
 * 2. appends the entry (an event, or a control message such as a disconnect: both are links of the chain) with that
 *    id as field `p`, trimming to about `maxLength` entries (`MAXLEN ~`);
 * 3. with a `maxAge`, also trims entries older than `maxAge` ms by Redis' own clock (`MINID ~`). The new entry is
 *    never trimmed: its id is at least Redis' current time, which is above the cut.
 * Returns the new entry's id.
 *
 * KEYS[1] = stream key; ARGV[1] = maxLength; ARGV[2] = maxAge in ms ('0' for none); ARGV[3…] = field/value pairs.
 */
export const PUBLISH_SCRIPT = `local key = KEYS[1]
local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
local prev = ''
if last[1] then prev = last[1][1] end
local id = redis.call('XADD', key, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, unpack(ARGV, 3))
local age = tonumber(ARGV[2])
if age > 0 then
  local now = redis.call('TIME')
  local cut = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - age
  if cut > 0 then redis.call('XTRIM', key, 'MINID', '~', string.format('%d', cut)) end
end
return id
`;

/** SHA1 of {@link PUBLISH_SCRIPT}, for `EVALSHA`. */
export const PUBLISH_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex');
