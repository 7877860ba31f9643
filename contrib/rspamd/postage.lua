--[[
postage.lua - rspamd (3.4) rules reading the X-Postage-Result trace header
that postaged's milter adds to the mail it accepts (postage; the header's
grammar is in docs/pricing.md, "Where the price is applied").

Symbols (group "postage"):
  POSTAGE_PAID      the message paid postage.  Its score, -5 at full
                    weight, is scaled by the bits a stamp was worth, on the
                    scale SpamAssassin 3's Hashcash rules used (and
                    contrib/spamassassin/60_postage.cf uses): 16-19 bits
                    -0.3, 20 -0.5, 21 -0.7, 22 -1, 23 -2, 24 -3, 25 -4,
                    26 and more -5.  Fewer than 16 bits earn nothing.
                    The bits are V of "paid V/P" for one recipient, the
                    price for several (each paid stamp was worth at least
                    that).  List it in greylist's whitelist_symbols
                    (contrib/rspamd/greylist.conf): mail that paid is not
                    to be greylisted again.
  POSTAGE_REPLAYED  a stamp in it was already spent (+0.5: a Cc or list
                    copy may carry one, so a hint, not a verdict)
  POSTAGE_INVALID   a stamp in it was not a valid one (+0.5)
  POSTAGE_UNPAID    asked a price and paid nothing (+0.1: most mail today
                    carries no stamp, so this only breaks ties)

Install: copy this file to /etc/rspamd/lua/postage.lua and add
    lua = "$LOCAL_CONFDIR/lua/postage.lua";
to /etc/rspamd/rspamd.conf.local (contrib/rspamd/rspamd.conf.local).

Why the header can be trusted: postaged's milter removes every incoming
copy of X-Postage-Result before adding its own, on top; only the topmost
is read here.  That holds only where postaged's milter runs on the MTA
that takes the mail from the Internet, before rspamd sees it, for every
way mail comes in (README, "With SpamAssassin or rspamd"): not with
postaged as a policy server alone, not for local submission unless it is
in non_smtpd_milters too, not with milter_default_action = accept.
rspamd cannot check the host name in the header; a site can set
POSTAGE_HOST below to its postaged's hostname to have that checked too.
]]

local rspamd_logger = require "rspamd_logger"

-- The hostname postaged writes first in the header (postaged.conf
-- hostname), or nil to accept any.
local POSTAGE_HOST = nil

-- Score of each symbol at weight 1; POSTAGE_PAID's weight scales it.
local PAID_MAX = -5.0
-- bits -> fraction of PAID_MAX (the Hashcash scale above).
local function paid_weight(bits)
  if bits >= 26 then return 1.0
  elseif bits == 25 then return 0.8
  elseif bits == 24 then return 0.6
  elseif bits == 23 then return 0.4
  elseif bits == 22 then return 0.2
  elseif bits == 21 then return 0.14
  elseif bits == 20 then return 0.1
  elseif bits >= 16 then return 0.06
  end
  return 0
end

-- Parse a header value; nil unless it has postaged's grammar, whole:
--   HOST; price=P[; promise]; reputation=R; stamps=N; replayed=N; invalid=N; TAIL
-- where TAIL is "rcpt=<ADDR> OUTCOME" (one recipient) or "name=N; ..."
-- counts.  ADDR is the sender's text, but OUTCOME always comes last, so
-- it is read from the end.
local function parse(value)
  local v = value:gsub('[\r\n]+[ \t]*', ' '):gsub('^%s+', ''):gsub('%s+$', '')
  local host, price, rest = v:match('^([^;%s]+); price=(%d+)(.*)$')
  if not host then return nil end
  rest = rest:gsub('^; promise', '', 1)
  local rep, stamps, replayed, invalid, tail = rest:match(
    '^; reputation=([%w%-]+); stamps=(%d+); replayed=(%d+); invalid=(%d+); (.+)$')
  if not rep then return nil end
  local r = { host = host, price = tonumber(price), replayed = tonumber(replayed),
              invalid = tonumber(invalid), counts = {} }
  if tail:sub(1, 5) == 'rcpt=' then
    local value_bits = tail:match('^rcpt=<.*> paid (%d+)/%d+$') or
                       tail:match('^rcpt=<.*> paid (%d+)/%d+ argon2id$')
    if value_bits then
      r.counts.paid = 1
      r.bits = tonumber(value_bits)
    else
      local outcome = tail:match('^rcpt=<.*> ([%w%-]+)$')
      if not outcome then return nil end
      r.counts[outcome] = 1
    end
  else
    for field in (tail .. ';'):gmatch('%s*([^;]*);') do
      local name, n = field:match('^([%w%-]+)=(%d+)$')
      if not name then return nil end
      r.counts[name] = tonumber(n)
    end
    r.bits = r.price
  end
  return r
end

local function postage_cb(task)
  -- The topmost copy only: postaged inserts its own on top.
  local hdrs = task:get_header_full('X-Postage-Result')
  if not hdrs or not hdrs[1] then return end
  local r = parse(hdrs[1].decoded or hdrs[1].value or '')
  if not r then return end
  if POSTAGE_HOST and r.host:lower() ~= POSTAGE_HOST:lower() then return end
  if (r.counts.paid or 0) > 0 then
    local w = paid_weight(r.bits or 0)
    if w > 0 then
      task:insert_result('POSTAGE_PAID', w, string.format('%d bits', r.bits))
    end
  elseif r.price > 0 and ((r.counts['greylist-passed'] or 0) > 0 or (r.counts.unpaid or 0) > 0)
      and not r.counts.free and not r.counts.whitelisted then
    task:insert_result('POSTAGE_UNPAID', 1.0)
  end
  if r.replayed > 0 then task:insert_result('POSTAGE_REPLAYED', 1.0, tostring(r.replayed)) end
  if r.invalid > 0 then task:insert_result('POSTAGE_INVALID', 1.0, tostring(r.invalid)) end
end

local id = rspamd_config:register_symbol({
  name = 'POSTAGE_CHECK',
  type = 'callback',
  callback = postage_cb,
})
local symbols = {
  POSTAGE_PAID = { PAID_MAX, 'postaged: the message paid postage (scaled by the bits)' },
  POSTAGE_REPLAYED = { 0.5, 'postaged: a stamp in the message was already spent' },
  POSTAGE_INVALID = { 0.5, 'postaged: a stamp in the message was not a valid one' },
  POSTAGE_UNPAID = { 0.1, 'postaged: asked for postage, none paid' },
}
for name, s in pairs(symbols) do
  rspamd_config:register_symbol({ name = name, type = 'virtual', parent = id,
                                  score = s[1], description = s[2], group = 'postage' })
end
rspamd_logger.infox(rspamd_config, 'postage: X-Postage-Result rules loaded')
