-- Headless Neovim (0.7+) as a real LSP client of rtk-lsp. Driven by tests/test_neovim.py:
--   RTK_HARNESS, RTK_PYTHON, RTK_PYTHONPATH, RTK_CACHE, RTK_ROOT, RTK_OUT, RTK_EDITOR_LUA
-- Writes {log, results, notes} as JSON to RTK_OUT (see harness.lua).

local h = dofile(assert(os.getenv('RTK_HARNESS'), 'RTK_HARNESS not set'))
local root = assert(os.getenv('RTK_ROOT'), 'RTK_ROOT not set')

local function sync(client, method, params, timeout)
  local response, err = client.request_sync(method, params, timeout or 30000, 0)
  if response == nil then
    return { timeout = err or 'timeout' }
  end
  return { err = response.err, result = response.result }
end

h.run(function(results, log)
  local rtk = dofile(assert(os.getenv('RTK_EDITOR_LUA')))
  rtk.config.cmd = { assert(os.getenv('RTK_PYTHON')), '-m', 'rtk_lsp.server.lsp' }
  rtk.config.cmd_env = { PYTHONPATH = os.getenv('RTK_PYTHONPATH'), RTK_LSP_CACHE_DIR = os.getenv('RTK_CACHE') }
  rtk.config.settings = { planTimeout = 60 }

  -- A real file of the workspace in the current buffer; the editor module starts the client for its root.
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/billing/invoice.py'))
  local client_id = rtk.start()
  assert(client_id, 'start_client failed')
  local client = vim.lsp.get_client_by_id(client_id)
  assert(vim.wait(20000, function()
    return client.initialized
  end, 20), 'initialize timed out')
  table.insert(log, 'initialized')

  -- The plan waits for the first index by itself (planTimeout 60 s).
  results.plan = sync(client, 'rtk/planContext', { task = 'apply_discount rounds the wrong way' }, 60000)
  results.status = sync(client, 'rtk/status', vim.empty_dict())
  results.lua_empty_table = sync(client, 'rtk/planContext', {}) -- encodes as [] : must be an error, not a hang
  results.no_params = sync(client, 'rtk/planContext', nil) -- no params key at all
  results.bad_budget = sync(client, 'rtk/planContext', { task = 'x', budget = -1 })

  -- :RtkPlan opens the plan in a scratch buffer.
  rtk.setup()
  local shown = nil
  vim.cmd('RtkPlan apply_discount rounding')
  h.wait(30000, function()
    shown = h.plan_buffer()
    return shown ~= nil
  end, ':RtkPlan showing its buffer')
  results.rtkplan = {
    lines = vim.api.nvim_buf_get_lines(shown, 0, 20, false),
    buftype = vim.bo[shown].buftype,
  }

  client.stop()
  vim.wait(5000, function()
    return client.is_stopped()
  end, 20)
  table.insert(log, 'stopped')
end)
