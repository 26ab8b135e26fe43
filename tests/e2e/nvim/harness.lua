-- Shared by the headless Neovim scripts of tests/test_neovim.py (0.7 and later):
--   local h = dofile(os.getenv('RTK_HARNESS'))
--   h.run(function(results, log) ... end)
-- h.run writes {log, results, notes} as JSON to RTK_OUT and quits: 0 when the function returned,
-- non-zero (cq!) when it raised, so that a broken run never hangs the test. `notes` holds every
-- vim.notify message, which the scripts under test use to talk to the user.
local H = {}

H.notes = {}
vim.notify = function(message, level)
  table.insert(H.notes, { message = tostring(message), level = level or vim.log.levels.INFO })
end

-- Waits (processing events) until fn() is true; raises `what` after timeout_ms.
function H.wait(timeout_ms, fn, what)
  assert(vim.wait(timeout_ms, fn, 20), what .. ' timed out')
end

-- The rtk clients, started or still starting, on 0.7 (get_active_clients lists only
-- initialized ones there, so ids of clients known to the caller are looked up as well).
function H.rtk_clients(ids)
  local found, seen = {}, {}
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  for _, id in ipairs(ids or {}) do
    table.insert(all, vim.lsp.get_client_by_id(id))
  end
  for _, c in ipairs(all) do
    if c.name == 'rtk' and not seen[c.id] then
      seen[c.id] = true
      table.insert(found, c)
    end
  end
  return found
end

-- The scratch buffer :RtkPlan opened, if any.
function H.plan_buffer()
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.b[buf].rtk_task ~= nil then
      return buf
    end
  end
  return nil
end

-- Stops every rtk client and waits for them to exit.
function H.stop_all()
  local ids = {}
  for _, c in ipairs(H.rtk_clients()) do
    table.insert(ids, c.id)
  end
  vim.lsp.stop_client(ids)
  vim.wait(10000, function()
    for _, id in ipairs(ids) do
      if vim.lsp.get_client_by_id(id) ~= nil then
        return false
      end
    end
    return true
  end, 20)
end

function H.run(fn)
  local out_path = assert(os.getenv('RTK_OUT'), 'RTK_OUT not set')
  local results, log = {}, {}
  local ok, err = pcall(fn, results, log)
  if not ok then
    table.insert(log, 'ERROR ' .. tostring(err))
  end
  pcall(H.stop_all)
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.json.encode({ log = log, results = results, notes = H.notes }))
  f:close()
  vim.cmd(ok and 'qa!' or 'cq!')
end

return H
